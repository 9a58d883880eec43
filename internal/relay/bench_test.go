package relay

import (
	"io"
	"net"
	"testing"

	"github.com/sockit/sockit/internal/sockittest"
)

// BenchmarkJoin measures the relay's stream pumps: bytes from a client
// through Join to a sink, spliced (TCP to TCP) and buffered (a wrapped
// connection, as with --impair).
func BenchmarkJoin(b *testing.B) {
	for _, bc := range []struct {
		name string
		wrap func(net.Conn) net.Conn
	}{
		{"splice", func(c net.Conn) net.Conn { return c }},
		{"buffered", func(c net.Conn) net.Conn { return &plainConn{c} }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			client, relayIn := sockittest.Pair(b)
			relayOut, sink := sockittest.Pair(b)
			go Join(bc.wrap(relayIn), bc.wrap(relayOut))
			done := make(chan struct{})
			go func() { io.Copy(io.Discard, sink); close(done) }()
			buf := make([]byte, 128<<10)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := client.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			client.CloseWrite()
			<-done
		})
	}
}

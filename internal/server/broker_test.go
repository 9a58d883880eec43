package server

import (
	"crypto/rand"
	"net"
	"testing"
	"time"
)

// TestBrokerVerbatim: what one client sends reaches every other client
// byte for byte (binary, control bytes, no prefix, no notices), and not
// the sender.
func TestBrokerVerbatim(t *testing.T) {
	t.Parallel()
	br := &Broker{}
	addr := serveTCP(t, &Server{Handler: br.Handle}, "tcp")
	a, b, c := dial(t, addr), dial(t, addr), dial(t, addr)
	waitMembers(t, &br.hub, 3)

	msg := make([]byte, 100<<10)
	rand.Read(msg)
	msg = append(msg, "\x1b[2J\x00\r\n"...)
	go a.Write(msg)
	for _, r := range []net.Conn{b, c} {
		if got := readN(t, r, len(msg)); got != string(msg) {
			t.Fatalf("a client got %d bytes that differ from the %d sent", len(got), len(msg))
		}
	}
	expectQuiet(t, a, 100*time.Millisecond)

	// Another sender, and a client that leaves: no notice to anyone.
	c.Close()
	waitMembers(t, &br.hub, 2)
	b.Write([]byte("from b"))
	if got := readN(t, a, 6); got != "from b" {
		t.Fatalf("got %q", got)
	}
}

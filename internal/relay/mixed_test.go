package relay

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/exitcode"
)

// tcpUpstream serves each connection with serve and counts them.
func tcpUpstream(t *testing.T, serve func(c net.Conn)) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				serve(c)
			}()
		}
	}()
	return ln.Addr().String(), &n
}

// readBytes reads datagrams from c until they add up to n bytes, and
// returns them in order.
func readBytes(c net.Conn, n int) ([][]byte, error) {
	var got [][]byte
	total := 0
	buf := make([]byte, 70000)
	for total < n {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		k, err := c.Read(buf)
		if err != nil {
			return got, fmt.Errorf("after %d of %d bytes: %w", total, n, err)
		}
		got = append(got, bytes.Clone(buf[:k]))
		total += k
	}
	return got, nil
}

// TestRelayUDPToTCP: each UDP client gets its own TCP connection; each
// datagram reaches the stream as bytes, and what the stream sends back
// comes to the client as datagrams no larger than a datagram can be.
func TestRelayUDPToTCP(t *testing.T) {
	up, conns := tcpUpstream(t, func(c net.Conn) { io.Copy(c, c) })
	addr := start(t, &Relay{From: mustParse(t, "udp://127.0.0.1:0", true), To: mustParse(t, "tcp://"+up, false)})
	const clients = 3
	errs := make(chan error, clients)
	// One client after another: each 64 KiB datagram then has the
	// relay's socket buffer to itself, and loopback loses none.
	for i := 0; i < clients; i++ {
		func() {
			c, err := net.Dial("udp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			// One at a time: a lost datagram would lose its echo.
			for _, size := range []int{1, 1400, 9000, MaxDatagram} {
				msg := bytes.Repeat([]byte{byte('a' + i)}, size)
				copy(msg, fmt.Sprintf("%d:", i))
				if _, err := c.Write(msg); err != nil {
					errs <- err
					return
				}
				got, err := readBytes(c, size)
				if err != nil {
					errs <- fmt.Errorf("client %d, %d bytes: %w", i, size, err)
					return
				}
				if !bytes.Equal(bytes.Join(got, nil), msg) {
					errs <- fmt.Errorf("client %d: the echo of %d bytes differs", i, size)
					return
				}
			}
		}()
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := conns.Load(); n != clients {
		t.Errorf("%d upstream connections for %d clients, want one each", n, clients)
	}
}

// TestRelayUDPToTCPBurst: a stream that answers with more than one
// datagram can hold comes back cut into datagrams of at most MaxDatagram
// bytes, in order (before, one read of 64 KiB failed with "message too
// long" and ended the mapping).
func TestRelayUDPToTCPBurst(t *testing.T) {
	reply := make([]byte, 150000)
	for i := range reply {
		reply[i] = byte(i * 7)
	}
	up, _ := tcpUpstream(t, func(c net.Conn) {
		c.Read(make([]byte, 16))
		c.Write(reply)
		io.Copy(io.Discard, c)
	})
	addr := start(t, &Relay{From: mustParse(t, "udp://127.0.0.1:0", true), To: mustParse(t, "tcp://"+up, false)})
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.UDPConn).SetReadBuffer(4 << 20)
	c.Write([]byte("go"))
	got, err := readBytes(c, len(reply))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range got {
		if len(d) > MaxDatagram {
			t.Fatalf("a datagram of %d bytes, more than %d", len(d), MaxDatagram)
		}
	}
	if !bytes.Equal(bytes.Join(got, nil), reply) {
		t.Fatal("the reply came back changed")
	}
}

// TestRelayUDPToTCPIdle: a client's mapping expires after Idle, closing
// its TCP connection with a FIN (an idle mapping is not a failure).
func TestRelayUDPToTCPIdle(t *testing.T) {
	ended := make(chan error, 1)
	up, _ := tcpUpstream(t, func(c net.Conn) {
		_, err := io.Copy(c, c)
		ended <- err
	})
	closed := make(chan *event.Event, 1)
	sink := func(e *event.Event) {
		if e.Kind == event.Close {
			ev := *e
			closed <- &ev
		}
	}
	addr := start(t, &Relay{From: mustParse(t, "udp://127.0.0.1:0", true), To: mustParse(t, "tcp://"+up, false), Sink: sink, Idle: 200 * time.Millisecond})
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("ping"))
	if got, err := readBytes(c, 4); err != nil || string(bytes.Join(got, nil)) != "ping" {
		t.Fatalf("read %q, %v", got, err)
	}
	select {
	case e := <-closed:
		if e.Reason != "idle timeout" || e.BytesIn != 4 || e.BytesOut != 4 {
			t.Fatalf("close event %+v", e)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("mapping did not expire")
	}
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("upstream connection ended with %v, want a FIN", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("upstream connection still open after the mapping expired")
	}
}

// TestRelayUDPToTCPUpstreamCloses: when the upstream closes a client's
// connection, the mapping ends; the client's next datagram opens a new
// connection.
func TestRelayUDPToTCPUpstreamCloses(t *testing.T) {
	up, conns := tcpUpstream(t, func(c net.Conn) {
		b := make([]byte, 64)
		n, _ := c.Read(b)
		c.Write(append([]byte("re:"), b[:n]...))
	})
	opened := make(chan struct{}, 4)
	sink := func(e *event.Event) {
		if e.Kind == event.Close {
			opened <- struct{}{}
		}
	}
	addr := start(t, &Relay{From: mustParse(t, "udp://127.0.0.1:0", true), To: mustParse(t, "tcp://"+up, false), Sink: sink})
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, msg := range []string{"one", "two"} {
		c.Write([]byte(msg))
		got, err := readBytes(c, 3+len(msg))
		if err != nil || string(bytes.Join(got, nil)) != "re:"+msg {
			t.Fatalf("reply %d: %q, %v", i, got, err)
		}
		select {
		case <-opened: // the mapping ended with the upstream's close
		case <-time.After(60 * time.Second):
			t.Fatal("the mapping outlived its upstream connection")
		}
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d upstream connections, want 2", n)
	}
}

func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		from, to string
		ok       bool
	}{
		{"tcp://127.0.0.1:1", "tcp://127.0.0.1:2", true},
		{"udp://127.0.0.1:1", "udp://127.0.0.1:2", true},
		{"udp://127.0.0.1:1", "tcp://127.0.0.1:2", true},
		{"udp://127.0.0.1:1", "tls://127.0.0.1:2", true},
		{"unixgram:///tmp/a", "unix:///tmp/b", true},
		{"unix:///tmp/a", "tcp://127.0.0.1:2", true},
		{"tcp://127.0.0.1:1", "udp://127.0.0.1:2", false},
		{"tls://127.0.0.1:1", "udp://127.0.0.1:2", false},
		{"unix:///tmp/a", "unixgram:///tmp/b", false},
	} {
		err := Check(mustParse(t, tt.from, true), mustParse(t, tt.to, false))
		var ue *exitcode.UsageError
		if tt.ok && err != nil || !tt.ok && !errors.As(err, &ue) {
			t.Errorf("Check(%s, %s) = %v", tt.from, tt.to, err)
		}
	}
	// Run refuses it too, before it listens.
	r := &Relay{From: mustParse(t, "tcp://127.0.0.1:0", true), To: mustParse(t, "udp://127.0.0.1:9", false),
		Ready: func(net.Addr) { t.Error("listened") }}
	if err := r.Run(t.Context()); err == nil {
		t.Error("Run relayed a stream to datagrams")
	}
}

// TestRelayUDPWrappedKeepsLargeDatagrams: a wrapped datagram upstream
// (relay --impair's) is still read a whole datagram at a time: the
// 65,527 bytes IPv6 allows come back whole, not cut to a stream's
// 65,507-byte reads.
func TestRelayUDPWrappedKeepsLargeDatagrams(t *testing.T) {
	echo, err := net.ListenPacket("udp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer echo.Close()
	go func() {
		buf := make([]byte, 70000)
		for {
			n, a, err := echo.ReadFrom(buf)
			if err != nil {
				return
			}
			echo.WriteTo(buf[:n], a)
		}
	}()
	hide := func(c net.Conn) net.Conn { return opaqueConn{c} }
	addr := start(t, &Relay{From: mustParse(t, "udp://[::1]:0", true), To: mustParse(t, "udp://"+echo.LocalAddr().String(), false), WrapUpstream: hide})
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := bytes.Repeat([]byte("6"), 65527)
	buf := make([]byte, 70000)
	var n int
	// UDP may drop on a busy machine; retry a few times, bounded.
	for try := 0; try < 5; try++ {
		c.Write(msg)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if n, err = c.Read(buf); err == nil {
			break
		}
	}
	if err != nil || n != len(msg) {
		t.Fatalf("got %d bytes back, %v; want %d", n, err, len(msg))
	}
}

// opaqueConn hides the connection it wraps: no CloseWrite, no NetConn.
// (Here, not in the Linux-only reset_test.go, which uses it too.)
type opaqueConn struct{ net.Conn }

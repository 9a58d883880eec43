package relay

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/server"
	"github.com/sockit/sockit/internal/sockittest"
)

func mustParse(t testing.TB, s string, listen bool) endpoint.Endpoint {
	t.Helper()
	ep, err := endpoint.Parse(s, endpoint.Options{Listen: listen})
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// start runs r until the test ends and returns the address it listens on.
func start(t testing.TB, r *Relay) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	r.Ready = func(a net.Addr) { ready <- a }
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Error("relay did not stop within 60s of cancel")
		}
	})
	select {
	case a := <-ready:
		return a.String()
	case err := <-done:
		t.Fatalf("relay: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("relay not ready within 60s")
	}
	return ""
}

// transfer sends size random bytes through c while reading the echo, and
// checks that the SHA-256 of what came back equals what went.
func transfer(t *testing.T, c net.Conn, size int) {
	t.Helper()
	h := sha256.New()
	errc := make(chan error, 1)
	go func() {
		buf := make([]byte, 64<<10)
		left := size
		for left > 0 {
			n := min(left, len(buf))
			rand.Read(buf[:n])
			h.Write(buf[:n])
			if _, err := c.Write(buf[:n]); err != nil {
				errc <- err
				return
			}
			left -= n
		}
		errc <- c.(interface{ CloseWrite() error }).CloseWrite()
	}()
	g := sha256.New()
	n, err := io.Copy(g, c)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("send: %v", err)
	}
	if n != int64(size) || !bytes.Equal(g.Sum(nil), h.Sum(nil)) {
		t.Fatalf("got %d bytes back, want %d; SHA-256 equal: %v", n, size, bytes.Equal(g.Sum(nil), h.Sum(nil)))
	}
}

func TestRelayTCPByteExact(t *testing.T) {
	for _, observed := range []bool{false, true} {
		t.Run(fmt.Sprintf("observed=%v", observed), func(t *testing.T) {
			echo := sockittest.EchoTCP(t)
			var sink event.Sink
			var events countSink
			if observed {
				sink = events.sink
			}
			addr := start(t, &Relay{From: mustParse(t, "127.0.0.1:0", true), To: mustParse(t, echo, false), Sink: sink, Data: observed})
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			size := 64 << 20
			if testing.Short() || observed {
				size = 8 << 20
			}
			transfer(t, c, size)
			if observed && events.data() == 0 {
				t.Fatal("observed relay emitted no data events")
			}
		})
	}
}

type countSink struct {
	mu sync.Mutex
	n  map[event.Kind]int
}

func (s *countSink) sink(e *event.Event) {
	s.mu.Lock()
	if s.n == nil {
		s.n = map[event.Kind]int{}
	}
	s.n[e.Kind]++
	s.mu.Unlock()
}

func (s *countSink) data() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[event.Data]
}

func (s *countSink) count(k event.Kind) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[k]
}

// TestRelayHalfCloseClientFirst: the client sends, shuts down its write
// side, and still reads the server's answer, which the server writes only
// after it saw EOF.
func TestRelayHalfCloseClientFirst(t *testing.T) {
	for _, observed := range []bool{false, true} {
		t.Run(fmt.Sprintf("observed=%v", observed), func(t *testing.T) {
			up, _ := sockittest.ServeOne(t, func(c *net.TCPConn) error {
				b, _ := io.ReadAll(c) // until the relayed FIN
				_, err := fmt.Fprintf(c, "got %d bytes", len(b))
				return err
			})
			var sink event.Sink
			if observed {
				sink = func(*event.Event) {}
			}
			addr := start(t, &Relay{From: mustParse(t, "127.0.0.1:0", true), To: mustParse(t, up, false), Sink: sink, Data: observed})
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write(bytes.Repeat([]byte("x"), 100000))
			c.(*net.TCPConn).CloseWrite()
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			b, err := io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != "got 100000 bytes" {
				t.Fatalf("reply %q", b)
			}
		})
	}
}

// TestRelayHalfCloseServerFirst: the server says its piece and shuts down
// its write side; the client reads EOF and still sends, and the server
// gets all of it.
func TestRelayHalfCloseServerFirst(t *testing.T) {
	for _, observed := range []bool{false, true} {
		t.Run(fmt.Sprintf("observed=%v", observed), func(t *testing.T) {
			got := make(chan string, 1)
			up, _ := sockittest.ServeOne(t, func(c *net.TCPConn) error {
				c.Write([]byte("hello, then FIN"))
				c.CloseWrite()
				b, err := io.ReadAll(c)
				got <- string(b)
				return err
			})
			var sink event.Sink
			if observed {
				sink = func(*event.Event) {}
			}
			addr := start(t, &Relay{From: mustParse(t, "127.0.0.1:0", true), To: mustParse(t, up, false), Sink: sink, Data: observed})
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			b, err := io.ReadAll(c)
			if err != nil || string(b) != "hello, then FIN" {
				t.Fatalf("read %q, %v", b, err)
			}
			// The server's side is closed; ours is still open.
			c.Write([]byte("still sending after EOF"))
			c.(*net.TCPConn).CloseWrite()
			select {
			case s := <-got:
				if s != "still sending after EOF" {
					t.Fatalf("server got %q", s)
				}
			case <-time.After(60 * time.Second):
				t.Fatal("server did not get the data sent after its FIN")
			}
		})
	}
}

func TestRelayUnix(t *testing.T) {
	dir := t.TempDir()
	// unix → tcp echo, and unix → unix through a second relay.
	echo := sockittest.EchoTCP(t)
	a := filepath.Join(dir, "a.sock")
	b := filepath.Join(dir, "b.sock")
	start(t, &Relay{From: mustParse(t, "unix://"+a, true), To: mustParse(t, echo, false)})
	start(t, &Relay{From: mustParse(t, "unix://"+b, true), To: mustParse(t, "unix://"+a, false)})
	c, err := net.Dial("unix", b)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	transfer(t, c, 4<<20)
}

func TestRelayTLS(t *testing.T) {
	// TLS termination: client speaks TLS to the relay, relay speaks plain
	// TCP to the echo server. Origination: a second relay takes plain TCP
	// and speaks TLS to the first.
	echo := sockittest.EchoTCP(t)
	srvCfg, fp, err := endpoint.TLSOptions{}.Server()
	if err != nil {
		t.Fatal(err)
	}
	term := start(t, &Relay{
		From:   mustParse(t, "tls://127.0.0.1:0", true),
		To:     mustParse(t, echo, false),
		Listen: &endpoint.ListenConfig{TLS: srvCfg},
	})
	cliCfg, err := endpoint.TLSOptions{Pin: fp}.Client()
	if err != nil {
		t.Fatal(err)
	}
	orig := start(t, &Relay{
		From:   mustParse(t, "127.0.0.1:0", true),
		To:     mustParse(t, "tls://"+term, false),
		Dialer: &endpoint.Dialer{TLS: cliCfg},
	})

	t.Run("termination", func(t *testing.T) {
		c, err := tls.Dial("tcp", term, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		transfer(t, tlsHalf{c}, 8<<20)
	})
	t.Run("origination", func(t *testing.T) {
		c, err := net.Dial("tcp", orig)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		transfer(t, c, 8<<20)
	})
}

// tlsHalf gives a TLS client CloseWrite (close_notify), which the relay
// turns into a TCP FIN towards the echo server.
type tlsHalf struct{ *tls.Conn }

func (c tlsHalf) CloseWrite() error { return c.Conn.CloseWrite() }

func TestRelayUDPMappingPerClient(t *testing.T) {
	echo := sockittest.EchoUDP(t)
	var events countSink
	addr := start(t, &Relay{From: mustParse(t, "udp://127.0.0.1:0", true), To: mustParse(t, "udp://"+echo, false), Sink: events.sink})
	const clients = 3
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := net.Dial("udp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			buf := make([]byte, 70000)
			for _, size := range []int{1, 1400, 9000, 65507} {
				msg := bytes.Repeat([]byte{byte('a' + i)}, size)
				copy(msg, fmt.Sprintf("%d:", i))
				var got []byte
				// UDP may drop; retry a few times, bounded.
				for try := 0; try < 5 && got == nil; try++ {
					c.Write(msg)
					c.SetReadDeadline(time.Now().Add(2 * time.Second))
					n, err := c.Read(buf)
					if err == nil {
						got = buf[:n]
					}
				}
				if !bytes.Equal(got, msg) {
					errs <- fmt.Errorf("client %d, %d bytes: got %d bytes back (%q…)", i, size, len(got), got[:min(len(got), 8)])
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := events.count(event.Connect); n != clients {
		t.Errorf("%d mappings opened, want one per client (%d)", n, clients)
	}
}

func TestRelayUDPIdleExpiry(t *testing.T) {
	echo := sockittest.EchoUDP(t)
	closed := make(chan *event.Event, 4)
	sink := func(e *event.Event) {
		if e.Kind == event.Close {
			ev := *e
			closed <- &ev
		}
	}
	addr := start(t, &Relay{From: mustParse(t, "udp://127.0.0.1:0", true), To: mustParse(t, "udp://"+echo, false), Sink: sink, Idle: 200 * time.Millisecond})
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("ping"))
	buf := make([]byte, 16)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	select {
	case e := <-closed:
		if e.Reason != "idle timeout" || e.BytesIn != 4 || e.BytesOut != 4 {
			t.Fatalf("close event %+v", e)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("mapping did not expire")
	}
}

func TestRelayMaxConnsAndACL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	var events countSink
	addr := start(t, &Relay{From: mustParse(t, "127.0.0.1:0", true), To: mustParse(t, ln.Addr().String(), false), MaxConns: 1, Sink: events.sink})
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	first.Write([]byte("x")) // make sure it is being relayed
	sockittest.Eventually(t, "a connect event", func() bool { return events.count(event.Connect) == 1 })
	wantShut(t, addr, "second connection beyond --max-conns 1")
	sockittest.Eventually(t, "a refused event", func() bool { return events.count(event.Refused) == 1 })
	if events.count(event.Refused) != 1 {
		t.Fatalf("refused events: %d", events.count(event.Refused))
	}

	deny, _ := server.ParseACL(server.OptDeny, "127.0.0.0/8")
	var denied countSink
	addr2 := start(t, &Relay{From: mustParse(t, "127.0.0.1:0", true), To: mustParse(t, ln.Addr().String(), false), Deny: deny, Sink: denied.sink})
	wantShut(t, addr2, "denied connection")
	sockittest.Eventually(t, "a refused event for the denied client", func() bool { return denied.count(event.Refused) == 1 })
	if denied.count(event.Refused) != 1 || denied.count(event.Connect) != 0 {
		t.Fatalf("deny: %v", denied.n)
	}

	allow, _ := server.ParseACL(server.OptAllow, "10.0.0.0/8")
	var notAllowed countSink
	addr3 := start(t, &Relay{From: mustParse(t, "127.0.0.1:0", true), To: mustParse(t, ln.Addr().String(), false), Allow: allow, Sink: notAllowed.sink})
	wantShut(t, addr3, "connection not in --allow")
	sockittest.Eventually(t, "a refused event for the client not allowed", func() bool { return notAllowed.count(event.Refused) == 1 })
	if notAllowed.count(event.Refused) != 1 {
		t.Fatalf("allow: %v", notAllowed.n)
	}
}

// wantShut dials addr and checks that the relay closes or resets the
// connection at once (a refused client is reset, and the reset can beat
// the connect).
func wantShut(t *testing.T, addr, what string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatal(err)
		}
		return
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s was not closed: %v", what, err)
	}
}

func TestRelayUpstreamDown(t *testing.T) {
	down := refusingUpstream(t)
	var events countSink
	closed := make(chan string, 1)
	sink := func(e *event.Event) {
		events.sink(e)
		if e.Kind == event.Close {
			closed <- e.Err
		}
	}
	addr := start(t, &Relay{From: mustParse(t, "127.0.0.1:0", true), To: mustParse(t, down, false), Sink: sink})
	c, err := net.Dial("tcp", addr)
	if err == nil {
		defer c.Close()
	} else if !errors.Is(err, syscall.ECONNRESET) {
		// The relay resets the client: so soon, at times, that the
		// client's connect reports it.
		t.Fatal(err)
	}
	select {
	case e := <-closed:
		if !strings.Contains(e, "refused") {
			t.Fatalf("close error %q, want connection refused", e)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no close event")
	}
}

// TestRelayWrapHooks checks that the impair hooks see the traffic.
func TestRelayWrapHooks(t *testing.T) {
	echo := sockittest.EchoTCP(t)
	var mu sync.Mutex
	var wrappedClient, wrappedUp int
	addr := start(t, &Relay{
		From: mustParse(t, "127.0.0.1:0", true), To: mustParse(t, echo, false),
		WrapClient:   func(c net.Conn) net.Conn { mu.Lock(); wrappedClient++; mu.Unlock(); return &plainConn{c} },
		WrapUpstream: func(c net.Conn) net.Conn { mu.Lock(); wrappedUp++; mu.Unlock(); return &plainConn{c} },
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	transfer(t, c, 1<<20)
	mu.Lock()
	defer mu.Unlock()
	if wrappedClient != 1 || wrappedUp != 1 {
		t.Fatalf("wrapped %d clients and %d upstreams, want 1 and 1", wrappedClient, wrappedUp)
	}
}

// plainConn hides the concrete type, as an impair wrapper would, and
// exposes the wrapped connection for half-close.
type plainConn struct{ net.Conn }

func (c *plainConn) NetConn() net.Conn { return c.Conn }

// refusingUpstream is an endpoint whose connect is refused: a Unix socket
// file nothing listens on. (A TCP port closed by the test could be given
// to the relay's own listener the moment after, and the relay would dial
// itself in a loop.)
func refusingUpstream(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stale.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	return "unix://" + path
}

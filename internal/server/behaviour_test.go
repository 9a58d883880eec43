package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/session"
	"github.com/sockit/sockit/internal/sockittest"
)

// serveTCP runs srv on 127.0.0.1:0 until the test ends.
func serveFast(t testing.TB, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// paths are the two ways a behaviour runs: nobody watching the data (the
// fast path: event loops, splice) and an observer attached.
var paths = []struct {
	name string
	opt  func() session.Options
}{
	{"fast", func() session.Options { return session.Options{Sink: func(*event.Event) {}, NoData: true} }},
	{"observed", func() session.Options { return session.Options{Sink: func(*event.Event) {}} }},
}

// TestEchoSameBytes sends random data in odd-sized writes and checks that
// both paths echo exactly it, then close after the client's FIN.
func TestEchoSameBytes(t *testing.T) {
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			addr := serveFast(t, &Server{Handler: Echo, Conn: p.opt()})
			for _, size := range []int{1, 4095, 4096, 4097, 65535, 65536, 65537, 3 << 20} {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				data := make([]byte, size)
				rand.Read(data)
				go func() {
					for off, step := 0, 1; off < len(data); step = (step*3+1)%70001 + 1 {
						end := min(off+step, len(data))
						c.Write(data[off:end])
						off = end
					}
					c.(*net.TCPConn).CloseWrite()
				}()
				c.SetReadDeadline(time.Now().Add(20 * time.Second))
				got, err := io.ReadAll(c)
				c.Close()
				if err != nil {
					t.Fatalf("size %d: %v", size, err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("size %d: echoed %d bytes, not the same", size, len(got))
				}
			}
		})
	}
}

// TestEchoSlowReader: a client that writes a lot before reading makes the
// echo wait for it (the event loop keeps the rest pending); nothing is
// lost.
func TestEchoSlowReader(t *testing.T) {
	addr := serveFast(t, &Server{Handler: Echo, Conn: paths[0].opt()})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := make([]byte, 16<<20)
	rand.Read(data)
	want := sha256.Sum256(data)
	errc := make(chan error, 1)
	var written atomic.Int64
	go func() {
		var err error
		for off := 0; off < len(data) && err == nil; off += 64 << 10 {
			var n int
			n, err = c.Write(data[off:min(off+64<<10, len(data))])
			written.Add(int64(n))
		}
		c.(*net.TCPConn).CloseWrite()
		errc <- err
	}()
	// Read nothing until the client's writes stall: the echo has filled
	// the client's receive buffer and its own send buffer, and holds the
	// rest back.
	last := int64(-1)
	sockittest.Eventually(t, "the client's writes stall", func() bool {
		n := written.Load()
		stalled := n == last && n > 0
		last = n
		return stalled || n == int64(len(data))
	})
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	h := sha256.New()
	n, err := io.Copy(h, c)
	if err != nil || n != int64(len(data)) || !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatalf("read %d of %d, err %v, same: %v", n, len(data), err, bytes.Equal(h.Sum(nil), want[:]))
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestEchoManyConns(t *testing.T) {
	addr := serveFast(t, &Server{Handler: Echo, Conn: paths[0].opt()})
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			msg := []byte(fmt.Sprintf("hello %d", i))
			buf := make([]byte, len(msg))
			for j := 0; j < 100; j++ {
				c.Write(msg)
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.ReadFull(c, buf); err != nil || !bytes.Equal(buf, msg) {
					errs <- fmt.Errorf("conn %d round %d: %q %v", i, j, buf, err)
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
}

// TestEchoStats: the fast path still reports byte counts at close.
func TestEchoStats(t *testing.T) {
	closed := make(chan *event.Event, 1)
	sink := func(e *event.Event) {
		if e.Kind == event.Close {
			ev := *e
			closed <- &ev
		}
	}
	addr := serveFast(t, &Server{Handler: Echo, Conn: session.Options{Sink: sink, NoData: true}})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("12345"))
	c.(*net.TCPConn).CloseWrite()
	io.ReadAll(c)
	c.Close()
	select {
	case e := <-closed:
		if e.BytesIn != 5 || e.BytesOut != 5 {
			t.Fatalf("close event %+v", e)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no close event")
	}
}

func TestEchoShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&Server{Handler: Echo, Conn: paths[0].opt()}).Serve(ctx, ln) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("x"))
	io.ReadFull(c, make([]byte, 1))
	cancel()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Serve did not return after cancel with a connection open on the event loop")
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open after shutdown")
	}
}

func TestDiscardAndSource(t *testing.T) {
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			closed := make(chan int64, 1)
			opt := p.opt()
			inner := opt.Sink
			opt.Sink = func(e *event.Event) {
				inner(e)
				if e.Kind == event.Close {
					closed <- e.BytesIn
				}
			}
			addr := serveFast(t, &Server{Handler: Discard, Conn: opt})
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c.Write(make([]byte, 5<<20))
			c.Close()
			select {
			case n := <-closed:
				if n != 5<<20 {
					t.Fatalf("discard counted %d bytes", n)
				}
			case <-time.After(60 * time.Second):
				t.Fatal("no close")
			}

			src := serveFast(t, &Server{Handler: Source, Conn: p.opt()})
			c, err = net.Dial("tcp", src)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1<<20)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(c, buf); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf, bytes.Repeat(sourceData(), 4)) {
				t.Fatalf("source sent %q…", buf[:40])
			}
			c.Close()
		})
	}
}

// TestUDPEchoFastSameAsSlow sends datagrams of many sizes from several
// senders to the batched echo and to the per-peer one.
func TestUDPEchoFastSameAsSlow(t *testing.T) {
	for _, fast := range []bool{true, false} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			var mu sync.Mutex
			kinds := map[event.Kind]int{}
			srv := &Server{Handler: Echo, PacketEcho: true, Conn: session.Options{Sink: func(e *event.Event) {
				mu.Lock()
				kinds[e.Kind]++
				mu.Unlock()
			}, NoData: true, IdleTimeout: time.Minute}}
			ctx, cancel := context.WithCancel(context.Background())
			ep, _ := endpoint.Parse("udp://127.0.0.1:0", endpoint.Options{Listen: true})
			var addr string
			done := make(chan struct{})
			if fast {
				if !srv.FastPacketEcho() {
					t.Skip("no batched echo on this system")
				}
				pcs, err := ListenPacketPerCore(ctx, &endpoint.ListenConfig{}, ep, 2)
				if err != nil {
					t.Fatal(err)
				}
				addr = pcs[0].LocalAddr().String()
				go func() { srv.ServePacketEcho(ctx, pcs); close(done) }()
			} else {
				pc, err := net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr = pc.LocalAddr().String()
				go func() { srv.ServePacket(ctx, pc); close(done) }()
			}
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for s := 0; s < 4; s++ {
				wg.Add(1)
				go func(s int) {
					defer wg.Done()
					c, err := net.Dial("udp", addr)
					if err != nil {
						errs <- err
						return
					}
					defer c.Close()
					buf := make([]byte, 70000)
					for _, size := range []int{0, 1, 64, 1472, 8192, 65507} {
						msg := make([]byte, size)
						rand.Read(msg)
						// Sent again each second until the echo comes (a
						// datagram may be lost), for a minute at most. An
						// answer to an earlier size, sent again because the
						// server was slow to answer, is skipped.
						var got []byte
						for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && !bytes.Equal(got, msg); {
							c.Write(msg)
							for resend := time.Now().Add(time.Second); time.Now().Before(resend); {
								c.SetReadDeadline(resend)
								n, err := c.Read(buf)
								if err != nil {
									break
								}
								if got = buf[:n]; bytes.Equal(got, msg) {
									break
								}
							}
						}
						if !bytes.Equal(got, msg) {
							errs <- fmt.Errorf("sender %d size %d: got %d bytes back", s, size, len(got))
							return
						}
					}
				}(s)
			}
			wg.Wait()
			cancel()
			<-done
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if kinds[event.Connect] != 4 || kinds[event.Close] != 4 {
				t.Fatalf("events %v: want 4 opens and 4 closes", kinds)
			}
		})
	}
}

func TestUDPEchoFastACL(t *testing.T) {
	deny, _ := ParseACL(OptDeny, "127.0.0.1")
	var mu sync.Mutex
	refused := 0
	srv := &Server{Handler: Echo, PacketEcho: true, Deny: deny, Sink: func(e *event.Event) {
		if e.Kind == event.Refused {
			mu.Lock()
			refused++
			mu.Unlock()
		}
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ep, _ := endpoint.Parse("udp://127.0.0.1:0", endpoint.Options{Listen: true})
	pcs, err := ListenPacketPerCore(ctx, &endpoint.ListenConfig{}, ep, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !srv.FastPacketEcho() {
		t.Skip("no batched echo")
	}
	go srv.ServePacketEcho(ctx, pcs)
	c, err := net.Dial("udp", pcs[0].LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 3; i++ {
		c.Write([]byte("denied"))
	}
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := c.Read(make([]byte, 10)); err == nil {
		t.Fatalf("a denied sender got %d bytes back", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if refused != 1 {
		t.Fatalf("%d refused events for one denied sender, want 1", refused)
	}
}

// BenchmarkEcho is a 64-byte request/response over the fast echo; it
// reports the server's allocations (none per message on the fast path).
func BenchmarkEcho(b *testing.B) {
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) {
			addr := serveFast(b, &Server{Handler: Echo, Conn: p.opt()})
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			msg := make([]byte, 64)
			buf := make([]byte, 64)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c.Write(msg)
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDiscard(b *testing.B) {
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) {
			addr := serveFast(b, &Server{Handler: Discard, Conn: p.opt()})
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			buf := make([]byte, 128<<10)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUDPEcho(b *testing.B) {
	srv := &Server{Handler: Echo, PacketEcho: true}
	if !srv.FastPacketEcho() {
		b.Skip("no batched echo")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ep, _ := endpoint.Parse("udp://127.0.0.1:0", endpoint.Options{Listen: true})
	pcs, err := ListenPacketPerCore(ctx, &endpoint.ListenConfig{}, ep, 1)
	if err != nil {
		b.Fatal(err)
	}
	go srv.ServePacketEcho(ctx, pcs)
	c, err := net.Dial("udp", pcs[0].LocalAddr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, 64)
	buf := make([]byte, 2048)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Write(msg)
		c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// TestUDPDropsCounted: datagrams dropped for a handler that does not keep
// up are reported with their count: at the first drop (and every 1000th),
// and in all when the server ends (the total matching Dropped).
func TestUDPDropsCounted(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		errs []string
	)
	first := make(chan struct{})
	var once sync.Once
	srv := &Server{
		// A handler that takes nothing: its queue fills, then drops.
		Handler: func(ctx context.Context, c *session.Conn) error { <-ctx.Done(); return nil },
		Sink: func(e *event.Event) {
			if e.Kind != event.Error {
				return
			}
			mu.Lock()
			errs = append(errs, e.Err)
			mu.Unlock()
			once.Do(func() { close(first) })
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.ServePacket(ctx, pc); close(done) }()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	timeout := time.After(30 * time.Second)
sending:
	for {
		c.Write([]byte("x"))
		select {
		case <-first:
			break sending
		case <-timeout:
			t.Fatal("no drop reported after 30s of sending")
		default:
		}
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(errs) < 2 || !strings.HasPrefix(errs[0], "1 datagram dropped so far: the handler is not keeping up") {
		t.Fatalf("error events %q, want the first drop counted", errs)
	}
	want := fmt.Sprintf("%d datagram", srv.Dropped())
	if srv.Dropped() != 1 {
		want += "s"
	}
	want += " dropped in all"
	if last := errs[len(errs)-1]; !strings.HasPrefix(last, want) {
		t.Fatalf("last error event %q, want %q", last, want)
	}
}

// TestUDPDropsCountedWhenPeerEnds: datagrams still queued for a
// conversation when it ends are never read, and count as dropped (the UI
// adds Dropped to the kernel's drops: uncounted, they would vanish).
func TestUDPDropsCountedWhenPeerEnds(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	read, end := make(chan struct{}), make(chan struct{})
	srv := &Server{
		// Reads one datagram, then ends when told, its queue unread.
		Handler: func(ctx context.Context, c *session.Conn) error {
			if _, err := c.Read(); err != nil {
				return err
			}
			close(read)
			<-end
			return nil
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.ServePacket(ctx, pc); close(done) }()
	defer func() { cancel(); <-done }()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("first"))
	<-read
	const queued = 10
	for i := 0; i < queued; i++ {
		c.Write([]byte("queued"))
	}
	sockittest.Eventually(t, "the datagrams queued", func() bool { return srv.queued.Load() == queued*int64(len("queued")) })
	close(end)
	if !sockittest.Until(func() bool { return srv.Active() == 0 && srv.queued.Load() == 0 && srv.Dropped() == queued }) {
		t.Fatalf("the conversation ended with %d datagrams queued: %d counted dropped, %d bytes still queued", queued, srv.Dropped(), srv.queued.Load())
	}
}

// TestConnectEventAfterListed: whoever reads a conversation's connect
// event and then asks the server for its conversations finds it there
// (listen -k's stdin goes to every client the log said had connected).
func TestConnectEventAfterListed(t *testing.T) {
	srv := &Server{Handler: Drain}
	missing := make(chan uint64, 16)
	seen := make(chan struct{}, 16)
	srv.Conn = session.Options{Sink: func(e *event.Event) {
		if e.Kind != event.Connect {
			return
		}
		found := false
		for _, c := range srv.Conns() {
			if c.ID() == e.Conn {
				found = true
			}
		}
		if !found {
			missing <- e.Conn
		}
		seen <- struct{}{}
	}}
	addr := serveFast(t, srv)
	for i := 0; i < 8; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		select {
		case <-seen:
		case <-time.After(30 * time.Second):
			t.Fatal("no connect event")
		}
	}
	select {
	case id := <-missing:
		t.Fatalf("conversation #%d was announced before the server listed it", id)
	default:
	}
}

package impair

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/nettest"
)

// tcpPair returns the two ends of a real loopback TCP connection.
func tcpPair() (a, b net.Conn, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	a, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, nil, err
	}
	b = <-ch
	if b == nil {
		a.Close()
		return nil, nil, errors.New("accept failed")
	}
	return a, b, nil
}

func pair(t *testing.T) (a, b net.Conn) {
	t.Helper()
	a, b, err := tcpPair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// TestConnNettest runs x/net's conformance suite over real TCP with the
// faults that keep data intact, both ends wrapped.
func TestConnNettest(t *testing.T) {
	for _, spec := range []string{
		"delay=200us",
		"delay=100us,jitter=100us",
		"chunk=1-64",
		"rate=200mbit",
		"delay=100us,jitter=100us,chunk=1-512,rate=400mbit",
	} {
		t.Run(spec, func(t *testing.T) {
			t.Parallel()
			s, err := Parse(spec)
			if err != nil {
				t.Fatal(err)
			}
			s.Seed = 1
			nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
				a, b, err := tcpPair()
				if err != nil {
					return nil, nil, nil, err
				}
				c1, c2 = Conn(a, s, s.Rand(1)), Conn(b, s, s.Rand(2))
				return c1, c2, func() { c1.Close(); c2.Close() }, nil
			})
		})
	}
}

// TestConnByteExact sends 4 MiB of random data through every stream fault
// that keeps data and checks it arrives whole, in order, with a FIN.
func TestConnByteExact(t *testing.T) {
	t.Parallel()
	data := make([]byte, 4<<20)
	rand.Read(data)
	want := sha256.Sum256(data)
	for _, spec := range []string{
		"delay=20ms,jitter=20ms",
		"chunk=1-64",
		"delay=5ms,jitter=5ms,chunk=1-1500",
		"rate=800mbit",
	} {
		t.Run(spec, func(t *testing.T) {
			t.Parallel()
			s, _ := Parse(spec)
			a, b := pair(t)
			w := Conn(a, s, nil)
			errc := make(chan error, 1)
			go func() {
				// Odd write sizes, so chunking meets every boundary.
				var err error
				for off, n := 0, 1; off < len(data) && err == nil; off, n = off+n, n*3%65521+1 {
					_, err = w.Write(data[off:min(off+n, len(data))])
				}
				if err == nil {
					err = w.(interface{ CloseWrite() error }).CloseWrite()
				}
				errc <- err
			}()
			h := sha256.New()
			n, err := io.Copy(h, b)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("write: %v", err)
			}
			if n != int64(len(data)) || !bytes.Equal(h.Sum(nil), want[:]) {
				t.Fatalf("got %d bytes, sha256 %x; want %d, %x", n, h.Sum(nil), len(data), want)
			}
			w.Close()
		})
	}
}

// sizeConn records the size of every write that reaches the socket.
type sizeConn struct {
	net.Conn
	mu    sync.Mutex
	sizes []int
}

func (s *sizeConn) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.sizes = append(s.sizes, len(p))
	s.mu.Unlock()
	return s.Conn.Write(p)
}

func TestChunkSizes(t *testing.T) {
	a, b := pair(t)
	go io.Copy(io.Discard, b)
	rec := &sizeConn{Conn: a}
	s, _ := Parse("chunk=3-9")
	c := Conn(rec, Spec{ChunkMin: s.ChunkMin, ChunkMax: s.ChunkMax, Seed: 7}, nil)
	if _, err := c.Write(make([]byte, 10000)); err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	total := 0
	for i, n := range rec.sizes {
		total += n
		if (n < 3 || n > 9) && i != len(rec.sizes)-1 {
			t.Fatalf("write %d has %d bytes, outside 3-9", i, n)
		}
		seen[n] = true
	}
	if total != 10000 || len(seen) < 7 {
		t.Errorf("total %d (want 10000), %d distinct sizes (want all 7 of 3-9)", total, len(seen))
	}

	// The same seed makes the same segments.
	rec2 := &sizeConn{Conn: a}
	c2 := Conn(rec2, Spec{ChunkMin: 3, ChunkMax: 9, Seed: 7}, nil)
	c2.Write(make([]byte, 10000))
	if len(rec2.sizes) != len(rec.sizes) {
		t.Fatalf("seed 7 again: %d writes, first run %d", len(rec2.sizes), len(rec.sizes))
	}
	for i := range rec.sizes {
		if rec.sizes[i] != rec2.sizes[i] {
			t.Fatalf("seed 7 again: write %d is %d bytes, first run %d", i, rec2.sizes[i], rec.sizes[i])
		}
	}
}

func TestDelayKeepsOrderAndLatency(t *testing.T) {
	// A delayed Write returns at once: with an hour's delay, one that
	// waited it out would hang here.
	a, b := pair(t)
	s, _ := Parse("delay=1h")
	c := Conn(a, s, nil)
	if _, err := c.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	// Close delivers what is queued until drainGrace after its due time:
	// make that from now, not from an hour hence.
	ic := c.(*conn)
	ic.gate.mu.Lock()
	ic.lastDue = time.Now()
	ic.gate.mu.Unlock()
	c.Close()
	// The bytes arrive no sooner than the delay less the jitter.
	a, b = pair(t)
	s, _ = Parse("delay=300ms,jitter=20ms")
	c = Conn(a, s, nil)
	defer c.Close()
	start := time.Now()
	if _, err := c.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	if _, err := io.ReadFull(b, buf); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 280*time.Millisecond {
		t.Errorf("first byte arrived after %s, want at least delay-jitter = 280ms", took)
	}
	// 500 numbered writes with jitter larger than their spacing arrive in order.
	s, _ = Parse("delay=5ms,jitter=5ms")
	c = Conn(a, s, nil)
	defer c.Close()
	go func() {
		for i := range 500 {
			c.Write([]byte{byte(i)})
		}
	}()
	got := make([]byte, 500)
	if _, err := io.ReadFull(b, got); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i] != byte(i) {
			t.Fatalf("byte %d is %d: jitter reordered the stream", i, got[i])
		}
	}
}

func TestRateLimits(t *testing.T) {
	a, b := pair(t)
	s, _ := Parse("rate=400kbit") // 50,000 bytes per second
	c := Conn(a, s, nil)
	defer c.Close()
	const n = 25000
	start := time.Now()
	go c.Write(make([]byte, n))
	if _, err := io.ReadFull(b, make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	// A lower bound only: the limiter may be slower on a busy machine,
	// never faster (less the first 20 ms piece and the 5 ms burst).
	if took, least := time.Since(start), 400*time.Millisecond; took < least {
		t.Errorf("%d bytes at 50 kB/s took %s, want at least %s", n, took, least)
	}
}

func TestResetAfterWrite(t *testing.T) {
	a, b := pair(t)
	s, _ := Parse("reset-after=1000")
	ct := &Counters{}
	s.Counters = ct
	c := Conn(a, s, nil)
	n, err := c.Write(make([]byte, 3000))
	var re *ResetError
	if n != 1000 || !errors.As(err, &re) || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Write = %d, %v; want 1000, a reset", n, err)
	}
	got, err := io.ReadAll(b)
	if len(got) != 1000 || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("peer read %d bytes, then %v; want 1000, then connection reset", len(got), err)
	}
	if _, err := c.Read(make([]byte, 10)); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("Read after the reset: %v", err)
	}
	if ct.Resets.Load() != 1 {
		t.Errorf("Resets = %d", ct.Resets.Load())
	}
	c.Close()
}

func TestResetAfterRead(t *testing.T) {
	a, b := pair(t)
	c := Conn(a, Spec{ResetAfter: 300}, nil)
	go b.Write(make([]byte, 1000))
	got, err := io.ReadAll(c)
	if len(got) != 300 || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read %d bytes, then %v; want 300, then a reset", len(got), err)
	}
	// The peer sees the reset: a read ends with ECONNRESET, not EOF.
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := b.Read(make([]byte, 10)); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("peer read after the reset: %v, want connection reset", err)
	}
}

func TestResetAfterDelayed(t *testing.T) {
	a, b := pair(t)
	c := Conn(a, Spec{Delay: 5 * time.Millisecond, ResetAfter: 100000}, nil)
	go func() {
		for range 50 {
			if _, err := c.Write(make([]byte, 4000)); err != nil {
				return
			}
		}
	}()
	got, err := io.ReadAll(b)
	if len(got) != 100000 || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("peer read %d bytes, then %v; want 100000, then a reset", len(got), err)
	}
	c.Close()
}

func TestStallAfter(t *testing.T) {
	a, b := pair(t)
	ct := &Counters{}
	c := Conn(a, Spec{StallAfter: 1000, Counters: ct}, nil)
	c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	n, err := c.Write(make([]byte, 2000))
	if n != 1000 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write = %d, %v; want 1000 and then a timeout", n, err)
	}
	got := make([]byte, 2000)
	// The 1000 bytes are on their way (Write returned): a second is for
	// the silence after them.
	b.SetReadDeadline(time.Now().Add(time.Second))
	m, err := io.ReadAtLeast(b, got, 1001)
	if m != 1000 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("peer read %d bytes, then %v; want 1000, then silence (not EOF)", m, err)
	}
	// The other direction is stalled too, but the connection is open.
	b.Write([]byte("hello"))
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := c.Read(make([]byte, 10)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read on a stalled connection = %d, %v; want a timeout", n, err)
	}
	// Close ends a blocked Read at once.
	c.SetReadDeadline(time.Time{})
	errc := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 10)); errc <- err }()
	time.AfterFunc(50*time.Millisecond, func() { c.Close() })
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Read after Close: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Close did not end a Read blocked by a stall")
	}
	if ct.Stalls.Load() != 1 {
		t.Errorf("Stalls = %d", ct.Stalls.Load())
	}
}

func TestCloseDeliversDelayed(t *testing.T) {
	a, b := pair(t)
	c := Conn(a, Spec{Delay: 50 * time.Millisecond}, nil)
	msg := bytes.Repeat([]byte("x"), 100000)
	c.Write(msg)
	c.Close() // the bytes are still in the delay queue
	got, err := io.ReadAll(b)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("peer got %d bytes, %v; want all %d, then EOF", len(got), err, len(msg))
	}
}

// TestResetUnderTLS: reset-after on a TLS connection resets the TCP
// connection beneath it, so the peer sees a reset, not a clean close.
func TestResetUnderTLS(t *testing.T) {
	a, b := pair(t)
	cert, err := tls.X509KeyPair(testCertPEM, testKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	srv := tls.Server(b, &tls.Config{Certificates: []tls.Certificate{cert}})
	cli := tls.Client(a, &tls.Config{InsecureSkipVerify: true})
	go srv.Handshake()
	if err := cli.Handshake(); err != nil {
		t.Fatal(err)
	}
	c := Conn(cli, Spec{ResetAfter: 10}, nil)
	if _, err := c.Write(make([]byte, 100)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Write = %v, want the injected reset", err)
	}
	srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.ReadAll(srv)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("peer read ended with %v, want connection reset", err)
	}
}

// TestFlushDelivers: after Flush, the delayed bytes are in the socket
// beneath: closing that socket at once (as a relay resetting it does)
// loses none of them.
func TestFlushDelivers(t *testing.T) {
	a, b := pair(t)
	c := Conn(a, Spec{Delay: 20 * time.Millisecond}, nil)
	defer c.Close()
	msg := bytes.Repeat([]byte("f"), 100000)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	if err := c.(interface{ Flush() error }).Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	a.Close() // beneath the wrapper: nothing is left to send
	b.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(b)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("peer got %d bytes, %v; want all %d, then EOF", len(got), err, len(msg))
	}
}

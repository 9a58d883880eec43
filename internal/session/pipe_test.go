package session

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/platform"
	"github.com/sockit/sockit/internal/sockittest"
)

// syncBuf is a bytes.Buffer safe for the receiving goroutine and the test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// closes records the close events of a conversation.
type closes struct {
	mu     sync.Mutex
	events []event.Event
}

func (c *closes) sink(e *event.Event) {
	if e.Kind == event.Close {
		c.mu.Lock()
		c.events = append(c.events, *e)
		c.mu.Unlock()
	}
}

func (c *closes) reason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.events) != 1 {
		return "no single close event"
	}
	if c.events[0].Err != "" {
		return "error: " + c.events[0].Err
	}
	return c.events[0].Reason
}

// option is the option the close event is about, after its reason:
// "reason [option]".
func (c *closes) option() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.events) != 1 {
		return "no single close event"
	}
	return c.events[0].Reason + " [" + c.events[0].Option + "]"
}

// readUntilEOF reads from c until EOF or the limit, reporting which.
func readUntilEOF(c net.Conn, limit time.Duration) (string, bool) {
	c.SetReadDeadline(time.Now().Add(limit))
	b, err := io.ReadAll(c)
	return string(b), err == nil
}

// runPipe runs p on c. A zero Quit means -q 0 (quit as soon as In
// ends); these tests want to wait for the peer unless they say otherwise.
func runPipe(t *testing.T, p *Pipe, c *Conn) <-chan error {
	t.Helper()
	if p.Quit == 0 {
		p.Quit = -1
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background(), c) }()
	return done
}

func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("Pipe.Run did not return")
	}
	return nil
}

func TestPipeHalfClose(t *testing.T) {
	for _, observed := range []bool{false, true} {
		name := "fast-path"
		if observed {
			name = "observed"
		}
		t.Run(name, func(t *testing.T) {
			client, server := sockittest.Pair(t)
			var cl closes
			opt := Options{Proto: "tcp"}
			if observed {
				opt.Sink = cl.sink
			}
			c := New(client, opt)
			var out syncBuf
			done := runPipe(t, &Pipe{In: strings.NewReader("request"), Out: &out}, c)
			got, eof := readUntilEOF(server, 5*time.Second)
			if got != "request" || !eof {
				t.Fatalf("server read %q (EOF %v), want the request then EOF", got, eof)
			}
			server.Write([]byte("response"))
			server.Close()
			if err := wait(t, done); err != nil {
				t.Fatal(err)
			}
			if out.String() != "response" {
				t.Errorf("out = %q", out.String())
			}
			if observed && cl.reason() != "peer closed" {
				t.Errorf("close reason %q", cl.reason())
			}
		})
	}
}

func TestPipeNoShutdownAndQuietServer(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Pipe
		in   string
	}{
		{"no-shutdown", Pipe{NoShutdown: true}, "data"},
		{"quiet-server", Pipe{QuietKeepsOpen: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := sockittest.Pair(t)
			c := New(client, Options{Proto: "tcp"})
			p := tc.p
			p.In, p.Out = strings.NewReader(tc.in), io.Discard
			done := runPipe(t, &p, c)
			got, eof := readUntilEOF(server, 300*time.Millisecond)
			if got != tc.in || eof {
				t.Fatalf("server read %q (EOF %v), want %q and no FIN", got, eof, tc.in)
			}
			server.Close()
			if err := wait(t, done); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPipePeerClosesFirst(t *testing.T) {
	client, server := sockittest.Pair(t)
	var cl closes
	c := New(client, Options{Proto: "tcp", Sink: cl.sink})
	pr, pw := io.Pipe() // input that never ends
	defer pw.Close()
	done := runPipe(t, &Pipe{In: pr, Out: io.Discard}, c)
	server.Write([]byte("bye"))
	server.Close()
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	if r := cl.option(); r != "peer closed first, before the input ended [half-duplex]" {
		t.Errorf("close reason %q is not about half-duplex", r)
	}
}

func TestPipeHalfDuplex(t *testing.T) {
	// The same sequence with and without --half-duplex: the peer shuts
	// down its write side, then input arrives. Without the flag sockit
	// leaves at the FIN and nothing is sent (which also shows the FIN got
	// there first); with it the input still reaches the peer.
	for _, halfDuplex := range []bool{false, true} {
		client, server := sockittest.Pair(t)
		fin := &finConn{Conn: client, fin: make(chan struct{})}
		c := New(fin, Options{Proto: "tcp"})
		pr, pw := io.Pipe()
		done := runPipe(t, &Pipe{In: pr, Out: io.Discard, HalfDuplex: halfDuplex}, c)
		server.CloseWrite() // the peer is done talking, not listening
		if halfDuplex {
			<-fin.fin // sockit has read the FIN; the input comes after it
		} else {
			// Without --half-duplex the FIN ends the run by itself: no
			// input was ready.
			if err := wait(t, done); err != nil {
				t.Fatal(err)
			}
		}
		go func() {
			pw.Write([]byte("still sent"))
			pw.Close()
		}()
		got, eof := readUntilEOF(server, 5*time.Second)
		want := ""
		if halfDuplex {
			want = "still sent"
		}
		if got != want || !eof {
			t.Errorf("half-duplex %v: server read %q (EOF %v), want %q", halfDuplex, got, eof, want)
		}
		if halfDuplex {
			if err := wait(t, done); err != nil {
				t.Fatal(err)
			}
		}
		pr.Close()
	}
}

// finConn is a TCP connection that says when a read meets the peer's FIN.
type finConn struct {
	net.Conn
	fin  chan struct{}
	once sync.Once
}

func (f *finConn) Read(p []byte) (int, error) {
	n, err := f.Conn.Read(p)
	if err == io.EOF {
		f.once.Do(func() { close(f.fin) })
	}
	return n, err
}

func (f *finConn) CloseWrite() error { return f.Conn.(*net.TCPConn).CloseWrite() }

func TestPipeQuit(t *testing.T) {
	client, server := sockittest.Pair(t)
	var cl closes
	c := New(client, Options{Proto: "tcp", Sink: cl.sink})
	t0 := time.Now()
	done := runPipe(t, &Pipe{In: strings.NewReader("x"), Out: io.Discard, Quit: 200 * time.Millisecond}, c)
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d < 150*time.Millisecond {
		t.Errorf("-q 0.2 quit after %s", d)
	}
	if r := cl.option(); r != "quit after the input ended [quit]" {
		t.Errorf("close reason %q", r)
	}
	server.Close()
}

func TestPipeInterrupted(t *testing.T) {
	client, _ := sockittest.Pair(t)
	var cl closes
	c := New(client, Options{Proto: "tcp", Sink: cl.sink})
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&Pipe{In: pr, Out: io.Discard, Quit: -1}).Run(ctx, c) }()
	cancel()
	if err := wait(t, done); !errors.Is(err, context.Canceled) || exitcode.Code(err) != exitcode.Interrupted {
		t.Errorf("Run = %v, want context.Canceled (exit 130)", err)
	}
	if r := cl.reason(); r != "interrupted" {
		t.Errorf("close reason %q, want interrupted", r)
	}
}

func TestPipeReset(t *testing.T) {
	for _, observed := range []bool{false, true} {
		client, server := sockittest.Pair(t)
		opt := Options{Proto: "tcp"}
		if observed {
			opt.Sink = func(*event.Event) {}
		}
		c := New(client, opt)
		pr, pw := io.Pipe()
		got := &firstWrite{ch: make(chan struct{})}
		done := runPipe(t, &Pipe{In: pr, Out: got}, c)
		// A byte first: a reset before any byte is a refusal
		// (TestPipeRefused), after one a conversation that broke.
		server.Write([]byte("x"))
		select {
		case <-got.ch:
		case <-time.After(60 * time.Second):
			t.Fatal("the byte never arrived")
		}
		server.SetLinger(0)
		server.Close() // RST
		err := wait(t, done)
		pw.Close()
		if exitcode.Code(err) != exitcode.Reset || !strings.HasPrefix(err.Error(), "recv tcp://") ||
			!strings.HasSuffix(err.Error(), ": connection reset by peer") {
			t.Errorf("observed=%v: Run = %v (exit %d), want recv tcp://…: connection reset by peer (exit 6)", observed, err, exitcode.Code(err))
		}
	}
}

// firstWrite closes ch at its first write.
type firstWrite struct {
	once sync.Once
	ch   chan struct{}
}

func (w *firstWrite) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.ch) })
	return len(p), nil
}

// A server that resets the connection before sending a byte refused it:
// one message and exit 3, whether the client was sending or not.
func TestPipeRefused(t *testing.T) {
	if !platform.Fast {
		t.Skip("only Linux tells a refusal from a reset (the TCP state, see endpoint.Refusal)")
	}
	for _, observed := range []bool{false, true} {
		client, server := sockittest.Pair(t)
		opt := Options{Proto: "tcp"}
		if observed {
			opt.Sink = func(*event.Event) {}
		}
		c := New(client, opt)
		pr, pw := io.Pipe()
		done := runPipe(t, &Pipe{In: pr, Out: io.Discard}, c)
		server.SetLinger(0)
		server.Close() // RST
		err := wait(t, done)
		pw.Close()
		var r *endpoint.RefusedError
		if !errors.As(err, &r) || exitcode.Code(err) != exitcode.Unreachable ||
			!strings.HasSuffix(err.Error(), ": the server closed the connection at once: it may be full or refusing this address") {
			t.Errorf("observed=%v: Run = %v (exit %d), want the refusal (exit 3)", observed, err, exitcode.Code(err))
		}
	}
	// The same connection accepted by a server is not "refused" by its
	// client: that would be the server's log misreading a client.
	client, server := sockittest.Pair(t)
	c := New(server, Options{Proto: "tcp", Accepted: true})
	done := runPipe(t, &Pipe{Out: io.Discard}, c)
	client.SetLinger(0)
	client.Close()
	if err := wait(t, done); exitcode.Code(err) != exitcode.Reset {
		t.Errorf("accepted side: Run = %v (exit %d), want a reset (exit 6)", err, exitcode.Code(err))
	}
}

func TestPipeUDPWait(t *testing.T) {
	srv, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		b := make([]byte, 100)
		n, addr, err := srv.ReadFrom(b)
		if err != nil {
			return
		}
		srv.WriteTo(b[:n], addr)
		time.Sleep(300 * time.Millisecond)
		srv.WriteTo([]byte("late"), addr)
	}()
	nc, err := net.Dial("udp", srv.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := New(nc, Options{Proto: "udp", Packet: true})
	var out syncBuf
	t0 := time.Now()
	done := runPipe(t, &Pipe{In: strings.NewReader("ping"), Out: &out, Wait: 400 * time.Millisecond}, c)
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	if out.String() != "pinglate" {
		t.Errorf("out = %q", out.String())
	}
	if d := time.Since(t0); d < 650*time.Millisecond {
		t.Errorf("returned after %s, want --wait after the last reply (≈700ms)", d)
	}
}

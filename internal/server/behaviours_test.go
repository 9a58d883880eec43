package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/session"
	"github.com/sockit/sockit/internal/sockittest"
)

// events collects a server's events for assertions.
type events struct {
	mu  sync.Mutex
	all []event.Event
}

func (e *events) sink(ev *event.Event) {
	e.mu.Lock()
	c := *ev
	c.Data = append([]byte(nil), ev.Data...)
	e.all = append(e.all, c)
	e.mu.Unlock()
}

// refusals counts the refusal lines and returns the last Info line (the
// summary of the refusals not logged one by one).
func (e *events) refusals() (lines int, summary string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.all {
		switch ev.Kind {
		case event.Refused:
			lines++
		case event.Info:
			summary = ev.Msg
		}
	}
	return lines, summary
}

// wait waits until an event satisfies ok.
func (e *events) wait(t *testing.T, what string, ok func(event.Event) bool) event.Event {
	t.Helper()
	var found event.Event
	sockittest.Eventually(t, "a "+what+" event", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, ev := range e.all {
			if ok(ev) {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

// serveTCP runs s on a loopback listener until the test ends and returns
// the address.
func serveTCP(t *testing.T, s *Server, network string) string {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "tcp6" {
		addr = "[::1]:0"
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// serveUDP runs s on a loopback UDP socket until the test ends.
func serveUDP(t *testing.T, s *Server) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServePacket(ctx, pc) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return pc.LocalAddr().String()
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// readN reads exactly n bytes within 10s.
func readN(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read %d bytes: %v (got %q)", n, err, b)
	}
	return string(b)
}

func readLine(t *testing.T, r *bufio.Reader, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	s, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read line: %v (got %q)", err, s)
	}
	return s
}

// expectQuiet checks nothing arrives on c for a moment.
func expectQuiet(t *testing.T, c net.Conn, d time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	b := make([]byte, 100)
	if n, err := c.Read(b); n > 0 || !isTimeout(err) {
		t.Fatalf("expected nothing, got %q, %v", b[:n], err)
	}
	c.SetReadDeadline(time.Time{})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func mustRule(t *testing.T, s string, opt ReplyOptions) Rule {
	t.Helper()
	r, err := ParseRule(s, opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustReply(t *testing.T, s string, opt ReplyOptions) *Reply {
	t.Helper()
	r, err := ParseReply(OptReply, s, opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func lineFrame() session.Options {
	return session.Options{Frame: frame.Spec{Kind: frame.Line}}
}

type syncBuf struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

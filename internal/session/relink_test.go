package session

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// listenTCP is a loopback listener whose accepted connections come on
// the channel.
func listenTCP(t *testing.T) (net.Listener, <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan net.Conn, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(ch)
				return
			}
			ch <- c
		}
	}()
	return ln, ch
}

func accept(t *testing.T, ch <-chan net.Conn) net.Conn {
	t.Helper()
	select {
	case c := <-ch:
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(60 * time.Second))
		return c
	case <-time.After(60 * time.Second):
		t.Fatal("no connection")
	}
	return nil
}

func dialTCP(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPipeReconnectKeepsTheInput: a reconnecting Pipe whose server closes
// sends nothing more on the broken connection; input that comes while it
// reconnects waits and goes, whole and once, to the next connection, and
// the end of the input then half-closes that one.
func TestPipeReconnectKeepsTheInput(t *testing.T) {
	for _, lines := range []bool{false, true} {
		ln1, ch1 := listenTCP(t)
		ln2, ch2 := listenTCP(t)
		in, feed := io.Pipe()
		var out syncBuf
		asked := make(chan error, 1)
		proceed := make(chan struct{})
		p := &Pipe{In: in, Out: &out, Lines: lines, Reconnect: func(ctx context.Context, broken *Conn, why error) (*Conn, error) {
			asked <- why
			<-proceed
			return New(dialTCP(t, ln2.Addr().String()), Options{ID: 2}), nil
		}}
		done := runPipe(t, p, New(dialTCP(t, ln1.Addr().String()), Options{ID: 1}))
		s1 := accept(t, ch1)

		feed.Write([]byte("first\n"))
		if got := readExactly(t, s1, 6); got != "first\n" {
			t.Fatalf("first server read %q", got)
		}
		s1.Write([]byte("reply 1\n"))
		s1.Close() // FIN: the server is gone
		select {
		case why := <-asked:
			if why != nil {
				t.Fatalf("Reconnect was told %v, want nil (the server closed)", why)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("Reconnect was not called")
		}
		// Taken from the input now, sent once the next connection is up.
		go feed.Write([]byte("second\n"))
		close(proceed)
		s2 := accept(t, ch2)
		if got := readExactly(t, s2, 7); got != "second\n" {
			t.Fatalf("second server read %q, want second", got)
		}
		s2.Write([]byte("reply 2\n"))
		feed.Close()
		if rest, ok := readUntilEOF(s2, 60*time.Second); !ok || rest != "" {
			t.Fatalf("after the input ended the second server read %q (EOF %v), want a bare EOF", rest, ok)
		}
		s2.Close()
		if err := wait(t, done); err != nil {
			t.Fatalf("lines %v: Run: %v", lines, err)
		}
		if out.String() != "reply 1\nreply 2\n" {
			t.Errorf("lines %v: out %q", lines, out.String())
		}
	}
}

// TestPipeReconnectGivesUp: Reconnect's error ends the run, and input
// waiting for the next connection is not sent anywhere.
func TestPipeReconnectGivesUp(t *testing.T) {
	ln1, ch1 := listenTCP(t)
	in, feed := io.Pipe()
	defer feed.Close()
	gaveUp := errors.New("gave up")
	p := &Pipe{In: in, Out: io.Discard, Reconnect: func(context.Context, *Conn, error) (*Conn, error) {
		return nil, gaveUp
	}}
	done := runPipe(t, p, New(dialTCP(t, ln1.Addr().String()), Options{ID: 1}))
	s1 := accept(t, ch1)
	s1.(*net.TCPConn).SetLinger(0)
	s1.Close() // a reset
	if err := wait(t, done); !errors.Is(err, gaveUp) {
		t.Fatalf("Run: %v, want Reconnect's error", err)
	}
}

// TestBrokenByPeer: the ends a reconnecting client mends, and those it
// does not.
func TestBrokenByPeer(t *testing.T) {
	ln, ch := listenTCP(t)
	c := New(dialTCP(t, ln.Addr().String()), Options{})
	defer c.Close(nil)
	accept(t, ch)
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, true},
		{io.EOF, true},
		{c.opError("recv", syscall.ECONNRESET), true},
		{c.opError("send", syscall.EPIPE), true},
		{&IdleError{Idle: time.Second}, false},
		{context.Canceled, false},
		{syscall.EPIPE, false}, // stdout's, not the socket's
	} {
		if got := BrokenByPeer(c, tc.err); got != tc.want {
			t.Errorf("BrokenByPeer(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func readExactly(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read %d bytes: %v (got %q)", n, err, b)
	}
	return string(b)
}

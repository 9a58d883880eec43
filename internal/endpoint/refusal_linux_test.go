package endpoint

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/exitcode"
)

// server accepts one connection and does what end says with it.
func oneShot(t *testing.T, end func(c *net.TCPConn)) (string, <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		end(c.(*net.TCPConn))
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String(), done
}

// waitClosed waits until the kernel has taken c's connection down.
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if closed, _, _, ok := tcpState(c); ok && closed {
			return
		}
	}
	t.Fatal("the connection never closed")
}

// Refusal names a reset before any byte as the server's refusal, and
// nothing else: not an orderly close, not a reset after data.
func TestRefusal(t *testing.T) {
	reset := func(c *net.TCPConn) { c.SetLinger(0); c.Close() }
	for _, tc := range []struct {
		name    string
		end     func(c *net.TCPConn)
		send    bool // the client writes first
		shut    bool // the client shuts down its side first
		refused bool
	}{
		{"reset at once", reset, false, false, true},
		{"reset at once, client wrote", reset, true, false, true},
		{"reset at once, client shut down", reset, false, true, true},
		{"orderly close", func(c *net.TCPConn) { c.Close() }, false, false, false},
		{"orderly close, client shut down", func(c *net.TCPConn) { c.Close() }, false, true, false},
		{"reset after a byte", func(c *net.TCPConn) { c.Write([]byte("x")); reset(c) }, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, done := oneShot(t, tc.end)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				// The reset can beat connect's own completion check.
				return
			}
			defer c.Close()
			var opErr error
			if tc.send {
				// Write after the reset came: the write takes its error,
				// and a read after it sees only EOF, which is judged
				// the same.
				<-done
				waitClosed(t, c)
				if _, err := c.Write([]byte("hello")); err == nil || Refusal(c, "tcp://"+addr, err, false) == nil {
					t.Fatalf("write after the reset: %v, not a refusal", err)
				}
			}
			if tc.shut {
				if err := c.(*net.TCPConn).CloseWrite(); err != nil && opErr == nil {
					opErr = err
				}
			}
			if opErr == nil {
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				buf := make([]byte, 10)
				for opErr == nil {
					_, opErr = c.Read(buf)
				}
			}
			got := Refusal(c, "tcp://"+addr, opErr, tc.shut)
			var r *exitcode.RefusedError
			if errors.As(got, &r) != tc.refused {
				t.Fatalf("Refusal after %v = %v, want refused %v", opErr, got, tc.refused)
			}
			if tc.refused && (exitcode.Code(got) != exitcode.Unreachable || !errors.Is(got, opErr)) {
				t.Fatalf("exit %d for %v", exitcode.Code(got), got)
			}
		})
	}
	// A peer that read a megabyte of what this side sent, then reset,
	// broke a conversation: it did not refuse it.
	addr, _ := oneShot(t, func(c *net.TCPConn) {
		io.ReadFull(c, make([]byte, 1<<20))
		reset(c)
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	chunk := make([]byte, 64<<10)
	var werr error
	for sent := 0; werr == nil && sent < 64<<20; sent += len(chunk) {
		_, werr = c.Write(chunk)
	}
	if werr == nil {
		t.Fatal("64 MiB went to a peer that reset after 1 MiB")
	}
	if got := Refusal(c, "tcp://"+addr, werr, false); got != nil {
		t.Errorf("a reset after the peer read 1 MiB: %v, want no refusal", got)
	}
	if Refusal(nil, "", errors.New("x"), false) != nil {
		t.Error("an unrelated error is not a refusal")
	}
}

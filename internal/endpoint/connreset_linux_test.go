//go:build linux && !sockit_portable

package endpoint

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/exitcode"
)

// sendAndReset is a server that accepts each connection, sends greeting
// and resets it (SO_LINGER 0) at once.
func sendAndReset(t *testing.T, greeting string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(greeting))
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// readToError reads c until an error and returns what it read and the
// error.
func readToError(c net.Conn) (string, error) {
	var got []byte
	buf := make([]byte, 64)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return string(got), err
		}
	}
}

// When the server's bytes and reset arrive before connect has returned
// (on a loaded machine the dialing goroutine may run only after both),
// Go's connect reports the reset and closes the socket. The held socket
// still has the bytes: rescue hands them over, then the reset. The race
// is made certain here: the reset is taken from SO_ERROR and the socket
// closed, as Go's connect does when it loses it.
func TestHeldSocketRescuesBytesBeforeReset(t *testing.T) {
	addr := sendAndReset(t, "busy, bye\n")
	var held heldSockets
	defer held.release()
	nd := &net.Dialer{Control: held.control(nil)}
	c, err := nd.Dial("tcp", addr)
	if err == nil {
		waitClosed(t, c)
		rc, _ := c.(*net.TCPConn).SyscallConn()
		var soErr int
		rc.Control(func(fd uintptr) { soErr, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR) })
		c.Close()
		if syscall.Errno(soErr) != syscall.ECONNRESET {
			t.Fatalf("SO_ERROR after the server's reset = %v, want ECONNRESET", syscall.Errno(soErr))
		}
		err = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNRESET}
	}
	rescued := held.rescue(err)
	if rescued == nil {
		t.Fatalf("no connection rescued after %v", err)
	}
	defer rescued.Close()
	held.release() // the rescued connection has a descriptor of its own
	got, rerr := readToError(rescued)
	if got != "busy, bye\n" || !errors.Is(rerr, syscall.ECONNRESET) {
		t.Fatalf("read %q then %v, want the greeting then a reset", got, rerr)
	}
	if rescued.RemoteAddr() == nil || rescued.RemoteAddr().String() != addr {
		t.Errorf("RemoteAddr = %v, want %s", rescued.RemoteAddr(), addr)
	}
	if _, werr := rescued.Write([]byte("x")); werr == nil {
		t.Error("a write on the reset connection succeeded")
	}
	// Nothing to rescue: another error, or a reset before any byte.
	if held.rescue(errors.New("other")) != nil {
		t.Error("rescued a connection for an error other than a reset")
	}
}

// A reset before any byte is still the server's refusal.
func TestHeldSocketLeavesRefusalAlone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan *net.TCPConn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(acc)
			return
		}
		acc <- c.(*net.TCPConn)
	}()
	var held heldSockets
	defer held.release()
	c, err := (&net.Dialer{Control: held.control(nil)}).Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := <-acc
	s.SetLinger(0)
	s.Close()
	waitClosed(t, c)
	if rc := held.rescue(syscall.ECONNRESET); rc != nil {
		rc.Close()
		t.Fatal("rescued a connection that received nothing")
	}
}

// Through Dialer.Dial, a server that greets and resets at once is read
// the same way every time, however the race between its reset and
// connect's return falls: the greeting, then a reset (exit 6), never a
// refusal (exit 3) with the greeting lost.
func TestDialGreetingThenReset(t *testing.T) {
	addr := sendAndReset(t, "busy, bye\n")
	ep, err := Parse(addr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rescued := 0
	for i := 0; i < 200; i++ {
		c, err := (&Dialer{}).Dial(context.Background(), ep)
		if err != nil {
			var refused *exitcode.RefusedError
			t.Fatalf("dial %d: %v (refusal: %v), want a connection with the greeting", i, err, errors.As(err, &refused))
		}
		if _, ok := c.(*resetConn); ok {
			rescued++
		}
		got, rerr := readToError(c)
		c.Close()
		if got != "busy, bye\n" || !errors.Is(rerr, syscall.ECONNRESET) {
			t.Fatalf("dial %d: read %q then %v, want the greeting then a reset", i, got, rerr)
		}
	}
	t.Logf("%d of 200 connects were overtaken by the reset", rescued)
}

package endpoint

import (
	"context"
	"net"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Linux doubles the buffer sizes asked for; other systems do not.

func TestDialBuffer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acceptOne(t, ln)
	var tl traceLog
	d := &Dialer{Buffer: 96 << 10, Trace: tl.tracer()}
	c, err := d.Dial(context.Background(), mustParse(t, ln.Addr().String(), Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, opt := range []int{unix.SO_RCVBUF, unix.SO_SNDBUF} {
		got := sockopt(t, c.(interface{ NetConn() net.Conn }).NetConn(), opt)
		// Linux doubles the value asked for (socket(7)).
		if got != 2*(96<<10) {
			t.Errorf("sockopt %d = %d, want %d", opt, got, 2*(96<<10))
		}
	}
	if !strings.Contains(tl.String(), "setsockopt(fd ") || !strings.Contains(tl.String(), "SO_SNDBUF and SO_RCVBUF, 98304)") {
		t.Errorf("trace does not show the buffer sizes:\n%s", tl.String())
	}

	// The listening side too.
	lc := &ListenConfig{Buffer: 64 << 10}
	l2, err := lc.Listen(context.Background(), mustParse(t, "127.0.0.1:0", Options{Listen: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if got := sockopt(t, l2.(*net.TCPListener), unix.SO_RCVBUF); got != 2*(64<<10) {
		t.Errorf("listener SO_RCVBUF = %d, want %d", got, 2*(64<<10))
	}
}

func sockopt(t *testing.T, c any, opt int) int {
	t.Helper()
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	rc.Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, opt) })
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}

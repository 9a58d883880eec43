package endpoint

import (
	"context"
	"net"
	"syscall"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/sockit/sockit/internal/exitcode"
)

// These run on Windows only (CI cross-vets them; it cannot run them).

// TestExclusiveBind: a listener holds its port with SO_EXCLUSIVEADDRUSE,
// so another socket cannot bind it even with SO_REUSEADDR.
func TestExclusiveBind(t *testing.T) {
	ln, err := (&ListenConfig{}).Listen(context.Background(), mustParse(t, "127.0.0.1:0", Options{Listen: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var v int
	var gerr error
	rc, _ := ln.(*net.TCPListener).SyscallConn()
	rc.Control(func(fd uintptr) {
		v, gerr = windows.GetsockoptInt(windows.Handle(fd), windows.SOL_SOCKET, soExclusiveAddrUse)
	})
	if gerr != nil || v != 1 {
		t.Fatalf("SO_EXCLUSIVEADDRUSE = %d, %v; want 1", v, gerr)
	}
	hijack := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		c.Control(func(fd uintptr) {
			windows.SetsockoptInt(windows.Handle(fd), windows.SOL_SOCKET, windows.SO_REUSEADDR, 1)
		})
		return nil
	}}
	if l2, err := hijack.Listen(context.Background(), "tcp", ln.Addr().String()); err == nil {
		l2.Close()
		t.Fatal("another socket with SO_REUSEADDR bound the listener's port")
	}
}

// TestUnixgramRefused: unixgram:// fails at once with a usage error.
func TestUnixgramRefused(t *testing.T) {
	ep := mustParse(t, "unixgram://"+t.TempDir()+`\g.sock`, Options{Listen: true})
	_, err := (&ListenConfig{}).ListenPacket(context.Background(), ep)
	if exitcode.Code(err) != exitcode.Usage || exitcode.Hint(err) == "" {
		t.Fatalf("ListenPacket(unixgram) = %v (exit %d), want a usage error with a hint", err, exitcode.Code(err))
	}
	if _, err := (&Dialer{}).Dial(context.Background(), ep); exitcode.Code(err) != exitcode.Usage {
		t.Fatalf("Dial(unixgram) = %v, want a usage error", err)
	}
}

// TestRefusedExitCode: a refused connect exits 3 on Windows too, where the
// error is WSAECONNREFUSED.
func TestRefusedExitCode(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = (&Dialer{}).Dial(context.Background(), mustParse(t, addr, Options{}))
	if !refused(err) || exitcode.Code(err) != exitcode.Unreachable {
		t.Fatalf("dial a closed port: %v (exit %d), want refused, exit 3", err, exitcode.Code(err))
	}
}

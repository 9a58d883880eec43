package exitcode

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
)

// TestNativeErrnos: a system's own error code (here a made-up one standing
// for Winsock's WSAECONNREFUSED) decides the exit code and the hint as the
// POSIX errno it maps to, through the wrapping the net package adds;
// unmapped codes and other errors are untouched.
func TestNativeErrnos(t *testing.T) {
	const wsaRefused, wsaReset = syscall.Errno(10061), syscall.Errno(10054)
	table := map[syscall.Errno]syscall.Errno{wsaRefused: syscall.ECONNREFUSED, wsaReset: syscall.ECONNRESET}
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connectex", wsaRefused)}

	if errors.Is(dialErr, syscall.ECONNREFUSED) {
		t.Fatal("the test's code already is ECONNREFUSED")
	}
	got := translate(dialErr, table)
	if !errors.Is(got, syscall.ECONNREFUSED) {
		t.Error("translated error does not match ECONNREFUSED")
	}
	var op *net.OpError
	if !errors.As(got, &op) || got.Error() != dialErr.Error() {
		t.Errorf("translation changed the error: %v", got)
	}
	if errors.Is(translate(dialErr, table), syscall.ECONNRESET) {
		t.Error("translated error matches an errno it does not stand for")
	}
	if translate(errors.New("x"), nil).Error() != "x" || translate(nil, table) != nil {
		t.Error("translate changed an error with no table, or made one from nil")
	}

	// Through Code and Hint, as on Windows.
	saved := nativeErrnos
	nativeErrnos = table
	defer func() { nativeErrnos = saved }()
	if c := Code(dialErr); c != Unreachable {
		t.Errorf("Code = %d, want %d (refused)", c, Unreachable)
	}
	if Hint(dialErr) == "" {
		t.Error("no hint for a refused connection")
	}
	if c := Code(&net.OpError{Op: "read", Err: os.NewSyscallError("wsarecv", wsaReset)}); c != Reset {
		t.Errorf("Code(WSAECONNRESET) = %d, want %d (reset)", c, Reset)
	}
}

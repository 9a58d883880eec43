package exitcode

import (
	"errors"
	"syscall"
)

// Windows reports socket failures with Winsock's own codes
// (WSAECONNREFUSED is 10061), which are not the syscall.ECONNREFUSED and
// the like that Go defines for Windows and that Code and Hint test for:
// errors.Is(WSAECONNREFUSED, ECONNREFUSED) is false there. native maps
// them (the table is in native_windows.go; empty elsewhere), so that one
// decision serves every system.

// nativeErr is err, which also matches the POSIX errno that its system's
// own error code stands for.
type nativeErr struct {
	error
	table map[syscall.Errno]syscall.Errno
}

func (e nativeErr) Unwrap() error { return e.error }

func (e nativeErr) Is(target error) bool {
	var errno syscall.Errno
	if !errors.As(e.error, &errno) {
		return false
	}
	posix, ok := e.table[errno]
	return ok && target == error(posix)
}

// translate wraps err so that errors.Is sees through table.
func translate(err error, table map[syscall.Errno]syscall.Errno) error {
	if err == nil || len(table) == 0 {
		return err
	}
	return nativeErr{error: err, table: table}
}

func native(err error) error { return translate(err, nativeErrnos) }

// posix is the POSIX errno that e stands for on this system (e itself
// where it is one).
func posix(e syscall.Errno) syscall.Errno {
	if p, ok := nativeErrnos[e]; ok {
		return p
	}
	return e
}

//go:build unix

package endpoint

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// bindOptions sets the options a listening socket needs before bind: on
// Unix, SO_REUSEADDR (on unless --reuseaddr=false), so that a server
// restarts on a port whose old connections are still in TIME_WAIT.
// Unix's SO_REUSEADDR does not let two sockets listen on one port.
func bindOptions(fd uintptr, reuseAddr bool, t Tracer) error {
	reuse := 0
	if reuseAddr {
		reuse = 1
	}
	if err := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, reuse); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	if t != nil && reuseAddr {
		t("setsockopt(fd %d, SO_REUSEADDR, 1)  (restart without waiting for TIME_WAIT)", fd)
	}
	return nil
}

// setReusePort lets several sockets bind one port (SO_REUSEPORT).
func setReusePort(fd uintptr) error {
	return os.NewSyscallError("setsockopt", unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1))
}

// setBuffers sets SO_SNDBUF and SO_RCVBUF when size > 0.
func setBuffers(fd uintptr, size int, t Tracer) error {
	if size <= 0 {
		return nil
	}
	for _, opt := range []int{unix.SO_SNDBUF, unix.SO_RCVBUF} {
		if err := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, size); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	if t != nil {
		t("setsockopt(fd %d, SO_SNDBUF and SO_RCVBUF, %d)", fd, size)
	}
	return nil
}

// refused reports a connection refused, as connect(2) says it.
func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// checkScheme reports an endpoint this system cannot open; on Unix every
// scheme works.
func checkScheme(Endpoint) error { return nil }

//go:build unix

package endpoint

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

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

//go:build unix

package session

import (
	"os"

	"golang.org/x/sys/unix"
)

// fileReady reports whether a read of f would return at once: bytes are
// there, the writer has closed, or the descriptor is in error. It asks
// poll(2) with a zero timeout, so it never blocks. Every Unix has it, so
// macOS and FreeBSD send a server's greeting after the client's FIN as
// Linux does.
func fileReady(f *os.File) bool {
	sc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	ready := false
	sc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(fds, 0)
			if err == unix.EINTR {
				continue
			}
			ready = err == nil && n > 0 && fds[0].Revents != 0
			return
		}
	})
	return ready
}

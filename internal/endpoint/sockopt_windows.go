package endpoint

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"

	"github.com/sockit/sockit/internal/exitcode"
)

// soExclusiveAddrUse is SO_EXCLUSIVEADDRUSE from winsock2.h, ((int)(~SO_REUSEADDR)),
// which golang.org/x/sys/windows does not define.
const soExclusiveAddrUse = ^windows.SO_REUSEADDR

// bindOptions sets, before bind, the options that decide whether another
// socket may bind the same address. On Windows that is
// SO_EXCLUSIVEADDRUSE, for TCP and UDP alike, and never SO_REUSEADDR:
// Windows' SO_REUSEADDR lets another socket bind the same port and take
// its connections or datagrams, while SO_EXCLUSIVEADDRUSE refuses any
// later bind to the port, whatever options that socket sets. Windows
// already lets a listener rebind a port whose old connections are in
// TIME_WAIT, so --reuseaddr changes nothing here. (Go's net package sets
// neither.) Windows has no SO_REUSEPORT, so there are no per-core groups.
func (lc *ListenConfig) bindOptions(fd int, ep Endpoint) error {
	if err := windows.SetsockoptInt(windows.Handle(fd), windows.SOL_SOCKET, soExclusiveAddrUse, 1); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	if lc.Trace != nil {
		lc.Trace("setsockopt(socket %d, SO_EXCLUSIVEADDRUSE, 1)  (no other socket may bind this port)", fd)
	}
	return nil
}

// setBuffers sets SO_SNDBUF and SO_RCVBUF when size > 0.
func setBuffers(fd uintptr, size int, t Tracer) error {
	if size <= 0 {
		return nil
	}
	for _, opt := range []int{windows.SO_SNDBUF, windows.SO_RCVBUF} {
		if err := windows.SetsockoptInt(windows.Handle(fd), windows.SOL_SOCKET, opt, size); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	if t != nil {
		t("setsockopt(socket %d, SO_SNDBUF and SO_RCVBUF, %d)", fd, size)
	}
	return nil
}

// refused reports a connection refused: Winsock's WSAECONNREFUSED (or
// ERROR_CONNECTION_REFUSED from an overlapped connect), which is not the
// syscall.ECONNREFUSED that Go defines for Windows.
func refused(err error) bool {
	return errors.Is(err, windows.WSAECONNREFUSED) || errors.Is(err, windows.ERROR_CONNECTION_REFUSED)
}

// checkScheme refuses unixgram: Windows' AF_UNIX (Windows 10 1803 and
// later) has stream sockets only.
func checkScheme(ep Endpoint) error {
	if ep.Scheme == "unixgram" {
		return exitcode.WithHint("Note that unix:// (a stream) works on Windows 10 and later; for datagrams use udp://127.0.0.1:PORT.",
			"unixgram:// is not available on Windows: its Unix sockets carry streams only")
	}
	return nil
}

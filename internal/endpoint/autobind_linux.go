//go:build linux && !sockit_portable

package endpoint

import (
	"os"

	"golang.org/x/sys/unix"
)

// abstractAutobind: Linux gives a unixgram socket bound to an empty name
// an abstract address of its own (autobind, unix(7)), which needs no file
// and vanishes with the socket.
const abstractAutobind = true

func autobind(fd uintptr) error {
	if err := unix.Bind(int(fd), &unix.SockaddrUnix{}); err != nil {
		return os.NewSyscallError("bind", err)
	}
	return nil
}

//go:build unix

package endpoint

import (
	"os"

	"golang.org/x/sys/unix"
)

// bindOptions sets, before bind, the options that decide whether another
// socket may bind the same address; this is where each operating system's
// rules go.
//
// On Unix, TCP gets SO_REUSEADDR (unless --reuseaddr=false): a restarted
// server may bind over its old connections in TIME_WAIT, and two
// listeners still never share a port. UDP gets nothing: there
// SO_REUSEADDR means sharing (two UDP sockets that both set it bind one
// port, and the later one takes every datagram), and nothing is left in
// TIME_WAIT to wait for. SO_REUSEPORT is never set here: only a per-core
// sibling sets it, in ListenPacketGroup.
func (lc *ListenConfig) bindOptions(fd int, ep Endpoint) error {
	if ep.IsPacket() || lc.NoReuseAddr {
		return nil
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	if lc.Trace != nil {
		lc.Trace("setsockopt(fd %d, SO_REUSEADDR, 1)  (restart without waiting for TIME_WAIT)", fd)
	}
	return nil
}

//go:build linux && !sockit_portable

package session

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// resetByPeer reports whether a TCP connection on which a read just
// returned EOF was in fact reset. The kernel reports a reset's error once,
// to whichever call asks first: when the send side took it, the read side
// sees only EOF. The socket's state tells them apart: a FIN leaves it in
// CLOSE_WAIT, a reset in CLOSE (this side has not shut down, so no
// orderly close can have got there).
func resetByPeer(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var state uint8
	rc.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			state = info.State
		}
	})
	return state == unix.BPF_TCP_CLOSE
}

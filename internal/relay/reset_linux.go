package relay

import (
	"net"

	"golang.org/x/sys/unix"
)

// resetByPeer reports whether the TCP socket under c, on which a read
// just returned EOF, was in fact reset. The kernel reports a reset's
// error once, to whichever call asks first: when the other pump's write
// took it, this read sees only EOF. The state tells them apart: a reset
// leaves the socket in CLOSE, which an orderly close reaches only after
// this side has shut down its write half too (the caller checks that).
func resetByPeer(c net.Conn) bool {
	tc, ok := socket(c).(*net.TCPConn)
	if !ok {
		return false
	}
	rc, err := tc.SyscallConn()
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

package relay

import (
	"net"

	"golang.org/x/sys/unix"
)

// sendQueue is how many bytes the TCP socket under c holds that its peer
// has not acknowledged (SIOCOUTQ), and whether more may still be: false
// for a closed (reset) connection and for other sockets (a Unix socket
// hands bytes to its peer's queue at once).
func sendQueue(c net.Conn) (n int, ok bool) {
	tc, isTCP := socket(c).(*net.TCPConn)
	if !isTCP {
		return 0, false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0, false
	}
	if cerr := rc.Control(func(fd uintptr) {
		info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil || info.State == unix.BPF_TCP_CLOSE {
			return
		}
		n, err = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ)
		ok = err == nil
	}); cerr != nil {
		return 0, false
	}
	return n, ok
}

package reliability

import (
	"net"

	"golang.org/x/sys/unix"
)

// bytesAcked is how many bytes sent on c the peer's kernel acknowledged.
func bytesAcked(c *net.TCPConn) uint64 {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	var n uint64
	rc.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			n = info.Bytes_acked
		}
	})
	return n
}

// windows are c's send window (what the peer last advertised it may
// take) and receive window (what c last advertised), and whether the
// kernel told them.
func windows(c *net.TCPConn) (snd, rcv uint32, ok bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, 0, false
	}
	rc.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			snd, rcv, ok = info.Snd_wnd, info.Rcv_wnd, true
		}
	})
	return snd, rcv, ok
}

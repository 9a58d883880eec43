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

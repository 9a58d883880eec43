package server

import (
	"net"
	"syscall"
)

// bigBuffer gives a UDP socket a receive buffer of size bytes, so that a
// goroutine starved of CPU on a busy machine loses no datagram on loopback
// and counts stay exact. SO_RCVBUFFORCE passes rmem_max as root.
func bigBuffer(c *net.UDPConn, size int) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, size) != nil {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
		}
	})
}

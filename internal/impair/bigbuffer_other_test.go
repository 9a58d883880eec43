//go:build !linux

package impair

import "net"

// bigBuffer gives a UDP socket a receive buffer of size bytes (as much of
// it as the system allows), so that counts on loopback stay exact.
func bigBuffer(c *net.UDPConn, size int) { c.SetReadBuffer(size) }

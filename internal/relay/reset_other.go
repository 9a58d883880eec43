//go:build !linux

package relay

import "net"

// resetByPeer is Linux-only; elsewhere an EOF is taken for a close (a
// reset that a read reports as an error is still passed on).
func resetByPeer(net.Conn) bool { return false }

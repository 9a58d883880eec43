//go:build !linux || sockit_portable

package session

import "net"

// resetByPeer is Linux-only; elsewhere an EOF is taken for a close.
func resetByPeer(net.Conn) bool { return false }

//go:build !linux || sockit_portable

package endpoint

import "net"

// tcpState is known on Linux only; elsewhere a refusal is reported as the
// reset it is.
func tcpState(nc net.Conn) (closed bool, received, acked uint64, ok bool) {
	return false, 0, 0, false
}

func unreadBound() uint64 { return 0 }

//go:build !linux

package endpoint

import "net"

// tcpState is known on Linux only; elsewhere a refusal is reported as the
// reset it is.
func tcpState(nc net.Conn) (closed bool, received uint64, ok bool) { return false, 0, false }

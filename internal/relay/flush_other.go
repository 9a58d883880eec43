//go:build !linux

package relay

import "net"

// sendQueue is Linux-only (SIOCOUTQ); elsewhere a reset discards what
// the socket had not sent yet.
func sendQueue(net.Conn) (int, bool) { return 0, false }

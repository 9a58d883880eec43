//go:build !linux

package reliability

import "net"

// bytesAcked is known on Linux only (TCP_INFO); elsewhere it is 0.
func bytesAcked(*net.TCPConn) uint64 { return 0 }

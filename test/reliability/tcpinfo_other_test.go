//go:build !linux

package reliability

import "net"

// bytesAcked is known on Linux only (TCP_INFO); elsewhere it is 0.
func bytesAcked(*net.TCPConn) uint64 { return 0 }

// windows are known on Linux only.
func windows(*net.TCPConn) (snd, rcv uint32, ok bool) { return 0, 0, false }

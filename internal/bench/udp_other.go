//go:build !linux || sockit_portable

package bench

import "net"

// udpBatched needs recvmmsg and sendmmsg (Linux).
func (r *runner) udpBatched(c net.Conn, receive func([]byte)) bool { return false }

// newUDPSender sends one datagram per write: batches need Linux.
func newUDPSender(c net.Conn, size int, noTrains bool) udpSender {
	return &plainSender{c: c, buf: pattern(size)}
}

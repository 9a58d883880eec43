//go:build !linux || sockit_portable

package bench

import "net"

// udpBatched needs recvmmsg and sendmmsg (Linux).
func (r *runner) udpBatched(c net.Conn, receive func([]byte)) bool { return false }

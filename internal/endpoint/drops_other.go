//go:build !linux

package endpoint

import "net"

// Drops is how many datagrams the kernel dropped for pc because its
// receive queue was full; only Linux says (ok is false elsewhere).
func Drops(pc net.PacketConn) (n uint64, ok bool) { return 0, false }

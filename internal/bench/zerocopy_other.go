//go:build !linux || sockit_portable

package bench

import "net"

// ZeroCopy reports whether --zerocopy can work here.
const ZeroCopy = false

// txZeroCopy needs MSG_ZEROCOPY (Linux 4.14 and later).
func (r *runner) txZeroCopy(c net.Conn) bool { return false }

func closeFD(int) {}

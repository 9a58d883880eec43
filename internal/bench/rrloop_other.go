//go:build !linux || sockit_portable

package bench

import "net"

// Event loops need epoll (Linux); elsewhere rr runs a goroutine per
// connection.
func loopable(conns []net.Conn) bool { return false }

func (r *runner) rrLoops(conns []net.Conn, workers []*worker, hist *histograms) {}

// Package platform says which of sockit's system-specific code paths a
// build uses, so that tests and 'sockit version' can tell.
//
// On Linux sockit runs its echo servers on epoll event loops, moves UDP in
// batches (recvmmsg, sendmmsg, GSO/GRO), lets the kernel splice relayed
// streams, grows stdin pipes and tells a reset from a close by the TCP
// state. Every other system (macOS, Windows, FreeBSD) runs the portable
// code instead: a goroutine per connection, one datagram per system call,
// copies through a buffer. The build tag sockit_portable forces the
// portable code on Linux too, so that the test suite can run it.
//
// It decides little itself: each path is chosen by build constraints in
// its own package (linux && !sockit_portable, or !linux || sockit_portable);
// Spliceable, which the server and the relay both ask, is here.
package platform

import (
	"net"
	"runtime"
)

// Fast reports whether this build has Linux's fast paths.
const Fast = runtime.GOOS == "linux" && !portable

// Paths names the code paths of this build, for 'sockit version'.
func Paths() string {
	if Fast {
		return "Linux fast paths (epoll loops, batched UDP, splice)"
	}
	if runtime.GOOS == "linux" {
		return "portable paths (sockit_portable build)"
	}
	return "portable paths"
}

// Spliceable reports whether this build lets the kernel splice c's bytes
// (TCP and Unix stream sockets, on Linux). Elsewhere io.Copy would copy
// through a 32 KiB buffer, smaller than sockit's own.
func Spliceable(c net.Conn) bool {
	if !Fast {
		return false
	}
	switch c := c.(type) {
	case *net.TCPConn:
		return true
	case *net.UnixConn:
		return c.LocalAddr().Network() == "unix"
	}
	return false
}

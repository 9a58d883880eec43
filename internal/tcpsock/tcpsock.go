// Package tcpsock reads and sets the TCP socket state that iperf3 users
// look at: TCP_INFO (round-trip time, congestion window, retransmits),
// the congestion control algorithm (TCP_CONGESTION), the maximum segment
// size (TCP_MAXSEG) and the kernel's pacing rate (SO_MAX_PACING_RATE).
//
// They are Linux's. Elsewhere Info reports nothing and the setters
// return ErrUnsupported, so that callers print no columns rather than
// zeros. Conn finds the TCP socket under a connection's wrappers. It
// does not open connections.
package tcpsock

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"syscall"

	"github.com/sockit/sockit/internal/bench/wire"
)

// ErrUnsupported is returned where the system lacks the option.
var ErrUnsupported = errors.New("not supported on this system")

// Info is the sender-side state of c's TCP socket; ok is false when c is
// not TCP or the system has no TCP_INFO. Retransmits is the total since
// the connection opened.
func Info(c net.Conn) (info wire.TCPInfo, ok bool) {
	rc := rawConn(c)
	if rc == nil {
		return info, false
	}
	return info, infoOf(rc, &info)
}

// Congestion returns the congestion control algorithm c uses, or "".
func Congestion(c net.Conn) string {
	rc := rawConn(c)
	if rc == nil {
		return ""
	}
	return congestionOf(rc)
}

// SetCongestion makes c's socket use the named algorithm.
func SetCongestion(c net.Conn, name string) error {
	rc := rawConn(c)
	if rc == nil {
		return errors.New("congestion control needs a TCP connection")
	}
	var err error
	if cerr := rc.Control(func(fd uintptr) { err = SetCongestionFD(fd, name) }); cerr != nil {
		return cerr
	}
	return err
}

// SetMaxPacingRate caps c's sending rate in the kernel, in bytes per
// second (TCP paces itself to it).
func SetMaxPacingRate(c net.Conn, bytesPerSec int64) error {
	rc := rawConn(c)
	if rc == nil {
		return errors.New("pacing needs a TCP connection")
	}
	var err error
	if cerr := rc.Control(func(fd uintptr) { err = setPacingFD(fd, bytesPerSec) }); cerr != nil {
		return cerr
	}
	return err
}

// CheckCongestion reports whether the kernel offers the named algorithm
// (tcp_available_congestion_control), with the list it does offer.
func CheckCongestion(name string) error {
	avail, err := Available()
	if err != nil {
		return err
	}
	if !slices.Contains(avail, name) {
		return fmt.Errorf("congestion control %q is not available here (available: %s)", name, strings.Join(avail, ", "))
	}
	return nil
}

// Conn is the TCP socket beneath c: c itself, or the connection under
// TLS, --impair, counting and other wrappers that expose theirs with
// NetConn. It is nil when there is none (UDP, Unix, a wrapper that hides
// its connection). It looks at most eight wrappers deep.
func Conn(c net.Conn) *net.TCPConn {
	for range 8 {
		switch v := c.(type) {
		case *net.TCPConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}

// rawConn is the raw socket of Conn(c), or nil.
func rawConn(c net.Conn) syscall.RawConn {
	tc := Conn(c)
	if tc == nil {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

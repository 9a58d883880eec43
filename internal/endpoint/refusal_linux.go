//go:build linux && !sockit_portable

package endpoint

import (
	"net"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/tcpsock"
)

// tcpState reports whether nc's TCP connection is closed (by a reset,
// when this side has not closed it), how many bytes the peer sent on it,
// and how many of this side's the peer's kernel acknowledged: counts from
// the kernel, which no reader can miss, whichever goroutine read.
func tcpState(nc net.Conn) (closed bool, received, acked uint64, ok bool) {
	tc := tcpsock.Conn(nc)
	if tc == nil {
		return false, 0, 0, false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return false, 0, 0, false
	}
	var info *unix.TCPInfo
	cerr := rc.Control(func(fd uintptr) {
		info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	})
	if cerr != nil || err != nil {
		return false, 0, 0, false
	}
	return info.State == unix.BPF_TCP_CLOSE, info.Bytes_received, info.Bytes_acked, true
}

// unreadBound is the most a peer that never reads can acknowledge: its
// first receive buffer (tcp_rmem's default; the window grows only as the
// application reads). Acknowledged data beyond it was read.
var unreadBound = sync.OnceValue(func() uint64 {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_rmem")
	if f := strings.Fields(string(b)); err == nil && len(f) == 3 {
		if n, err := strconv.ParseUint(f[1], 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 128 << 10
})

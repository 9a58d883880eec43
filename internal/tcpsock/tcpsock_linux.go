//go:build linux && !sockit_portable

package tcpsock

import (
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/bench/wire"
)

// Supported is true where the options of this package work.
const Supported = true

func infoOf(rc syscall.RawConn, out *wire.TCPInfo) bool {
	ok := false
	if cerr := rc.Control(func(fd uintptr) { *out, ok = InfoFD(int(fd)) }); cerr != nil {
		return false
	}
	return ok
}

// InfoFD is Info for a socket's descriptor.
func InfoFD(fd int) (wire.TCPInfo, bool) {
	ti, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return wire.TCPInfo{}, false
	}
	return wire.TCPInfo{
		RTTUS:       float64(ti.Rtt),
		RTTVarUS:    float64(ti.Rttvar),
		CwndBytes:   int64(ti.Snd_cwnd) * int64(ti.Snd_mss),
		Retransmits: int64(ti.Total_retrans),
		MSS:         int(ti.Snd_mss),
	}, true
}

func congestionOf(rc syscall.RawConn) string {
	var name string
	rc.Control(func(fd uintptr) {
		s, err := unix.GetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION)
		if err == nil {
			name = strings.TrimRight(s, "\x00")
		}
	})
	return name
}

// SetCongestionFD sets TCP_CONGESTION on a socket (before or after it
// connects).
func SetCongestionFD(fd uintptr, name string) error {
	return os.NewSyscallError("setsockopt TCP_CONGESTION "+name, unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, name))
}

// SetMSSFD sets TCP_MAXSEG on a socket before it connects, so that the
// SYN announces it and both directions use segments no larger.
func SetMSSFD(fd uintptr, mss int) error {
	return os.NewSyscallError("setsockopt TCP_MAXSEG", unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_MAXSEG, mss))
}

func setPacingFD(fd uintptr, bytesPerSec int64) error {
	return os.NewSyscallError("setsockopt SO_MAX_PACING_RATE", unix.SetsockoptUint64(int(fd), unix.SOL_SOCKET, unix.SO_MAX_PACING_RATE, uint64(bytesPerSec)))
}

// Available lists the congestion control algorithms the kernel has.
func Available() ([]string, error) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_available_congestion_control")
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}

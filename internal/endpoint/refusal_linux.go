package endpoint

import (
	"net"

	"golang.org/x/sys/unix"
)

// tcpState reports whether nc's TCP connection is closed (by a reset,
// when this side has not closed it) and how many bytes the peer sent on
// it, from the kernel: a count that no reader can miss, whichever
// goroutine read them.
func tcpState(nc net.Conn) (closed bool, received uint64, ok bool) {
	sc, found := tcpConn(nc)
	if !found {
		return false, 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, 0, false
	}
	var info *unix.TCPInfo
	cerr := rc.Control(func(fd uintptr) {
		info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	})
	if cerr != nil || err != nil {
		return false, 0, false
	}
	return info.State == unix.BPF_TCP_CLOSE, info.Bytes_received, true
}

package endpoint

import (
	"bufio"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Drops is how many datagrams the kernel dropped for pc because its
// receive queue was full: the socket's sk_drops, the counter SO_RXQ_OVFL
// reports with each datagram, so that the read path need not change. It
// asks the socket itself (SO_MEMINFO, Linux 4.12 and later), and only
// where the kernel does not know that option looks the socket up by its
// inode in /proc/net/udp{,6}. ok is false where it cannot be known (not
// a UDP socket, a closed one, neither SO_MEMINFO nor /proc).
func Drops(pc net.PacketConn) (n uint64, ok bool) {
	sc, isSC := pc.(syscall.Conn)
	if !isSC {
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var (
		drops    uint32
		udp, old bool
		ino      uint64
		serr     error
	)
	err = rc.Control(func(fd uintptr) {
		udp, drops, old, serr = meminfoDrops(int(fd))
		if serr == nil && old {
			var st unix.Stat_t
			serr = unix.Fstat(int(fd), &st)
			ino = st.Ino
		}
	})
	if err != nil || serr != nil || !udp {
		return 0, false
	}
	if !old {
		return uint64(drops), true
	}
	return dropsInProc(strconv.FormatUint(ino, 10))
}

// meminfoDrops reads the drops of the socket fd from its SK_MEMINFO
// array. udp is whether fd is a UDP socket (the only kind /proc/net/udp
// lists, so the only kind Drops answers for). old is true where the
// kernel has no SO_MEMINFO (or, on 386, no direct getsockopt call), and
// the caller must ask /proc instead.
func meminfoDrops(fd int) (udp bool, drops uint32, old bool, err error) {
	proto, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PROTOCOL)
	switch {
	case errors.Is(err, unix.ENOPROTOOPT):
		// Before 2.6.32: no SO_PROTOCOL and surely no SO_MEMINFO;
		// /proc/net/udp lists the socket only if it is UDP.
		return true, 0, true, nil
	case err != nil:
		return false, 0, false, err
	case proto != unix.IPPROTO_UDP:
		return false, 0, false, nil
	}
	var mi [unix.SK_MEMINFO_VARS]uint32
	l := uint32(unsafe.Sizeof(mi))
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd),
		unix.SOL_SOCKET, uintptr(soMeminfo),
		uintptr(unsafe.Pointer(&mi)), uintptr(unsafe.Pointer(&l)), 0)
	switch {
	case errno == unix.ENOPROTOOPT || errno == unix.ENOSYS:
		return true, 0, true, nil
	case errno != 0:
		return true, 0, false, errno
	case l <= unix.SK_MEMINFO_DROPS*4:
		// A kernel whose array stops short of the drops.
		return true, 0, true, nil
	}
	return true, mi[unix.SK_MEMINFO_DROPS], false, nil
}

// dropsInProc looks the socket with inode ino up in /proc/net/udp and
// /proc/net/udp6. That can miss it while other sockets come and go
// (the kernel writes the table a page at a time), and reads a file per
// call: only for kernels without SO_MEMINFO.
func dropsInProc(ino string) (uint64, bool) {
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		if n, err := dropsIn(f, ino); err == nil {
			return n, true
		}
	}
	return 0, false
}

// soMeminfo is SO_MEMINFO; a test names an option no kernel knows to
// take the path of a kernel without it.
var soMeminfo = unix.SO_MEMINFO

var errNoSocket = errors.New("no such socket")

// dropsIn finds the socket with inode ino in a /proc/net/udp table: the
// inode is the tenth field, the drops the last.
func dropsIn(path, ino string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 13 && fs[9] == ino {
			return strconv.ParseUint(fs[len(fs)-1], 10, 64)
		}
	}
	return 0, errNoSocket
}

package endpoint

import (
	"bufio"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Drops is how many datagrams the kernel dropped for pc because its
// receive queue was full: the socket's sk_drops, the counter SO_RXQ_OVFL
// reports with each datagram, read here from /proc/net/udp{,6} by the
// socket's inode so that the read path need not change. ok is false
// where it cannot be known (not a UDP socket, no /proc).
func Drops(pc net.PacketConn) (n uint64, ok bool) {
	sc, isSC := pc.(syscall.Conn)
	if !isSC {
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var st unix.Stat_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Fstat(int(fd), &st) }); err != nil || serr != nil {
		return 0, false
	}
	ino := strconv.FormatUint(st.Ino, 10)
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		if n, err := dropsIn(f, ino); err == nil {
			return n, true
		}
	}
	return 0, false
}

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

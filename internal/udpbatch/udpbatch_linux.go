package udpbatch

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Msg is struct mmsghdr: Go pads it to the C size on every architecture
// (after Len, to the alignment of the msghdr).
type Msg struct {
	Hdr unix.Msghdr
	Len uint32
}

// Recv reads up to len(msgs) datagrams with one recvmmsg, waiting in the
// runtime's poller until the socket is readable. It returns how many
// arrived, or the errno the call failed with (ECONNREFUSED reports an ICMP
// error for an earlier send), or err when the socket is closed.
func Recv(rc syscall.RawConn, msgs []Msg) (n int, errno syscall.Errno, err error) {
	err = rc.Read(func(fd uintptr) bool {
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), unix.MSG_DONTWAIT, 0, 0)
		n, errno = int(r), e
		return e != unix.EAGAIN
	})
	return n, errno, err
}

// Send writes up to len(msgs) datagrams with one sendmmsg, waiting in the
// poller while the socket buffer is full. It returns how many were sent,
// or the errno that stopped the first unsent one.
func Send(rc syscall.RawConn, msgs []Msg) (n int, errno syscall.Errno, err error) {
	err = rc.Write(func(fd uintptr) bool {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), unix.MSG_DONTWAIT, 0, 0)
		n, errno = int(r), e
		return e != unix.EAGAIN
	})
	return n, errno, err
}

// SetGRO asks the kernel to hand over datagrams that arrive as one
// offloaded train (a sender using UDP_SEGMENT) as one buffer, with the
// segment size in the control data (GROSize). It reports whether the
// kernel agreed.
func SetGRO(rc syscall.RawConn) bool {
	ok := false
	rc.Control(func(fd uintptr) {
		ok = unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_GRO, 1) == nil
	})
	return ok
}

// GROSize is the segment size in a read's UDP_GRO control message (n bytes
// of ctl), or 0 for one plain datagram.
func GROSize(ctl []byte, n int) int {
	if n < unix.CmsgLen(4) {
		return 0
	}
	h := (*unix.Cmsghdr)(unsafe.Pointer(&ctl[0]))
	if h.Level != unix.SOL_UDP || h.Type != unix.UDP_GRO {
		return 0
	}
	return int(*(*int32)(unsafe.Pointer(&ctl[unix.CmsgLen(0)])))
}

// PutSegment writes a UDP_SEGMENT control message for segments of seg
// bytes into ctl (at least 64 bytes) and returns its length: the kernel
// splits the buffer sent with it into datagrams of that size.
func PutSegment(ctl []byte, seg int) int {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&ctl[0]))
	h.Level = unix.SOL_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	*(*uint16)(unsafe.Pointer(&ctl[unix.CmsgLen(0)])) = uint16(seg)
	return unix.CmsgSpace(2)
}

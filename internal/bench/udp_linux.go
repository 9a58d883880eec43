package bench

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr (Go pads it as C does).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// mmsgs are a connected UDP socket's batch buffers: slot i's header
// points at bufs[i].
type mmsgs struct {
	hdrs []mmsghdr
	iovs []unix.Iovec
	bufs [][]byte
}

func newMmsgs(n, size int) *mmsgs {
	m := &mmsgs{hdrs: make([]mmsghdr, n), iovs: make([]unix.Iovec, n), bufs: make([][]byte, n)}
	for i := range m.hdrs {
		m.bufs[i] = make([]byte, size)
		m.iovs[i].Base = &m.bufs[i][0]
		m.iovs[i].SetLen(size)
		m.hdrs[i].hdr.Iov = &m.iovs[i]
		m.hdrs[i].hdr.SetIovlen(1)
	}
	return m
}

// udpBatched is the window mode of udp with recvmmsg and sendmmsg, so
// that the load generator spends a few system calls per window rather
// than two per datagram and the server is what gets measured. It returns
// false when c is not a UDP socket it can batch on.
func (r *runner) udpBatched(c net.Conn, receive func([]byte)) bool {
	uc, ok := c.(*net.UDPConn)
	if !ok {
		return false
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return false
	}
	depth, size := r.cfg.Depth, r.cfg.Size
	out := newMmsgs(depth, size)
	in := newMmsgs(depth, max(size, 2048))
	defer runtime.KeepAlive(out)
	defer runtime.KeepAlive(in)
	for _, b := range out.bufs {
		copy(b, pattern(size))
	}
	w := r.w
	var seq int64
	send := func(k int) error {
		now := uint64(r.since())
		for i := 0; i < k; i++ {
			binary.LittleEndian.PutUint64(out.bufs[i][0:], uint64(seq+int64(i)))
			binary.LittleEndian.PutUint64(out.bufs[i][8:], now)
		}
		w.setSent(seq + int64(k))
		seq += int64(k)
		hdrs := out.hdrs[:k]
		for len(hdrs) > 0 {
			var n int
			var errno syscall.Errno
			err := rc.Write(func(fd uintptr) bool {
				rv, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&hdrs[0])), uintptr(len(hdrs)), unix.MSG_DONTWAIT, 0, 0)
				n, errno = int(rv), e
				return e != unix.EAGAIN
			})
			if err != nil {
				return err
			}
			switch errno {
			case 0:
				hdrs = hdrs[n:]
			case unix.EINTR:
			case unix.ECONNREFUSED:
				// An ICMP port unreachable for an earlier datagram: this
				// one was not sent. Count it lost and go on.
				w.errs++
				if w.err == nil {
					w.err = errno
				}
				hdrs = hdrs[1:]
			default:
				return errno
			}
		}
		return nil
	}
	recv := func() (int, error) {
		var n int
		var errno syscall.Errno
		err := rc.Read(func(fd uintptr) bool {
			rv, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&in.hdrs[0])), uintptr(len(in.hdrs)), unix.MSG_DONTWAIT, 0, 0)
			n, errno = int(rv), e
			return e != unix.EAGAIN
		})
		if err != nil {
			return 0, err
		}
		if errno != 0 {
			return 0, errno
		}
		return n, nil
	}

	const refill = 200 * time.Millisecond
	if err := send(depth); err != nil {
		r.fail(err)
		return true
	}
	inflight := depth
	for {
		sending := time.Now().Before(r.end)
		dl := time.Now().Add(refill)
		if !sending {
			dl = r.end.Add(250 * time.Millisecond)
		}
		uc.SetReadDeadline(dl)
		n, err := recv()
		if err != nil {
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				if !sending || !time.Now().Before(r.end) {
					return true
				}
				// Replies stopped: count the window lost and refill it.
				inflight = 0
			case errors.Is(err, syscall.EINTR):
				continue
			case errors.Is(err, syscall.ECONNREFUSED):
				w.errs++
				if w.err == nil {
					w.err = err
				}
				if !sending {
					return true
				}
				inflight = 0
			default:
				r.fail(err)
				return true
			}
		}
		for i := 0; i < n; i++ {
			receive(in.bufs[i][:in.hdrs[i].len])
		}
		inflight = max(inflight-n, 0)
		if !time.Now().Before(r.end) {
			if w.recv >= seq {
				return true
			}
			continue
		}
		if k := depth - inflight; k > 0 {
			if err := send(k); err != nil {
				r.fail(err)
				return true
			}
			inflight = depth
		}
	}
}

//go:build linux && !sockit_portable

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

	"github.com/sockit/sockit/internal/udpbatch"
)

// mmsgs are a connected UDP socket's batch buffers: slot i's header
// points at bufs[i] (and ctls[i], for UDP_GRO).
type mmsgs struct {
	hdrs []udpbatch.Msg
	iovs []unix.Iovec
	bufs [][]byte
	ctls [][64]byte
}

// gso sends a window as one train of equal datagrams (UDP_SEGMENT): one
// system call and one trip through the stack for the lot, split into
// datagrams by the kernel. A server that enables UDP_GRO may take the
// train whole; any other receives the datagrams one by one, as usual.
type gso struct {
	buf []byte
	hdr unix.Msghdr
	iov unix.Iovec
	ctl [64]byte
	max int // datagrams per train
	off bool
}

func newMmsgs(n, size int) *mmsgs {
	m := &mmsgs{hdrs: make([]udpbatch.Msg, n), iovs: make([]unix.Iovec, n), bufs: make([][]byte, n), ctls: make([][64]byte, n)}
	for i := range m.hdrs {
		m.bufs[i] = make([]byte, size)
		m.iovs[i].Base = &m.bufs[i][0]
		m.iovs[i].SetLen(size)
		m.hdrs[i].Hdr.Iov = &m.iovs[i]
		m.hdrs[i].Hdr.SetIovlen(1)
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
	in := newMmsgs(depth, 65536) // a coalesced train (UDP_GRO) can be 64 KiB
	defer runtime.KeepAlive(out)
	defer runtime.KeepAlive(in)
	for _, b := range out.bufs {
		copy(b, pattern(size))
	}
	gro := udpbatch.SetGRO(rc)
	g := &gso{max: min(64, 65000/size)}
	if g.max < 2 || depth < 2 || r.cfg.NoTrains {
		g.off = true
	} else {
		g.buf = pattern(size * depth)
		g.hdr.Iov = &g.iov
		g.hdr.SetIovlen(1)
		g.hdr.Control = &g.ctl[0]
	}
	defer runtime.KeepAlive(g)
	w := r.w
	var seq int64
	// train sends datagrams seq0… of g.buf as trains; it reports false
	// when the kernel refuses UDP_SEGMENT, and the caller falls back.
	train := func(k int) (bool, error) {
		now := uint64(r.since())
		for i := 0; i < k; i++ {
			b := g.buf[i*size:]
			binary.LittleEndian.PutUint64(b[0:], uint64(seq+int64(i)))
			binary.LittleEndian.PutUint64(b[8:], now)
		}
		for off := 0; off < k; {
			cnt := min(g.max, k-off)
			g.iov.Base = &g.buf[off*size]
			g.iov.SetLen(cnt * size)
			g.hdr.SetControllen(udpbatch.PutSegment(g.ctl[:], size))
			var errno syscall.Errno
			err := rc.Write(func(fd uintptr) bool {
				_, _, errno = unix.Syscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&g.hdr)), unix.MSG_DONTWAIT)
				return errno != unix.EAGAIN
			})
			if err != nil {
				return true, err
			}
			switch errno {
			case 0:
				off += cnt
			case unix.EINTR:
			case unix.ECONNREFUSED:
				w.errs++
				if w.err == nil {
					w.err = errno
				}
				off += cnt
			default:
				if off == 0 {
					return false, nil
				}
				return true, errno
			}
		}
		w.setSent(seq + int64(k))
		seq += int64(k)
		return true, nil
	}
	send := func(k int) error {
		if !g.off && k > 1 {
			ok, err := train(k)
			if ok {
				return err
			}
			g.off = true // no UDP_SEGMENT here: one datagram each from now on
		}
		now := uint64(r.since())
		for i := 0; i < k; i++ {
			binary.LittleEndian.PutUint64(out.bufs[i][0:], uint64(seq+int64(i)))
			binary.LittleEndian.PutUint64(out.bufs[i][8:], now)
		}
		w.setSent(seq + int64(k))
		seq += int64(k)
		hdrs := out.hdrs[:k]
		for len(hdrs) > 0 {
			n, errno, err := udpbatch.Send(rc, hdrs)
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
		if gro {
			for i := range in.hdrs {
				in.hdrs[i].Hdr.Control = &in.ctls[i][0]
				in.hdrs[i].Hdr.SetControllen(len(in.ctls[i]))
			}
		}
		n, errno, err := udpbatch.Recv(rc, in.hdrs)
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
		got := 0
		for i := 0; i < n; i++ {
			b := in.bufs[i][:in.hdrs[i].Len]
			seg := 0
			if gro {
				seg = udpbatch.GROSize(in.ctls[i][:], int(in.hdrs[i].Hdr.Controllen))
			}
			if seg <= 0 {
				receive(b)
				got++
				continue
			}
			// A coalesced train: split it into its datagrams.
			for len(b) > 0 {
				l := min(seg, len(b))
				receive(b[:l])
				b = b[l:]
				got++
			}
		}
		inflight = max(inflight-got, 0)
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

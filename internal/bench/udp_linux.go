//go:build linux && !sockit_portable

package bench

import (
	"errors"
	"net"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/bench/wire"
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

// batchSender sends runs of datagrams with few system calls: each run as
// one train of equal datagrams (UDP_SEGMENT: one trip through the stack
// for the lot, split into datagrams by the kernel; a server that enables
// UDP_GRO may take the train whole, any other receives the datagrams one
// by one), or, where the kernel refuses trains, with sendmmsg.
type batchSender struct {
	rc   syscall.RawConn
	size int
	out  *mmsgs // sendmmsg slots
	// the train
	buf    []byte
	hdr    unix.Msghdr
	iov    unix.Iovec
	ctl    [64]byte
	max    int // datagrams per train
	trains bool
}

// batchMax is the most datagrams one send call takes.
const batchMax = 64

func newBatchSender(rc syscall.RawConn, size int, noTrains bool) *batchSender {
	s := &batchSender{rc: rc, size: size, out: newMmsgs(batchMax, size), max: min(batchMax, 65000/size)}
	for _, b := range s.out.bufs {
		copy(b, pattern(size))
	}
	s.trains = s.max >= 2 && !noTrains
	if s.trains {
		s.buf = pattern(size * s.max)
		s.hdr.Iov = &s.iov
		s.hdr.SetIovlen(1)
		s.hdr.Control = &s.ctl[0]
	}
	return s
}

// newUDPSender is the batch sender for a UDP socket, else one write per
// datagram.
func newUDPSender(c net.Conn, size int, noTrains bool) udpSender {
	if uc, ok := c.(*net.UDPConn); ok {
		if rc, err := uc.SyscallConn(); err == nil {
			return newBatchSender(rc, size, noTrains)
		}
	}
	return &plainSender{c: c, buf: pattern(size)}
}

func (s *batchSender) send(token uint32, seq uint64, k int, now int64) (int, error) {
	defer runtime.KeepAlive(s)
	done := 0
	for done < k {
		n := min(k-done, batchMax)
		var got int
		var err error
		if s.trains && n > 1 {
			var ok bool
			got, ok, err = s.train(token, seq+uint64(done), min(n, s.max), now)
			if !ok {
				s.trains = false // no UDP_SEGMENT here: sendmmsg from now on
				continue
			}
		} else {
			got, err = s.mmsg(token, seq+uint64(done), n, now)
		}
		done += got
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// train sends n datagrams as one UDP_SEGMENT train; ok is false when the
// kernel refuses trains (nothing was sent).
func (s *batchSender) train(token uint32, seq uint64, n int, now int64) (sent int, ok bool, err error) {
	for i := 0; i < n; i++ {
		wire.PutHeader(s.buf[i*s.size:], token, seq+uint64(i), now)
	}
	s.iov.Base = &s.buf[0]
	s.iov.SetLen(n * s.size)
	s.hdr.SetControllen(udpbatch.PutSegment(s.ctl[:], s.size))
	for {
		var errno syscall.Errno
		werr := s.rc.Write(func(fd uintptr) bool {
			_, _, errno = unix.Syscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&s.hdr)), unix.MSG_DONTWAIT)
			return errno != unix.EAGAIN
		})
		if werr != nil {
			return 0, true, werr
		}
		switch errno {
		case 0:
			return n, true, nil
		case unix.EINTR:
			continue
		case unix.ECONNREFUSED:
			// An ICMP port unreachable for an earlier datagram: these were
			// not sent. Count them lost and go on.
			return n, true, errno
		}
		return 0, false, nil
	}
}

// mmsg sends n datagrams with sendmmsg.
func (s *batchSender) mmsg(token uint32, seq uint64, n int, now int64) (int, error) {
	for i := 0; i < n; i++ {
		wire.PutHeader(s.out.bufs[i], token, seq+uint64(i), now)
	}
	hdrs := s.out.hdrs[:n]
	done := 0
	for done < n {
		m, errno, err := udpbatch.Send(s.rc, hdrs[done:])
		if err != nil {
			return done, err
		}
		switch errno {
		case 0:
			done += m
		case unix.EINTR:
		case unix.ECONNREFUSED:
			return done + 1, errno
		default:
			return done, errno
		}
	}
	return n, nil
}

// udpBatched is the window mode of udp echo with recvmmsg and trains (or
// sendmmsg), so that the load generator spends a few system calls per
// window rather than two per datagram and the server is what gets
// measured. It returns false when c is not a UDP socket it can batch on.
func (r *runner) udpBatched(c net.Conn, receive func([]byte)) bool {
	uc, ok := c.(*net.UDPConn)
	if !ok {
		return false
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return false
	}
	depth := r.cfg.Depth
	snd := newBatchSender(rc, r.cfg.Size, r.cfg.NoTrains || depth < 2)
	in := newMmsgs(depth, 65536) // a coalesced train (UDP_GRO) can be 64 KiB
	defer runtime.KeepAlive(in)
	gro := udpbatch.SetGRO(rc)
	w := r.w
	var seq int64
	send := func(k int) error {
		k = int(r.take(int64(k)))
		if k == 0 {
			return nil
		}
		now := r.since()
		// Counted before they leave, so that the receiver never sees a
		// reply to a datagram it does not know was sent.
		w.setSent(seq + int64(k))
		n, err := snd.send(0, uint64(seq), k, now)
		if r.counting(now) {
			w.sent += int64(n)
		}
		seq += int64(n)
		w.setSent(seq)
		if errors.Is(err, syscall.ECONNREFUSED) {
			w.errs++
			if w.err == nil {
				w.err = err
			}
			return nil
		}
		return err
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
	inflight := int(seq)
	var ended time.Time
	for {
		sending := !r.sendingOver()
		dl := time.Now().Add(refill)
		if !sending {
			// Wait for the replies still in flight.
			if ended.IsZero() {
				ended = time.Now()
			}
			dl = straggleDeadline(ended)
		}
		uc.SetReadDeadline(dl)
		n, err := recv()
		if err != nil {
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				if !sending || r.sendingOver() {
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
		if r.sendingOver() {
			if w.recv >= seq {
				return true
			}
			continue
		}
		if k := depth - inflight; k > 0 {
			before := seq
			if err := send(k); err != nil {
				r.fail(err)
				return true
			}
			inflight += int(seq - before)
		}
	}
}

package bench

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sockit/sockit/internal/bench/wire"
	"github.com/sockit/sockit/internal/pace"
)

// udpReadBuffer is the receive buffer bench asks for on its UDP sockets.
const udpReadBuffer = 4 << 20

// After the sending ends, udp echo waits for the replies still in flight
// while they keep coming: up to straggle after the last one, straggleMax
// after the end at most. A reply late but there is not a loss.
const (
	straggle    = 250 * time.Millisecond
	straggleMax = 3 * time.Second
)

// udp runs one socket of --mode udp: round trips against an echo server,
// or one way to a bench server, which counts what arrives.
func (r *runner) udp(c net.Conn, conns int) {
	if uc, ok := c.(*net.UDPConn); ok {
		// Room for the replies while this process is not scheduled: a
		// datagram the load generator's own socket drops is not the
		// path's loss. (Capped by net.core.rmem_max.)
		uc.SetReadBuffer(udpReadBuffer)
	}
	if r.w.bench {
		r.udpOneWay(c, r.w.token, conns) // the hello was answered OK (helloAll)
		return
	}
	r.udpEcho(c, conns)
}

// udpEcho sends datagrams carrying a sequence number and a timestamp and
// reads the echoes: loss, reordering, duplicates, jitter and round-trip
// latency. Without a rate it keeps Depth datagrams in flight (refilling
// the window if replies stop coming, as they do when datagrams are lost);
// with one, a second goroutine paces the sending.
func (r *runner) udpEcho(c net.Conn, conns int) {
	size := r.cfg.Size
	out := pattern(size)
	in := make([]byte, 65536)
	w := r.w
	w.arr = wire.NewArrivals(wire.Window)
	defer r.stopped()

	send := func(seq int64) error {
		now := r.since()
		wire.PutHeader(out, 0, uint64(seq), now)
		_, err := c.Write(out)
		if r.counting(now) {
			w.sent++
		}
		return err
	}
	receive := r.echoReceiver()

	if r.cfg.Rate > 0 || r.cfg.Bitrate > 0 {
		var perr error
		var ended atomic.Int64 // when the sending ended, UnixNano
		done := make(chan struct{})
		go func() {
			defer close(done)
			perr = r.paceEcho(c, send, conns)
			now := time.Now()
			ended.Store(now.UnixNano())
			c.SetReadDeadline(now.Add(straggle))
		}()
		c.SetReadDeadline(r.end.Add(straggle))
		for {
			n, err := c.Read(in)
			if err != nil {
				if errors.Is(err, syscall.ECONNREFUSED) {
					// An ICMP port unreachable: nothing listens there.
					w.errs++
					if w.err == nil {
						w.err = err
					}
					if ended.Load() == 0 {
						continue
					}
					break
				}
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					r.fail(err)
				}
				break
			}
			receive(in[:n])
			if e := ended.Load(); e != 0 {
				if w.recv >= w.sentSoFar() {
					break
				}
				// Late replies are replies: wait while they come.
				c.SetReadDeadline(straggleDeadline(time.Unix(0, e)))
			}
		}
		<-done
		if perr != nil {
			r.fail(perr)
		}
		return
	}

	// Window mode.
	if r.udpBatched(c, receive) {
		return
	}
	const refill = 200 * time.Millisecond
	inflight := 0
	var seq int64
	fill := func() error {
		for inflight < r.cfg.Depth && !r.sendingOver() {
			if r.take(1) == 0 {
				return nil
			}
			if err := send(seq); err != nil {
				return err
			}
			seq++
			w.setSent(seq)
			inflight++
		}
		return nil
	}
	if err := fill(); err != nil {
		r.fail(err)
		return
	}
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
		c.SetReadDeadline(dl)
		n, err := c.Read(in)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if !sending || r.sendingOver() {
					return
				}
				// Replies stopped: count the window as lost and refill it.
				inflight = 0
				if err := fill(); err != nil {
					r.fail(err)
					return
				}
				continue
			}
			if errors.Is(err, syscall.ECONNREFUSED) {
				w.errs++
				if w.err == nil {
					w.err = err
				}
				if !sending {
					return
				}
				continue
			}
			r.fail(err)
			return
		}
		receive(in[:n])
		if inflight > 0 {
			inflight--
		}
		if r.sendingOver() {
			if w.recv >= seq {
				return
			}
			continue
		}
		if err := fill(); err != nil {
			r.fail(err)
			return
		}
	}
}

// straggleDeadline is when to stop waiting for more replies, the sending
// having ended at ended.
func straggleDeadline(ended time.Time) time.Time {
	dl := time.Now().Add(straggle)
	if last := ended.Add(straggleMax); dl.After(last) {
		return last
	}
	return dl
}

// sendingOver reports whether the run's sending has ended (time or -n).
func (r *runner) sendingOver() bool {
	return !time.Now().Before(r.end) || r.bud.on && r.bud.left.Load() <= 0
}

// echoReceiver returns the function that counts one echoed datagram.
func (r *runner) echoReceiver() func([]byte) {
	w := r.w
	return func(b []byte) {
		if wire.IsControl(b) {
			return // a late or repeated echo of our hello
		}
		token, seq, ts, ok := wire.ParseHeader(b)
		if !ok || token != 0 || seq >= uint64(w.sentSoFar()) {
			w.errs++ // not ours
			return
		}
		w.recv++ // every reply, to know when all are in
		if !r.counting(ts) {
			return
		}
		now := r.since()
		if w.arr.Add(seq, ts, now) {
			return
		}
		r.h.record(now - ts)
		w.bytes.Add(int64(len(b)))
		w.ops.Add(1)
	}
}

// paceEcho sends at this socket's share of Rate (or -b) until the end,
// paced from now, when its sending begins, and woken about once a
// millisecond at most to send what is due.
func (r *runner) paceEcho(c net.Conn, send func(int64) error, conns int) error {
	rate := float64(r.cfg.Rate) / float64(conns)
	if r.cfg.Bitrate > 0 {
		rate = float64(r.cfg.Bitrate) / 8 / float64(r.cfg.Size) / float64(conns)
	}
	p := pace.New(rate)
	step := max(int64(rate/1000), 1)
	var seq int64
	for {
		if !p.Wait(r.ctx, seq+step-1, r.end) {
			return nil
		}
		for due := p.Due(time.Now()) + 1; seq < due; seq++ {
			if r.take(1) == 0 {
				return nil
			}
			// Counted before it leaves, so that the receiver never sees
			// a reply to a datagram it does not know was sent.
			r.w.setSent(seq + 1)
			if err := send(seq); err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
				return err
			}
		}
	}
}

func (w *worker) setSent(n int64) { w.sentAtomic.Store(n) }

func (w *worker) sentSoFar() int64 { return w.sentAtomic.Load() }

// udpSender sends runs of data datagrams.
type udpSender interface {
	// send sends k datagrams numbered from seq, stamped now, and returns
	// how many it got rid of (sent, or refused by an ICMP error, which is
	// returned).
	send(token uint32, seq uint64, k int, now int64) (int, error)
}

// plainSender sends one datagram per write.
type plainSender struct {
	c   net.Conn
	buf []byte
}

func (s *plainSender) send(token uint32, seq uint64, k int, now int64) (int, error) {
	for i := 0; i < k; i++ {
		wire.PutHeader(s.buf, token, seq+uint64(i), now)
		if _, err := s.c.Write(s.buf); err != nil {
			return i + 1, err
		}
	}
	return k, nil
}

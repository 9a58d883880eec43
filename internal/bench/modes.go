package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// runner runs one connection's loop.
type runner struct {
	cfg   *Config
	w     *worker
	h     *shard
	start time.Time
	end   time.Time
	ctx   context.Context
}

// fail counts an error; the first one is kept for the summary. The normal
// end of a run (deadline passed, context done) is not an error.
func (r *runner) fail(err error) {
	if r.over(err) {
		return
	}
	r.w.errs++
	if r.w.err == nil {
		r.w.err = err
	}
}

func (r *runner) over(err error) bool {
	return r.ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) || !time.Now().Before(r.end)
}

// since is nanoseconds since the run began, on the monotonic clock.
func (r *runner) since() int64 { return int64(time.Since(r.start)) }

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

func (r *runner) tx(c net.Conn) {
	buf := pattern(r.cfg.Size)
	c.SetWriteDeadline(r.end)
	for {
		n, err := c.Write(buf)
		r.w.bytes.Add(int64(n))
		if err != nil {
			r.fail(err)
			return
		}
		r.w.ops.Add(1)
	}
}

func (r *runner) rx(c net.Conn) {
	buf := make([]byte, r.cfg.Size)
	c.SetReadDeadline(r.end)
	for {
		n, err := c.Read(buf)
		r.w.bytes.Add(int64(n))
		if err != nil {
			if !errors.Is(err, io.EOF) || time.Now().Before(r.end) {
				r.fail(err)
			}
			return
		}
		r.w.ops.Add(1)
	}
}

// rr keeps Depth requests in flight: it writes Depth requests, then one
// more after each response. TCP keeps them in order, so the send times
// wait in a ring.
func (r *runner) rr(c net.Conn) {
	size, depth := r.cfg.Size, r.cfg.Depth
	req := pattern(size * depth)
	resp := make([]byte, size)
	ring := make([]int64, depth)
	c.SetDeadline(r.end)
	now := r.since()
	for i := range ring {
		ring[i] = now
	}
	if _, err := c.Write(req); err != nil {
		r.fail(err)
		return
	}
	req = req[:size]
	head := 0
	for {
		if _, err := io.ReadFull(c, resp); err != nil {
			r.fail(err)
			return
		}
		now := r.since()
		r.h.record(now - ring[head])
		r.w.bytes.Add(int64(size))
		r.w.ops.Add(1)
		if now >= int64(r.cfg.Duration) {
			return
		}
		ring[head] = now
		head++
		if head == depth {
			head = 0
		}
		if _, err := c.Write(req); err != nil {
			r.fail(err)
			return
		}
	}
}

func (r *runner) connect() {
	for r.ctx.Err() == nil {
		t0 := r.since()
		c, err := r.cfg.Dial(r.ctx)
		if err != nil {
			if r.ctx.Err() == nil {
				r.fail(err)
				// Do not spin on a refusing server.
				time.Sleep(time.Millisecond)
			}
			continue
		}
		r.h.record(r.since() - t0)
		r.w.ops.Add(1)
		// An RST instead of a FIN: the client keeps no TIME_WAIT socket,
		// so a long run does not use up the ephemeral ports.
		if tc := tcpConn(c); tc != nil {
			tc.SetLinger(0)
		}
		c.Close()
	}
}

func tcpConn(c net.Conn) *net.TCPConn {
	for {
		switch v := c.(type) {
		case *net.TCPConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
}

// udpHeader is what each bench datagram carries before its padding: a
// sequence number and the send time.
const udpHeader = 16

// udp sends datagrams carrying a sequence number and a timestamp and
// reads the echoes: loss, reordering, duplicates, jitter and round-trip
// latency. Without a rate it keeps Depth datagrams in flight (refilling
// the window if replies stop coming, as they do when datagrams are lost);
// with one, a second goroutine paces the sending.
func (r *runner) udp(c net.Conn, conns int) {
	size := r.cfg.Size
	out := pattern(size)
	in := make([]byte, 65536)
	seen := newBitmap(1 << 16)
	var maxSeq, prevRTT int64 = -1, -1
	w := r.w

	send := func(seq int64) error {
		binary.LittleEndian.PutUint64(out[0:], uint64(seq))
		binary.LittleEndian.PutUint64(out[8:], uint64(r.since()))
		_, err := c.Write(out)
		return err
	}
	receive := func(b []byte) {
		if len(b) < udpHeader {
			w.errs++
			return
		}
		seq := int64(binary.LittleEndian.Uint64(b[0:]))
		ts := int64(binary.LittleEndian.Uint64(b[8:]))
		if seq < 0 || seq >= w.sentSoFar() {
			w.errs++ // not ours
			return
		}
		if seen.testAndSet(seq) {
			w.duplicates++
			return
		}
		rtt := r.since() - ts
		r.h.record(rtt)
		w.recv++
		w.bytes.Add(int64(len(b)))
		w.ops.Add(1)
		if seq < maxSeq {
			w.reordered++
		} else {
			maxSeq = seq
		}
		if prevRTT >= 0 {
			d := float64(rtt - prevRTT)
			if d < 0 {
				d = -d
			}
			w.jitter += (d - w.jitter) / 16
		}
		prevRTT = rtt
	}

	if r.cfg.Rate > 0 {
		var perr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			perr = r.pace(c, send, conns)
		}()
		c.SetReadDeadline(r.end.Add(250 * time.Millisecond))
		for {
			n, err := c.Read(in)
			if err != nil {
				if errors.Is(err, syscall.ECONNREFUSED) {
					// An ICMP port unreachable: nothing listens there.
					w.errs++
					if w.err == nil {
						w.err = err
					}
					if time.Now().Before(r.end) {
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
			if !time.Now().Before(r.end) && w.recv >= w.sentSoFar() {
				break
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
	for ; inflight < r.cfg.Depth; inflight++ {
		if err := send(seq); err != nil {
			r.fail(err)
			return
		}
		seq++
		w.setSent(seq)
	}
	for {
		dl := time.Now().Add(refill)
		sending := time.Now().Before(r.end)
		if !sending {
			// Wait a little for the replies still in flight.
			dl = r.end.Add(250 * time.Millisecond)
		}
		c.SetReadDeadline(dl)
		n, err := c.Read(in)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if !sending || !time.Now().Before(r.end) {
					return
				}
				// Replies stopped: count the window as lost and refill it.
				inflight = 0
				for ; inflight < r.cfg.Depth; inflight++ {
					if err := send(seq); err != nil {
						r.fail(err)
						return
					}
					seq++
					w.setSent(seq)
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
		if !time.Now().Before(r.end) {
			if w.recv >= seq {
				return
			}
			continue
		}
		for inflight < r.cfg.Depth {
			if err := send(seq); err != nil {
				r.fail(err)
				return
			}
			seq++
			w.setSent(seq)
			inflight++
		}
	}
}

// pace sends at this socket's share of Rate until the end.
func (r *runner) pace(c net.Conn, send func(int64) error, conns int) error {
	rate := float64(r.cfg.Rate) / float64(conns)
	var seq int64
	tick := time.Millisecond
	if per := time.Duration(float64(time.Second) / rate); per > tick {
		tick = per
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		now := time.Now()
		if !now.Before(r.end) || r.ctx.Err() != nil {
			return nil
		}
		due := int64(now.Sub(r.start).Seconds()*rate) + 1
		for ; seq < due; seq++ {
			// Counted before it leaves, so that the receiver never sees
			// a reply to a datagram it does not know was sent.
			r.w.setSent(seq + 1)
			if err := send(seq); err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
				return err
			}
		}
		select {
		case <-t.C:
		case <-r.ctx.Done():
			return nil
		}
	}
}

func (w *worker) setSent(n int64) {
	w.sentAtomic.Store(n)
	w.sent = n
}

func (w *worker) sentSoFar() int64 { return w.sentAtomic.Load() }

// bitmap records which sequence numbers have arrived (duplicates).
type bitmap struct{ w []uint64 }

func newBitmap(n int) *bitmap { return &bitmap{w: make([]uint64, n/64)} }

func (b *bitmap) testAndSet(i int64) bool {
	k := int(i / 64)
	for k >= len(b.w) {
		b.w = append(b.w, make([]uint64, len(b.w)+1)...)
	}
	m := uint64(1) << (i % 64)
	was := b.w[k]&m != 0
	b.w[k] |= m
	return was
}

package bench

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/sockit/sockit/internal/bench/wire"
	"github.com/sockit/sockit/internal/pace"
)

// UDP control datagrams (HELLO, DONE) are padded to controlPad bytes:
// a bench server never answers with more than it was sent.
const controlPad = 512

// Waits of the UDP hello and end: each is sent up to tries times, an
// answer awaited for tryWait each time.
const (
	tryWait    = 250 * time.Millisecond
	helloTries = 4
	endTries   = 8
	// endGrace lets the last datagrams arrive before DONE asks for the
	// count.
	endGrace = 100 * time.Millisecond
)

// pad pads a control message to controlPad bytes with spaces before its
// newline.
func pad(msg []byte) []byte {
	msg = bytes.TrimSuffix(msg, []byte("\n"))
	if len(msg) >= controlPad-1 {
		return append(msg, '\n')
	}
	out := bytes.Repeat([]byte(" "), controlPad)
	copy(out, msg)
	out[controlPad-1] = '\n'
	return out
}

// udp runs one socket of --mode udp: round trips against an echo server,
// or one way to a bench server, which counts what arrives.
func (r *runner) udp(c net.Conn, conns int) {
	if !r.cfg.Plain {
		bench, token, err := r.udpHello(c)
		if err != nil {
			var refused *errRefused
			if errors.As(err, &refused) {
				r.w.errs++
				r.w.err = err
				r.bud.cancel()
			} else {
				r.fail(err)
			}
			r.stopped()
			return
		}
		if bench {
			r.w.bench = true
			r.udpOneWay(c, token, conns)
			return
		}
	}
	r.udpEcho(c, conns)
}

// udpHello sends the hello and tells the server apart: an echo server
// sends the hello back, a bench server answers OK with the stream's
// token; no answer at all (a sink, or every try lost) is taken for a
// plain server.
func (r *runner) udpHello(c net.Conn) (bench bool, token uint32, err error) {
	hello := pad(wire.Format(wire.Hello, r.hello(wire.ModeUDP)))
	buf := make([]byte, 65536)
	defer c.SetReadDeadline(time.Time{})
	for try := 0; try < helloTries; try++ {
		if _, err := c.Write(hello); err != nil {
			return false, 0, err
		}
		c.SetReadDeadline(time.Now().Add(tryWait))
		for {
			n, err := c.Read(buf)
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					break
				}
				return false, 0, err
			}
			b := buf[:n]
			if bytes.Equal(b, hello) {
				return false, 0, nil // an echo server
			}
			if !wire.IsControl(b) {
				return false, 0, nil // something that answers otherwise
			}
			m, err := wire.Parse(b)
			if err != nil {
				continue
			}
			switch m.Kind {
			case wire.OK:
				a, err := wire.ParseAck(m)
				if err != nil {
					return false, 0, fmt.Errorf("bad answer to the bench hello: %v", err)
				}
				return true, a.Token, nil
			case wire.Err:
				return false, 0, &errRefused{wire.ParseRefusal(m)}
			}
		}
		if r.ctx.Err() != nil {
			return false, 0, nil
		}
	}
	return false, 0, nil
}

// udpOneWay sends datagrams to a bench server at the paced rate until the
// end, then asks it for its count (DONE, answered by RESULT).
func (r *runner) udpOneWay(c net.Conn, token uint32, conns int) {
	w, size := r.w, r.cfg.Size
	bits := float64(DefaultOneWayBitrate)
	if r.cfg.Bitrate > 0 {
		bits = float64(r.cfg.Bitrate)
	}
	rate := bits / 8 / float64(size) / float64(conns)
	if r.cfg.Rate > 0 {
		rate = float64(r.cfg.Rate) / float64(conns)
	}
	p := pace.New(rate)
	p.Start = r.start
	snd := newUDPSender(c, size, r.cfg.NoTrains)
	c.SetWriteDeadline(r.end)
	var seq uint64
	for {
		if !p.Wait(r.ctx, int64(seq), r.end) {
			break
		}
		k := p.Due(time.Now()) + 1 - int64(seq)
		if k <= 0 {
			continue
		}
		k = min(k, 1024)
		if k = r.take(k); k == 0 {
			break
		}
		now := r.since()
		n, err := snd.send(token, seq, int(k), now)
		seq += uint64(n)
		w.bytes.Add(int64(n * size))
		w.ops.Add(int64(n))
		if r.counting(now) {
			w.sent += int64(n)
			w.sentBytes += int64(n * size)
		}
		w.setSent(int64(seq))
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				w.errs++
				if w.err == nil {
					w.err = err
				}
				continue
			}
			r.fail(err)
			break
		}
	}
	r.stopped()
	c.SetWriteDeadline(time.Time{})
	if r.ctx.Err() != nil && time.Now().Before(r.end) && !r.bud.on {
		return // interrupted
	}
	rep, err := r.udpEnd(c, token)
	if err != nil {
		w.errs++
		if w.err == nil {
			w.err = err
		}
		return
	}
	w.report = rep
}

// udpEnd asks the bench server for its count of this stream.
func (r *runner) udpEnd(c net.Conn, token uint32) (*wire.ReportMsg, error) {
	t := time.NewTimer(endGrace)
	<-t.C
	done := pad(wire.Format(wire.Done, wire.EndMsg{Token: token, Sent: r.w.sent, Bytes: r.w.sentBytes}))
	buf := make([]byte, 65536)
	defer c.SetReadDeadline(time.Time{})
	for try := 0; try < endTries; try++ {
		if _, err := c.Write(done); err != nil {
			return nil, fmt.Errorf("asking the bench server for its count: %w", err)
		}
		c.SetReadDeadline(time.Now().Add(tryWait))
		for {
			n, err := c.Read(buf)
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, syscall.ECONNREFUSED) {
					break
				}
				return nil, fmt.Errorf("asking the bench server for its count: %w", err)
			}
			m, err := wire.Parse(buf[:n])
			if err != nil {
				continue
			}
			switch m.Kind {
			case wire.Result:
				rep, err := wire.ParseReport(m)
				if err != nil {
					return nil, fmt.Errorf("bad report from the bench server: %v", err)
				}
				if rep.Token == token {
					return rep, nil
				}
			case wire.Err:
				return nil, fmt.Errorf("the bench server did not report: %s", wire.ParseRefusal(m))
			}
		}
	}
	return nil, fmt.Errorf("no report from the bench server after %d tries", endTries)
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
		done := make(chan struct{})
		go func() {
			defer close(done)
			perr = r.paceEcho(c, send, conns)
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
			if r.sendingOver() && w.recv >= w.sentSoFar() {
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
	for {
		sending := !r.sendingOver()
		dl := time.Now().Add(refill)
		if !sending {
			// Wait a little for the replies still in flight.
			dl = time.Now().Add(250 * time.Millisecond)
			if end := r.end.Add(250 * time.Millisecond); time.Now().Before(r.end) && end.Before(dl) {
				dl = end
			}
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

// paceEcho sends at this socket's share of Rate (or -b) until the end.
func (r *runner) paceEcho(c net.Conn, send func(int64) error, conns int) error {
	rate := float64(r.cfg.Rate) / float64(conns)
	if r.cfg.Bitrate > 0 {
		rate = float64(r.cfg.Bitrate) / 8 / float64(r.cfg.Size) / float64(conns)
	}
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
		select {
		case <-t.C:
		case <-r.ctx.Done():
			return nil
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

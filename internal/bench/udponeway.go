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
	// Paced from now, when the sending begins; woken about once a
	// millisecond at most, to send what is due.
	p := pace.New(rate)
	step := max(int64(rate/1000), 1)
	snd := newUDPSender(c, size, r.cfg.NoTrains)
	c.SetWriteDeadline(r.end)
	var seq uint64
	for {
		if !p.Wait(r.ctx, int64(seq)+step-1, r.end) {
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

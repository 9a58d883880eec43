package impair

import (
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/tcpsock"
)

// queueMax is how many bytes a delayed connection holds in flight per
// direction before Write blocks: the "network" between the two ends, as
// large as a 50 ms path at about 600 Mbit/s. Delay adds latency, not a
// throughput limit below that.
const queueMax = 4 << 20

// drainGrace is how long Close keeps delivering delayed data, beyond the
// time the last write was due, before it gives up and closes.
const drainGrace = time.Second

// ResetError is what a connection returns once reset-after has reset it.
// It unwraps to syscall.ECONNRESET, as a reset by a real peer does.
type ResetError struct{ After int64 }

func (e *ResetError) Error() string {
	return "connection reset by the impairment reset-after=" + strconv.FormatInt(e.After, 10)
}
func (e *ResetError) Unwrap() error { return syscall.ECONNRESET }

// Option is the option that asked for the reset (see fail.OptionOf).
func (e *ResetError) Option() fail.Option { return Opt }

// Conn wraps a stream connection (TCP, TLS, Unix) so that what is written
// through it meets the faults of s: delay and jitter (the write returns at
// once and the bytes leave later, in order), rate, chunk, reset-after and
// stall-after. r chooses the random values; nil uses s.Rand(0).
//
// A connection that carries datagrams (a connected UDP or unixgram socket:
// one that is also a net.PacketConn) gets the datagram faults instead, one
// Write being one datagram, as PacketConn gives them.
//
// The result passes golang.org/x/net/nettest.TestConn for the faults that
// keep data intact. CloseWrite sends what is still delayed, then the FIN;
// Close sends it too, for at most 1s beyond its due time.
func Conn(nc net.Conn, s Spec, r *rand.Rand) net.Conn {
	if _, ok := nc.(net.PacketConn); ok {
		return newDgramConn(nc, s, r)
	}
	c := &conn{Conn: nc, spec: s, rng: newRand(s, r), async: s.Delay > 0 || s.Jitter > 0}
	c.init()
	if s.Rate > 0 {
		c.bucket = &bucket{rate: float64(s.Rate)}
	}
	c.budget = min(nonzero(s.ResetAfter), nonzero(s.StallAfter))
	return c
}

func nonzero(n int64) int64 {
	if n <= 0 {
		return 1<<63 - 1
	}
	return n
}

type conn struct {
	net.Conn
	spec  Spec
	rng   *lockedRand
	async bool // delay or jitter: writes are queued and sent by a goroutine

	gate
	wmu    sync.Mutex // serializes deliveries (and Writes in sync mode)
	bucket *bucket    // guarded by wmu

	// Guarded by gate.mu:
	budget  int64 // bytes left before reset-after or stall-after
	stalled bool
	reset   bool
	err     error // sticky error of the delivering goroutine
	queue   []item
	queued  int
	lastDue time.Time
	running bool          // the delivering goroutine is running
	done    chan struct{} // closed when it ends
	seq     uint64        // items enqueued so far
	sent    uint64        // items delivered (or dropped) so far
}

type item struct {
	due  time.Time
	data []byte
	fin  bool // CloseWrite
	seq  uint64
}

// take books up to n bytes of the budget and reports how many may move.
func (c *conn) take(n int) int {
	c.gate.mu.Lock()
	defer c.gate.mu.Unlock()
	if int64(n) > c.budget {
		n = int(c.budget)
	}
	return n
}

// moved records n bytes moved and trips reset-after or stall-after when
// the budget is spent. It returns the error the caller should return.
func (c *conn) moved(n int) error {
	c.gate.mu.Lock()
	c.budget -= int64(n)
	trip := c.budget <= 0 && !c.reset && !c.stalled
	if !trip {
		c.gate.mu.Unlock()
		return nil
	}
	resetFirst := c.spec.ResetAfter > 0 && (c.spec.StallAfter == 0 || c.spec.ResetAfter <= c.spec.StallAfter)
	if resetFirst {
		c.reset = true
	} else {
		c.stalled = true
	}
	c.broadcastLocked()
	c.gate.mu.Unlock()
	if resetFirst {
		c.abort()
		if ct := c.spec.Counters; ct != nil {
			ct.Resets.Add(1)
		}
		return &ResetError{After: c.spec.ResetAfter}
	}
	if ct := c.spec.Counters; ct != nil {
		ct.Stalls.Add(1)
	}
	return nil
}

// abort resets the connection: SO_LINGER 0 makes close send RST, so the
// peer reads "connection reset by peer" rather than EOF.
func (c *conn) abort() {
	// Under TLS (or another wrapper that exposes it) the socket is the
	// wrapped connection's: reset that directly, without the close_notify
	// a TLS Close would send first.
	if tc := tcpsock.Conn(c.Conn); tc != nil {
		tc.SetLinger(0)
		tc.Close()
		return
	}
	c.Conn.Close()
}

// blocked returns the error for an operation on a closed, reset or
// stalled connection: a stall waits (for the deadline of s, or Close).
// drain is true for the goroutine that delivers delayed data, which goes
// on after Close.
func (c *conn) blocked(s side, drain bool) error {
	c.gate.mu.Lock()
	reset, stalled, closed := c.reset, c.stalled, c.closed
	c.gate.mu.Unlock()
	switch {
	case closed && !drain:
		return net.ErrClosed
	case reset:
		return &ResetError{After: c.spec.ResetAfter}
	case stalled:
		return c.sleepUntil(time.Time{}, s, drain)
	}
	return nil
}

func (c *conn) Read(p []byte) (int, error) {
	if err := c.blocked(readSide, false); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return c.Conn.Read(p)
	}
	n := c.take(len(p))
	if n == 0 {
		// The budget ran out in a Write at this moment.
		if err := c.blocked(readSide, false); err != nil {
			return 0, err
		}
	}
	n, err := c.Conn.Read(p[:n])
	if n > 0 {
		if merr := c.moved(n); merr != nil && err == nil {
			// The reset happens after the bytes before it: hand them over
			// now, the error with the next call.
			return n, nil
		}
	}
	if err != nil {
		c.gate.mu.Lock()
		closed, reset := c.closed, c.reset
		c.gate.mu.Unlock()
		switch {
		case closed:
			err = net.ErrClosed
		case reset:
			err = &ResetError{After: c.spec.ResetAfter}
		}
	}
	return n, err
}

func (c *conn) Write(p []byte) (int, error) {
	if c.async {
		return c.enqueue(p)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.deliver(p, writeSide, false)
}

// deliver writes p to the connection with the faults that act on bytes
// leaving: chunk, rate, reset-after, stall-after. Deadlines come from s;
// drain is true for the goroutine that delivers delayed data.
func (c *conn) deliver(p []byte, s side, drain bool) (int, error) {
	written := 0
	for written < len(p) || len(p) == 0 {
		if err := c.blocked(s, drain); err != nil {
			return written, err
		}
		n := len(p) - written
		if c.spec.ChunkMax > 0 {
			n = min(n, c.rng.between(c.spec.ChunkMin, c.spec.ChunkMax))
		}
		if c.bucket != nil {
			n = min(n, piece(c.spec.Rate))
		}
		if n = c.take(n); n == 0 && len(p) > 0 {
			continue // the budget ran out: blocked() says what now
		}
		if c.bucket != nil && n > 0 {
			if err := c.sleepUntil(c.bucket.reserve(n, time.Now()), s, drain); err != nil {
				return written, err
			}
		}
		m, err := c.Conn.Write(p[written : written+n])
		written += m
		if m > 0 {
			if merr := c.moved(m); merr != nil {
				return written, merr
			}
		}
		if err != nil {
			c.gate.mu.Lock()
			if c.reset {
				err = &ResetError{After: c.spec.ResetAfter}
			} else if c.closed && !drain {
				err = net.ErrClosed
			}
			c.gate.mu.Unlock()
			return written, err
		}
		if len(p) == 0 {
			break
		}
	}
	return written, nil
}

// enqueue queues p to leave after the delay, blocking while the queue is
// full.
func (c *conn) enqueue(p []byte) (int, error) {
	done := 0
	for {
		c.gate.mu.Lock()
		switch {
		case c.closed:
			c.gate.mu.Unlock()
			return done, net.ErrClosed
		case c.err != nil:
			err := c.err
			c.gate.mu.Unlock()
			return done, err
		case !c.wdl.IsZero() && !time.Now().Before(c.wdl):
			c.gate.mu.Unlock()
			return done, os.ErrDeadlineExceeded
		}
		if c.queued < queueMax {
			n := min(len(p)-done, 64<<10)
			data := make([]byte, n)
			copy(data, p[done:done+n])
			c.push(item{data: data})
			done += n
			if done == len(p) {
				c.gate.mu.Unlock()
				return done, nil
			}
			c.gate.mu.Unlock()
			continue
		}
		ch := c.changed
		wdl := c.wdl
		c.gate.mu.Unlock()
		var tc <-chan time.Time
		if !wdl.IsZero() {
			t := time.NewTimer(time.Until(wdl))
			tc = t.C
			select {
			case <-ch:
			case <-tc:
			}
			t.Stop()
		} else {
			<-ch
		}
	}
}

// push appends it to the queue with its due time and starts the
// delivering goroutine if it is not running. c.gate.mu must be held.
func (c *conn) push(it item) {
	due := time.Now().Add(c.rng.latency(c.spec.Delay, c.spec.Jitter))
	if due.Before(c.lastDue) {
		due = c.lastDue // jitter never reorders a stream
	}
	c.lastDue = due
	it.due = due
	c.seq++
	it.seq = c.seq
	c.queue = append(c.queue, it)
	c.queued += len(it.data)
	if !c.running {
		c.running = true
		c.done = make(chan struct{})
		go c.run(c.done)
	}
}

// run delivers queued items at their due times until the queue is empty.
func (c *conn) run(done chan struct{}) {
	defer close(done)
	for {
		c.gate.mu.Lock()
		if len(c.queue) == 0 || c.err != nil {
			c.running = false
			c.broadcastLocked()
			c.gate.mu.Unlock()
			return
		}
		it := c.queue[0]
		c.gate.mu.Unlock()

		err := c.sleepUntil(it.due, noDeadline, true)
		if err == nil {
			if it.fin {
				err = closeWrite(c.Conn)
			} else {
				_, err = c.deliver(it.data, noDeadline, true)
			}
		}

		c.gate.mu.Lock()
		if err != nil && c.err == nil {
			c.err = err
		}
		c.queue[0] = item{}
		c.queue = c.queue[1:]
		c.queued -= len(it.data)
		c.sent = it.seq
		if c.err != nil {
			// Nothing more can be delivered: account for the rest.
			for _, rest := range c.queue {
				c.queued -= len(rest.data)
				c.sent = rest.seq
			}
			c.queue = nil
		}
		c.broadcastLocked()
		c.gate.mu.Unlock()
	}
}

func closeWrite(nc net.Conn) error {
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// CloseWrite shuts down the writing side once everything written before
// it has been delivered.
func (c *conn) CloseWrite() error {
	if !c.async {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		if err := c.blocked(writeSide, false); err != nil {
			return err
		}
		return closeWrite(c.Conn)
	}
	c.gate.mu.Lock()
	if c.closed {
		c.gate.mu.Unlock()
		return net.ErrClosed
	}
	if c.err != nil {
		err := c.err
		c.gate.mu.Unlock()
		return err
	}
	c.push(item{fin: true})
	want := c.seq
	c.gate.mu.Unlock()
	return c.waitSent(want)
}

// Flush waits until everything written before it has been handed to the
// connection under it (with a delay, the bytes still queued), the write
// deadline passes, the connection is closed or delivery fails. A relay
// that is about to reset the connection flushes it first, so that the
// bytes it wrote before the reset go out before it, as a socket's would.
func (c *conn) Flush() error {
	if !c.async {
		return nil // writes went straight through
	}
	c.gate.mu.Lock()
	want := c.seq
	c.gate.mu.Unlock()
	return c.waitSent(want)
}

// waitSent waits until the item numbered want has been delivered, the
// write deadline passes or the connection is closed.
func (c *conn) waitSent(want uint64) error {
	for {
		c.gate.mu.Lock()
		sent, err, closed, ch, wdl := c.sent, c.err, c.closed, c.changed, c.wdl
		c.gate.mu.Unlock()
		switch {
		case sent >= want:
			return err
		case closed:
			return net.ErrClosed
		case !wdl.IsZero() && !time.Now().Before(wdl):
			return os.ErrDeadlineExceeded
		}
		var tc <-chan time.Time
		var t *time.Timer
		if !wdl.IsZero() {
			t = time.NewTimer(time.Until(wdl))
			tc = t.C
		}
		select {
		case <-ch:
		case <-tc:
		}
		if t != nil {
			t.Stop()
		}
	}
}

// Close closes the connection. Delayed bytes still queued are delivered
// first, for at most drainGrace beyond their due time (the kernel's
// close sends its buffer, too); blocked calls return net.ErrClosed at once.
func (c *conn) Close() error {
	c.gate.mu.Lock()
	if c.closed {
		c.gate.mu.Unlock()
		return net.ErrClosed
	}
	c.closed = true
	c.drainBy = time.Now().Add(drainGrace)
	if c.lastDue.After(time.Now()) {
		c.drainBy = c.lastDue.Add(drainGrace)
	}
	running, done, reset, drainBy := c.running, c.done, c.reset, c.drainBy
	c.broadcastLocked()
	c.gate.mu.Unlock()
	if running && !reset {
		// Unblock a Read now; let the delivering goroutine finish.
		c.Conn.SetReadDeadline(time.Unix(1, 0))
		c.Conn.SetWriteDeadline(drainBy)
	}
	if running {
		<-done
	}
	if reset {
		return nil // closed already, by the reset
	}
	return c.Conn.Close()
}

func (c *conn) SetDeadline(t time.Time) error {
	c.setDeadline(true, true, t)
	if c.async {
		return c.underlyingDeadline(c.Conn.SetReadDeadline, t)
	}
	return c.underlyingDeadline(c.Conn.SetDeadline, t)
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.setDeadline(true, false, t)
	return c.underlyingDeadline(c.Conn.SetReadDeadline, t)
}

// SetWriteDeadline bounds Write. With a delay, bytes already queued are
// not affected: they left the writer, as bytes in a socket buffer have.
func (c *conn) SetWriteDeadline(t time.Time) error {
	c.setDeadline(false, true, t)
	if c.async {
		return nil
	}
	return c.underlyingDeadline(c.Conn.SetWriteDeadline, t)
}

func (c *conn) underlyingDeadline(set func(time.Time) error, t time.Time) error {
	c.gate.mu.Lock()
	closed := c.closed
	c.gate.mu.Unlock()
	if closed {
		return nil // Close owns the deadlines now
	}
	return set(t)
}

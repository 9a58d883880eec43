package impair

import (
	"math/rand/v2"
	"net"
	"os"
	"time"
)

// Limits of the datagram delay queue: beyond them a datagram is dropped
// (and counted as Overflow), as a router's full queue drops.
const (
	dgramQueueMax   = 4096
	dgramQueueBytes = 8 << 20
)

// holdMax is how long a datagram picked by reorder= waits for the next
// one to overtake it before it leaves anyway. (A variable only so that a
// test can make a stall obvious.)
var holdMax = 20 * time.Millisecond

// waitHook, when a test sets it, is called each time the sending
// goroutine starts to wait for a due time or a write.
var waitHook func()

// PacketConn wraps a datagram socket so that what is written through it
// meets the faults of s: loss, dup, reorder, delay, jitter and rate. A
// datagram is never split. r chooses the random values; nil uses
// s.Rand(0). Reads pass through untouched.
func PacketConn(pc net.PacketConn, s Spec, r *rand.Rand) net.PacketConn {
	p := &packetConn{PacketConn: pc}
	p.d = newDgram(s, r, pc.WriteTo)
	return p
}

type packetConn struct {
	net.PacketConn
	d *dgram
}

func (p *packetConn) WriteTo(b []byte, addr net.Addr) (int, error) { return p.d.write(b, addr) }

func (p *packetConn) Close() error {
	p.d.close()
	return p.PacketConn.Close()
}

func (p *packetConn) SetDeadline(t time.Time) error {
	p.d.setDeadline(false, true, t)
	if p.d.async {
		return p.PacketConn.SetReadDeadline(t)
	}
	return p.PacketConn.SetDeadline(t)
}

func (p *packetConn) SetWriteDeadline(t time.Time) error {
	p.d.setDeadline(false, true, t)
	if p.d.async {
		return nil
	}
	return p.PacketConn.SetWriteDeadline(t)
}

// dgramConn is a connected datagram socket seen through Conn: each Write
// is one datagram.
type dgramConn struct {
	net.Conn
	d *dgram
}

func newDgramConn(nc net.Conn, s Spec, r *rand.Rand) net.Conn {
	c := &dgramConn{Conn: nc}
	c.d = newDgram(s, r, func(b []byte, _ net.Addr) (int, error) { return nc.Write(b) })
	return c
}

func (c *dgramConn) Write(b []byte) (int, error) { return c.d.write(b, nil) }

func (c *dgramConn) Close() error {
	c.d.close()
	return c.Conn.Close()
}

func (c *dgramConn) SetDeadline(t time.Time) error {
	c.d.setDeadline(false, true, t)
	if c.d.async {
		return c.Conn.SetReadDeadline(t)
	}
	return c.Conn.SetDeadline(t)
}

func (c *dgramConn) SetWriteDeadline(t time.Time) error {
	c.d.setDeadline(false, true, t)
	if c.d.async {
		return nil
	}
	return c.Conn.SetWriteDeadline(t)
}

// dgram applies the datagram faults in front of send.
type dgram struct {
	spec  Spec
	rng   *lockedRand
	send  func([]byte, net.Addr) (int, error)
	async bool // delay, jitter or reorder: datagrams leave from a goroutine
	cnt   *Counters
	hold  time.Duration // holdMax when the wrapper was made

	gate
	// Guarded by gate.mu:
	bucket  *bucket
	queue   []pkt
	queued  int
	lastDue time.Time
	held    *pkt // picked by reorder=: leaves after the next datagram
	running bool
	done    chan struct{}
}

type pkt struct {
	due    time.Time
	heldAt time.Time
	data   []byte
	addr   net.Addr
}

func newDgram(s Spec, r *rand.Rand, send func([]byte, net.Addr) (int, error)) *dgram {
	d := &dgram{spec: s, rng: newRand(s, r), send: send, cnt: s.Counters, hold: holdMax}
	d.async = s.Delay > 0 || s.Jitter > 0 || s.Reorder > 0
	if s.Rate > 0 {
		d.bucket = &bucket{rate: float64(s.Rate)}
	}
	if d.cnt == nil {
		d.cnt = &Counters{}
	}
	d.init()
	return d
}

// write sends one datagram through the faults. A lost datagram is
// reported as sent, as the network would.
func (d *dgram) write(b []byte, addr net.Addr) (int, error) {
	d.gate.mu.Lock()
	closed, wdl := d.closed, d.wdl
	d.gate.mu.Unlock()
	if closed {
		return 0, net.ErrClosed
	}
	if !wdl.IsZero() && !time.Now().Before(wdl) {
		return 0, os.ErrDeadlineExceeded
	}
	d.cnt.Datagrams.Add(1)
	if d.spec.Loss > 0 && d.rng.float() < d.spec.Loss {
		d.cnt.Lost.Add(1)
		return len(b), nil
	}
	copies := 1
	if d.spec.Dup > 0 && d.rng.float() < d.spec.Dup {
		copies = 2
		d.cnt.Duplicated.Add(1)
	}
	if !d.async {
		for range copies {
			if d.bucket != nil {
				d.gate.mu.Lock()
				at := d.bucket.reserve(len(b), time.Now())
				d.gate.mu.Unlock()
				if err := d.sleepUntil(at, writeSide, false); err != nil {
					return 0, err
				}
			}
			if _, err := d.send(b, addr); err != nil {
				return 0, err
			}
		}
		return len(b), nil
	}
	reorder := d.spec.Reorder > 0 && d.rng.float() < d.spec.Reorder
	lat := d.rng.latency(d.spec.Delay, d.spec.Jitter)
	d.gate.mu.Lock()
	defer d.gate.mu.Unlock()
	if d.closed {
		return 0, net.ErrClosed
	}
	data := append([]byte(nil), b...)
	now := time.Now()
	due := now.Add(lat)
	if due.Before(d.lastDue) {
		due = d.lastDue // jitter alone keeps the order; reorder= breaks it
	}
	d.lastDue = due
	if reorder {
		if d.held != nil {
			d.pushLocked(*d.held) // two in a row: the first leaves in order
		}
		d.held = &pkt{due: due, heldAt: now, data: data, addr: addr}
		copies--
	}
	for range copies {
		d.pushLocked(pkt{due: due, data: data, addr: addr})
	}
	if !reorder && d.held != nil {
		// The held datagram leaves right after this one: reordered.
		h := *d.held
		d.held = nil
		h.due = due
		d.pushLocked(h)
		d.cnt.Reordered.Add(1)
	}
	d.startLocked()
	d.broadcastLocked() // the goroutine may have to wake sooner now
	return len(b), nil
}

func (d *dgram) pushLocked(p pkt) {
	if len(d.queue) >= dgramQueueMax || d.queued+len(p.data) > dgramQueueBytes {
		d.cnt.Overflow.Add(1)
		return
	}
	d.queue = append(d.queue, p)
	d.queued += len(p.data)
}

func (d *dgram) startLocked() {
	if d.running || (len(d.queue) == 0 && d.held == nil) {
		return
	}
	d.running = true
	d.done = make(chan struct{})
	go d.run(d.done)
}

// run sends queued datagrams at their due times, and a held one when
// nothing overtook it within holdMax.
func (d *dgram) run(done chan struct{}) {
	defer close(done)
	for {
		d.gate.mu.Lock()
		if d.closed {
			d.queue, d.queued, d.held = nil, 0, nil
		}
		if d.held != nil && !time.Now().Before(d.held.heldAt.Add(d.hold)) {
			d.pushLocked(*d.held)
			d.held = nil
		}
		if len(d.queue) == 0 && d.held == nil {
			d.running = false
			d.gate.mu.Unlock()
			return
		}
		var next time.Time
		if d.held != nil {
			next = d.held.heldAt.Add(d.hold)
		}
		ready := false
		var p pkt
		if len(d.queue) > 0 {
			p = d.queue[0]
			if !time.Now().Before(p.due) {
				ready = true
				d.queue[0] = pkt{}
				d.queue = d.queue[1:]
				d.queued -= len(p.data)
			} else if next.IsZero() || p.due.Before(next) {
				next = p.due
			}
		}
		var at time.Time
		if ready && d.bucket != nil {
			at = d.bucket.reserve(len(p.data), time.Now())
		}
		changed := d.changed
		d.gate.mu.Unlock()

		if !ready {
			// Wake for the next due time, or when a write changes the
			// queue: a datagram queued behind a held one must not wait
			// for the hold to expire.
			t := time.NewTimer(time.Until(next))
			if waitHook != nil {
				waitHook()
			}
			select {
			case <-t.C:
			case <-changed:
			}
			t.Stop()
			continue
		}
		if !at.IsZero() && d.sleepUntil(at, noDeadline, false) != nil {
			continue
		}
		d.send(p.data, p.addr) // a datagram that fails to leave is lost, as on a network
	}
}

func (d *dgram) close() {
	d.gate.mu.Lock()
	if d.closed {
		d.gate.mu.Unlock()
		return
	}
	d.closed = true
	running, done := d.running, d.done
	d.broadcastLocked()
	d.gate.mu.Unlock()
	if running {
		<-done
	}
}

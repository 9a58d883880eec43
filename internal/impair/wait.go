package impair

import (
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"
)

// gate is the state the wrappers' blocking calls wait on: closed, and the
// deadlines the caller set. Every change closes and replaces changed, so
// that a waiter re-examines the state (a deadline set while a Write sleeps
// must wake it, as net.Conn requires).
type gate struct {
	mu      sync.Mutex
	changed chan struct{}
	closed  bool
	rdl     time.Time // read deadline
	wdl     time.Time // write deadline
	drainBy time.Time // after Close: delayed data may still leave until then
}

func (g *gate) init() { g.changed = make(chan struct{}) }

// broadcastLocked wakes every waiter; g.mu must be held.
func (g *gate) broadcastLocked() {
	close(g.changed)
	g.changed = make(chan struct{})
}

func (g *gate) setDeadline(read, write bool, t time.Time) {
	g.mu.Lock()
	if read {
		g.rdl = t
	}
	if write {
		g.wdl = t
	}
	g.broadcastLocked()
	g.mu.Unlock()
}

// side picks which deadline a wait honours.
type side int

const (
	readSide side = iota
	writeSide
	noDeadline
)

// sleepUntil waits until t (zero: forever) and returns nil, or returns
// net.ErrClosed when the wrapper is closed, or os.ErrDeadlineExceeded
// when the deadline of side passes first. A draining wait (the goroutine
// that delivers delayed data) goes on after Close, until drainBy.
func (g *gate) sleepUntil(t time.Time, s side, drain bool) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		g.mu.Lock()
		if g.closed && !drain {
			g.mu.Unlock()
			return net.ErrClosed
		}
		var dl time.Time
		switch s {
		case readSide:
			dl = g.rdl
		case writeSide:
			dl = g.wdl
		}
		if g.closed && (dl.IsZero() || g.drainBy.Before(dl)) {
			dl = g.drainBy
		}
		ch := g.changed
		g.mu.Unlock()

		now := time.Now()
		if !dl.IsZero() && !now.Before(dl) {
			return os.ErrDeadlineExceeded
		}
		if !t.IsZero() && !now.Before(t) {
			return nil
		}
		wake := t
		if !dl.IsZero() && (wake.IsZero() || dl.Before(wake)) {
			wake = dl
		}
		var tc <-chan time.Time
		if !wake.IsZero() {
			if timer == nil {
				timer = time.NewTimer(wake.Sub(now))
			} else {
				timer.Reset(wake.Sub(now))
			}
			tc = timer.C
		}
		select {
		case <-ch:
		case <-tc:
		}
	}
}

// lockedRand is a random source shared by a wrapper's goroutines.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) float() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

// between returns a number in [lo, hi].
func (l *lockedRand) between(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return lo + l.r.IntN(hi-lo+1)
}

// latency is delay ± jitter, never negative.
func (l *lockedRand) latency(delay, jitter time.Duration) time.Duration {
	d := delay
	if jitter > 0 {
		l.mu.Lock()
		d += time.Duration(l.r.Int64N(int64(2*jitter)+1)) - jitter
		l.mu.Unlock()
	}
	return max(d, 0)
}

func newRand(s Spec, r *rand.Rand) *lockedRand {
	if r == nil {
		r = s.Rand(0)
	}
	return &lockedRand{r: r}
}

// bucket paces bytes to a rate: a token bucket kept as the time at which
// the link is next free, allowing a small burst.
type bucket struct {
	rate float64 // bytes per second
	next time.Time
}

const burst = 5 * time.Millisecond

// reserve books n bytes and returns when they may be sent.
func (b *bucket) reserve(n int, now time.Time) time.Time {
	if b.next.Before(now.Add(-burst)) {
		b.next = now.Add(-burst)
	}
	at := b.next
	b.next = b.next.Add(time.Duration(float64(n) / b.rate * float64(time.Second)))
	return at
}

// piece is the largest write a rate limit lets through at once, so that
// a large write is paced smoothly: 20 ms worth, at least 1 byte.
func piece(rate int64) int {
	return int(max(min(rate/50, 64<<10), 1))
}

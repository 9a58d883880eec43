// Package pace holds a sender to a rate, as a token bucket refilled by
// the clock: after sending n units since the start, the sender waits
// until start + n/rate. A sender that falls behind (a loaded machine, a
// slow start) catches up, but with at most Burst's worth at once: older
// debt is forgiven, as a token bucket of that depth forgets tokens, so
// that a late start does not become a flood that the path then drops.
//
// It measures nothing and owns no goroutine.
package pace

import (
	"context"
	"time"
)

// DefaultBurst is how far behind a Pacer lets its sender be before it
// forgives the rest.
const DefaultBurst = 50 * time.Millisecond

// Pacer paces one sender. The zero value (Rate 0) never waits.
type Pacer struct {
	Rate  float64       // units (bytes, datagrams) per second
	Start time.Time     // when the sending began (moved on by forgiven debt)
	Burst time.Duration // how far behind the sender may be; 0 is DefaultBurst
	timer *time.Timer
}

// New returns a pacer at rate units per second from now.
func New(rate float64) *Pacer { return &Pacer{Rate: rate, Start: time.Now()} }

// Wait blocks until sent units are due, ctx is done or end passes (a zero
// end never passes). It reports false when the sender should stop.
func (p *Pacer) Wait(ctx context.Context, sent int64, end time.Time) bool {
	if p == nil || p.Rate <= 0 {
		return true
	}
	now := time.Now()
	due := p.Start.Add(time.Duration(float64(sent) / p.Rate * float64(time.Second)))
	burst := p.Burst
	if burst <= 0 {
		burst = DefaultBurst
	}
	if lag := now.Sub(due); lag > burst {
		// Too far behind: forgive what is beyond the burst.
		p.Start = p.Start.Add(lag - burst)
		due = now.Add(-burst)
	}
	if !end.IsZero() && !due.Before(end) {
		due = end
	}
	d := due.Sub(now)
	if d <= 0 {
		return end.IsZero() || now.Before(end)
	}
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	select {
	case <-p.timer.C:
	case <-ctx.Done():
		p.timer.Stop()
		return false
	}
	return end.IsZero() || time.Now().Before(end)
}

// Due is how many units are due by now.
func (p *Pacer) Due(now time.Time) int64 {
	return int64(now.Sub(p.Start).Seconds() * p.Rate)
}

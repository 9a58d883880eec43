// Package pace holds a sender to a rate, as a token bucket refilled by
// the clock: after sending n units since the start, the sender waits
// until start + n/rate. Lateness is not made up with a burst larger than
// the one write that was due, so a sender that falls behind (a loaded
// machine) catches up at once and then keeps the rate.
//
// It measures nothing and owns no goroutine.
package pace

import (
	"context"
	"time"
)

// Pacer paces one sender. The zero value (Rate 0) never waits.
type Pacer struct {
	Rate  float64 // units (bytes, datagrams) per second
	Start time.Time
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
	due := p.Start.Add(time.Duration(float64(sent) / p.Rate * float64(time.Second)))
	if !end.IsZero() && !due.Before(end) {
		due = end
	}
	d := time.Until(due)
	if d <= 0 {
		return end.IsZero() || time.Now().Before(end)
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

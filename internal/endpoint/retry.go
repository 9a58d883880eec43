package endpoint

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/sockit/sockit/internal/exitcode"
)

// Retry says how often a failed connect is tried again (socat's retry
// and forever): after Delay, then twice that, and so on up to MaxDelay.
// The zero value tries once.
type Retry struct {
	Times    int           // tries after the first (--retry N)
	Forever  bool          // try until it works or the context ends (--forever)
	Delay    time.Duration // the first pause (--retry-delay), 0 for DefaultRetryDelay
	MaxDelay time.Duration // the longest pause, 0 for DefaultMaxRetryDelay (or Delay when longer)
	// OnRetry, if set, is told of each failure that will be tried again
	// and how long until then (the CLI prints it; the UI will log it).
	OnRetry func(attempt int, err error, wait time.Duration)
}

// The back-off defaults: 1s, 2s, 4s … 30s.
const (
	DefaultRetryDelay    = time.Second
	DefaultMaxRetryDelay = 30 * time.Second
)

// Check refuses settings that make no sense.
func (r Retry) Check() error {
	if r.Times < 0 {
		return exitcode.Usagef("bad --retry %d: want 0 or more", r.Times)
	}
	if r.Delay < 0 || r.MaxDelay < 0 {
		return exitcode.Usagef("bad --retry-delay: want a positive duration such as 500ms or 2s")
	}
	return nil
}

// Backoff is the pause before try n+1 (n counts from 1).
func (r Retry) Backoff(n int) time.Duration {
	d := r.Delay
	if d <= 0 {
		d = DefaultRetryDelay
	}
	max := r.MaxDelay
	if max <= 0 {
		max = DefaultMaxRetryDelay
	}
	max = maxDur(max, d)
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

func maxDur(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// do calls dial until it succeeds, fails in a way another try cannot
// mend, runs out of tries, or ctx ends.
func (r Retry) do(ctx context.Context, ep Endpoint, dial func(context.Context, Endpoint) (net.Conn, error)) (net.Conn, error) {
	if err := r.Check(); err != nil {
		return nil, err
	}
	for n := 1; ; n++ {
		c, err := dial(ctx, ep)
		if err == nil || !r.Forever && n > r.Times || !Retryable(err) || ctx.Err() != nil {
			return c, err
		}
		wait := r.Backoff(n)
		if r.OnRetry != nil {
			r.OnRetry(n, err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, err
		}
	}
}

// Retryable reports whether another try of a failed connect may work:
// not for usage errors (bad flags, names -n forbids), TLS failures (the
// certificate will not change) or a WebSocket handshake the server
// refused; yes for refused, unreachable, timed out, reset, a serial port
// not there yet.
func Retryable(err error) bool {
	var (
		usage *exitcode.UsageError
		hs    *HandshakeError
	)
	switch {
	case errors.As(err, &usage), errors.As(err, &hs) && hs.Status != 0, errors.Is(err, context.Canceled):
		return false
	}
	return exitcode.Code(err) != exitcode.TLS
}

package talk

import (
	"context"
	"io"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/match"
	"github.com/sockit/sockit/internal/session"
)

// Expectation watches a conversation for what arrives to match a pattern
// (connect --expect): it ends the run as soon as the text received so far
// matches, or Wait after the input ended without a match.
type Expectation struct {
	s     *Setup
	m     *match.Matcher
	wait  time.Duration
	inEnd chan struct{}
	once  sync.Once

	mu       sync.Mutex
	c        *session.Conn
	cancel   context.CancelFunc
	matched  atomic.Bool
	timedOut atomic.Bool
}

// Outcome is how an expectation ended.
type Outcome uint8

const (
	Closed   Outcome = iota // the run ended (the peer closed) without a match
	Matched                 // what arrived matched
	TimedOut                // Wait passed after the input ended, without a match
)

// reasonMatched is the close reason of a conversation that ended because
// what arrived matched the expected pattern (its option: OptExpect).
const reasonMatched = "what arrived matched the expected pattern"

// Expect makes an expectation of re on the set-up's conversation, decoded
// with the receive encoding and capped as match.Regexp caps it, that gives
// up wait after the input ended. Call it before the conversation is
// opened.
func (s *Setup) Expect(re *regexp.Regexp, wait time.Duration) *Expectation {
	_, recv := s.Encodings()
	e := &Expectation{m: match.Regexp(re, recv, 0), wait: wait, inEnd: make(chan struct{}), s: s}
	s.Observe(Observer{Sink: e.observe})
	return e
}

func (e *Expectation) observe(ev *event.Event) {
	if ev.Kind != event.Data || ev.Dir != event.In || e.matched.Load() || !e.s.verified(ev.Data) {
		return
	}
	if e.m.Feed(ev.Data); e.m.Matched() {
		e.matched.Store(true)
		e.mu.Lock()
		c, cancel := e.c, e.cancel
		e.mu.Unlock()
		if c != nil {
			c.SetReasonAbout(OptExpect, reasonMatched)
		}
		if cancel != nil {
			cancel()
		}
	}
}

// Input wraps the conversation's input so that the wait starts when it
// ends.
func (e *Expectation) Input(r io.Reader) io.Reader { return &endReader{r: r, e: e} }

// Run runs the conversation c with run (pipe mode) until the expectation
// is decided, and says how. err is the run's, when it ended on its own
// without a match.
func (e *Expectation) Run(ctx context.Context, c *session.Conn, run func(ctx context.Context) error) (Outcome, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.mu.Lock()
	e.c, e.cancel = c, cancel
	e.mu.Unlock()
	if e.matched.Load() {
		cancel()
	}
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		select {
		case <-e.inEnd:
		case <-ctx.Done():
			return
		}
		t := time.NewTimer(e.wait)
		defer t.Stop()
		select {
		case <-t.C:
			if !e.matched.Load() {
				e.timedOut.Store(true)
				c.SetReasonAbout(OptWait, "no match for the expected pattern within "+e.wait.String()+" after the input ended")
				cancel()
			}
		case <-ctx.Done():
		}
	}()
	err := run(ctx)
	cancel()
	<-watchDone
	switch {
	case e.matched.Load():
		return Matched, nil
	case e.timedOut.Load():
		return TimedOut, nil
	}
	return Closed, err
}

// endReader tells the expectation when r reports the end of input.
type endReader struct {
	r io.Reader
	e *Expectation
}

// Ready lets the sender ask the input it wraps whether a read would wait.
func (r *endReader) Ready() bool { return session.Ready(r.r) }

func (r *endReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil {
		r.e.once.Do(func() { close(r.e.inEnd) })
	}
	return n, err
}

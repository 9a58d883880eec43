package talk

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/session"
)

// Redial connects a client again when its connection breaks, as --retry
// and --forever ask (socat's retry and forever, which socat applies to
// the first connect only; sockit also to a server that goes away later).
// Its Again is a session.Reconnect: pipe mode sets it on the Pipe, the
// interactive prompt and the web UI call it when their conversation's
// connection breaks.
//
// Each break starts a round of tries: the first at once, then after the
// Dialer's back-off (--retry-delay, doubled each time, at most 30s).
// --retry N gives up after N tries in a round, --forever never. A
// connection that breaks sooner than the first pause after it was made
// (a server that accepts and closes at once) does not end the round: the
// next try waits longer, as after a failed connect, rather than hammering
// the server. Every try is announced as a retry event before it is made.
type Redial struct {
	Dialer   *endpoint.Dialer // its Retry says how often and how long to wait
	Endpoint endpoint.Endpoint
	// Session is the options of conversation id (numbered on from the
	// first connection's); its Sink gets the retry events too.
	Session func(id uint64) session.Options
	// Connected, if set, is told of each new connection before its
	// conversation starts (-v prints a TLS server's certificate).
	Connected func(net.Conn)

	mu    sync.Mutex
	id    uint64    // the last conversation's number
	since time.Time // when the current connection was made
	tries int       // in the current round
}

// Redial is the Redial of a client conversation whose first connection,
// numbered 1, was made just now, or nil when the options ask for no
// reconnecting (neither --retry nor --forever). session gives the options
// of each conversation (Setup.Session, with the front end's additions).
func (s *Setup) Redial(session func(id uint64) session.Options) *Redial {
	if s.dialer == nil || !s.Reconnects() {
		return nil
	}
	return &Redial{Dialer: s.dialer, Endpoint: s.ep, Session: session, id: 1, since: time.Now()}
}

// Reconnects reports whether a client's broken connection is made again
// (--retry N or --forever).
func (s *Setup) Reconnects() bool {
	r := s.opt.Retry
	return s.opt.Role == Client && (r.Times > 0 || r.Forever)
}

// GaveUpError ends a conversation whose connection broke and could not be
// made again within --retry N tries. Err is the last try's failure, so
// the exit code is the failure's (3 for refused, 4 for a timeout).
type GaveUpError struct {
	Endpoint string
	Tries    int
	Err      error
}

func (e *GaveUpError) Error() string {
	return fmt.Sprintf("lost the connection to %s and gave up after %d %s to reconnect: %v", e.Endpoint, e.Tries, plural(e.Tries, "try", "tries"), e.Err)
}

func (e *GaveUpError) Unwrap() error { return e.Err }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Again makes the next connection after broken ended with why (nil or
// io.EOF: the server closed), trying as the Dialer's Retry says and
// announcing each try; it returns the new conversation, announced, or
// the error that ends the conversation: a GaveUpError, a failure another
// try cannot mend (TLS, bad input), or ctx's end.
func (r *Redial) Again(ctx context.Context, broken *session.Conn, why error) (*session.Conn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rt := r.Dialer.Retry
	if time.Since(r.since) >= rt.Backoff(1) && r.wasUp(broken) {
		r.tries = 0 // it was up a while: a new round
	}
	once := *r.Dialer
	once.Retry = endpoint.Retry{}
	proto := r.Endpoint.Proto()
	target := r.Endpoint.String()
	peer := r.Endpoint.Address()
	if broken != nil {
		peer = broken.Peer()
	}
	reason := "peer closed"
	if why != nil && why != io.EOF {
		reason = endpoint.Cause(why)
	}
	if broken != nil && broken.Reason() != "" {
		reason = broken.Reason()
	}
	var last error
	for {
		r.tries++
		if !rt.Forever && r.tries > rt.Times {
			if last == nil {
				last = why
			}
			return nil, &GaveUpError{Endpoint: target, Tries: rt.Times, Err: last}
		}
		wait := time.Duration(0)
		if r.tries > 1 {
			wait = rt.Backoff(r.tries - 1)
		}
		e := &event.Event{Kind: event.Retry, Time: time.Now(), Conn: r.id + 1, Proto: proto, Peer: peer,
			Attempt: r.tries, Wait: wait, Msg: r.describe(wait)}
		if last != nil {
			e.Err = endpoint.Cause(last)
		} else {
			e.Reason = reason
		}
		if sink := r.Session(r.id + 1).Sink; sink != nil {
			sink(e)
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
		}
		nc, err := once.Dial(ctx, r.Endpoint)
		if err == nil {
			r.id++
			r.since = time.Now()
			if r.Connected != nil {
				r.Connected(nc)
			}
			return session.New(nc, r.Session(r.id)), nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !endpoint.Retryable(err) {
			return nil, err
		}
		last = err
	}
}

// wasUp reports whether the broken connection reached its server, as
// far as can be told. A UDP socket is made at once whether or not anyone
// listens, and the ICMP refusal comes back only for a datagram sent: the
// server was there if something came back, or if a datagram went out
// before the one refused. Otherwise the socket was a failed try, however
// long it waited for its first datagram, and --retry N still gives up.
func (r *Redial) wasUp(broken *session.Conn) bool {
	if broken == nil || !r.Endpoint.IsUDP() {
		return true
	}
	in, _ := broken.Stats()
	return in > 0 || broken.Sent() > 1
}

// describe words a try for people: "reconnecting in 2s (try 3 of 5)".
func (r *Redial) describe(wait time.Duration) string {
	rt := r.Dialer.Retry
	of := ""
	if !rt.Forever {
		of = fmt.Sprintf(" of %d", rt.Times)
	}
	if wait == 0 {
		return fmt.Sprintf("reconnecting now (try %d%s)", r.tries, of)
	}
	return fmt.Sprintf("reconnecting in %s (try %d%s)", wait, r.tries, of)
}

// Dial makes a client's first connection, the one of conversation 1,
// trying it again as --retry and --forever say. When the conversation
// reconnects, each try again is a retry event of conversation 1 told to
// the observers, as Redial's tries after a break are, rather than the
// Dialer's own OnRetry: --json, the log and the prompt show every try
// the same way.
func (s *Setup) Dial(ctx context.Context) (net.Conn, error) {
	if !s.Reconnects() {
		return s.dialer.Dial(ctx, s.ep)
	}
	d := *s.dialer
	sink := s.Sink()
	proto, peer := s.ep.Proto(), s.ep.Address()
	d.Retry.OnRetry = func(n int, err error, wait time.Duration) {
		sink(&event.Event{Kind: event.Retry, Time: time.Now(), Conn: 1, Proto: proto, Peer: peer,
			Attempt: n, Wait: wait, Err: endpoint.Cause(err), Msg: retryingMsg(d.Retry, n, wait)})
	}
	return d.Dial(ctx, s.ep)
}

// retryingMsg words a try again of a first connect for people: "trying
// again in 2s (retry 3 of 5)".
func retryingMsg(rt endpoint.Retry, n int, wait time.Duration) string {
	of := ""
	if !rt.Forever {
		of = fmt.Sprintf(" of %d", rt.Times)
	}
	return fmt.Sprintf("trying again in %s (retry %d%s)", wait, n, of)
}

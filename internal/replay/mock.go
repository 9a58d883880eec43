package replay

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/session"
)

// Mock is a server made of a recording (replay --as server --match): it
// serves any number of clients at once and answers each request with what
// the recorded server answered that request, wherever it comes in the
// conversation, so clients may ask in any order.
//
// A request is matched by its bytes first: on a raw stream, what has
// arrived is answered as soon as it begins with a recorded request (the
// longest), and waited on while it is the start of one; with messages
// (framing, datagrams), the same a message at a time. What matches no
// recorded request is matched by Key, if set: the request's key (the first
// group of Key's match, or the whole match) must be a recorded request's
// key. A request that still matches nothing is reported (an error event
// on Sink), answered with Default, and counted; the conversation goes on.
//
// When the recording answered one request several times, a conversation
// gets the answers in the recorded order, and the last one from then on;
// each conversation starts from the first.
//
// Mock is a server.Handler: set its fields, then pass Handle to a
// server.Server; do not change them afterwards.
type Mock struct {
	Book   *Book
	Packet bool       // conversations are datagrams or WebSocket messages
	Frame  frame.Spec // the framing of stream conversations (the recorded one, or --frame)
	Key    *regexp.Regexp
	// Default answers requests that match nothing; nil answers nothing.
	Default []byte
	Timing  bool // pause before each answer as the recording did
	// Wait is how long the start of a request is waited on for the rest
	// of it, when no more arrives; 0 is 5s. Then what arrived is matched
	// by Key, or is unmatched.
	Wait time.Duration
	Sink event.Sink // error events for unmatched requests

	// Count ends the mock once this many conversations have ended (0:
	// never): Finished is called then.
	Count    int64
	Finished func()

	once  sync.Once
	ix    *index
	ixErr error

	requests  atomic.Int64
	unmatched atomic.Int64
	ended     atomic.Int64
}

// Prepare builds the mock's index of the book; Handle does it at its
// first call if need be. Call it to learn of a book that cannot be served
// in the mock's framing before a client comes.
func (m *Mock) Prepare() error {
	m.once.Do(func() {
		m.ix, m.ixErr = newIndex(m.Book, form{packet: m.Packet, spec: m.Frame}, m.Key, m.Timing)
	})
	return m.ixErr
}

// Requests is how many requests the mock was asked so far, and Unmatched
// how many of them matched nothing.
func (m *Mock) Requests() int64  { return m.requests.Load() }
func (m *Mock) Unmatched() int64 { return m.unmatched.Load() }

// Err is an error of kind fail.NoMatch when a request matched nothing, nil
// otherwise.
func (m *Mock) Err() error {
	n := m.unmatched.Load()
	if n == 0 {
		return nil
	}
	noun := "requests"
	if n == 1 {
		noun = "request"
	}
	return fail.Errorf(fail.NoMatch, "%d %s of %d matched nothing in the recording", n, noun, m.requests.Load())
}

// Handle is the handler: it answers c's requests until c ends.
func (m *Mock) Handle(ctx context.Context, c *session.Conn) error {
	err := m.handle(ctx, c)
	if m.Count > 0 && m.ended.Add(1) == m.Count {
		// The last conversation ends as it would have; what comes next
		// is the server's own end.
		var idle *session.IdleError
		switch {
		case err == nil:
			c.SetReason("peer closed")
		case errors.As(err, &idle):
			c.SetReason("idle timeout")
		}
		if m.Finished != nil {
			m.Finished()
		}
	}
	return err
}

func (m *Mock) handle(ctx context.Context, c *session.Conn) error {
	if err := m.Prepare(); err != nil {
		return err
	}
	cv := &conversation{ix: m.ix, used: map[*entry]*cursor{}}
	r := newReceiver(c)
	defer r.stop()
	if m.ix.greeting != nil {
		if err := m.send(ctx, c, cv.pick(m.ix.greeting)); err != nil {
			return err
		}
	}
	wait := m.Wait
	if wait <= 0 {
		wait = 5 * time.Second
	}
	timer := time.NewTimer(wait)
	timer.Stop()
	defer timer.Stop()
	take := func() bool {
		fed := false
		for {
			msg, ok := r.next()
			if !ok {
				return fed
			}
			cv.add(msg)
			fed = true
		}
	}
	for {
		if take() {
			if err := m.answer(ctx, c, cv, false); err != nil {
				return err
			}
			// The rest of a request is waited on for Wait after the
			// last bytes of it came.
			timer.Stop()
			if cv.pending() {
				timer.Reset(wait)
			}
		}
		select {
		case <-r.more:
		case <-timer.C:
			if err := m.answer(ctx, c, cv, true); err != nil {
				return err
			}
		case <-r.done:
			take()
			if err := m.answer(ctx, c, cv, false); err != nil {
				return err
			}
			if err := m.answer(ctx, c, cv, true); err != nil {
				return err
			}
			if r.err != nil {
				return r.err
			}
			var idle *session.IdleError
			if errors.As(r.end, &idle) {
				return r.end // the close event says "idle timeout"
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// answer answers every request that what arrived holds; whole says no
// more of it is coming.
func (m *Mock) answer(ctx context.Context, c *session.Conn, cv *conversation, whole bool) error {
	for {
		o, ok := cv.next(whole)
		if !ok {
			return nil
		}
		m.requests.Add(1)
		if o.matched {
			if err := m.send(ctx, c, o.reply); err != nil {
				return err
			}
			continue
		}
		m.unmatched.Add(1)
		if m.Sink != nil {
			m.Sink(&event.Event{Kind: event.Error, Time: time.Now(), Conn: c.ID(), Proto: c.Proto(), Local: c.Local(), Peer: c.Peer(),
				Err: "unmatched request " + quote(o.req, 0) + ": " + o.why, Option: string(o.opt)})
		}
		if len(m.Default) > 0 {
			var err error
			if m.ix.units {
				err = c.Write(m.Default)
			} else {
				err = c.WriteRaw(m.Default)
			}
			if err != nil {
				return err
			}
		}
	}
}

// send writes a recorded answer.
func (m *Mock) send(ctx context.Context, c *session.Conn, r *reply) error {
	if r == nil {
		return nil
	}
	for i, p := range r.out {
		if m.Timing && i < len(r.gaps) {
			if err := sleep(ctx, r.gaps[i]); err != nil {
				return err
			}
		}
		var err error
		if r.raw {
			err = c.WriteRaw(p)
		} else {
			err = c.Write(p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// conversation is what one client has sent and not had answered yet, and
// which answers it has had.
type conversation struct {
	ix   *index
	buf  []byte   // raw: the bytes; units: the messages, encoded by appendMsgs
	msgs [][]byte // units: the messages
	used map[*entry]*cursor
}

// cursor is where a conversation is in an entry's answers.
type cursor struct{ run, n int }

// outcome is what became of a request.
type outcome struct {
	matched bool
	reply   *reply      // matched: the answer (nil: nothing)
	req     []byte      // unmatched: the request
	why     string      // unmatched: why
	opt     fail.Option // unmatched: the option why is about, if any
}

// maxPending is the least a conversation holds while it waits for the
// rest of a request (the longest recorded request, if longer).
const maxPending = 64 << 10

// OptMatchKey is the option an unmatched request's error event is about
// when the key that should match it does not (its Option).
const OptMatchKey fail.Option = "match-key"

func (cv *conversation) add(msg []byte) {
	if cv.ix.units {
		cv.buf = appendMsgs(cv.buf, msg)
		cv.msgs = append(cv.msgs, msg)
		return
	}
	cv.buf = append(cv.buf, msg...)
}

// pending reports whether something arrived that is not answered yet.
func (cv *conversation) pending() bool { return len(cv.buf) > 0 }

// next decides about the first request in what arrived: ok is false when
// there is none, or when what arrived may be the start of one (unless
// whole says nothing more will come).
func (cv *conversation) next(whole bool) (outcome, bool) {
	ix := cv.ix
	if len(cv.buf) == 0 {
		return outcome{}, false
	}
	if e, n := ix.longestPrefix(cv.buf); e != nil {
		cv.consume(n, e.msgs)
		return outcome{matched: true, reply: cv.pick(e)}, true
	}
	whole = whole || len(cv.buf) > max(ix.longest, maxPending)
	if !whole && ix.couldBecome(cv.buf) {
		return outcome{}, false
	}
	// Not a recorded request: it ends where one begins, if one does.
	end, k := cv.boundary()
	text := cv.buf[:end]
	if ix.units {
		text = bytesJoin(cv.msgs[:k])
	}
	why, opt := "the recording has no such request", fail.Option("")
	if ix.key != nil {
		key, ok := keyOf(ix.key, text)
		switch {
		case !ok && !whole && end == len(cv.buf):
			return outcome{}, false // the key may be in what is still to come
		case !ok:
			why, opt = "the match key does not match it", OptMatchKey
		case ix.keyed[key] != nil:
			cv.consume(end, k)
			return outcome{matched: true, reply: cv.pick(ix.keyed[key])}, true
		default:
			why = fmt.Sprintf("the recording has no request with key %q", key)
		}
	}
	req := append([]byte(nil), text...)
	cv.consume(end, k)
	return outcome{req: req, why: why, opt: opt}, true
}

// boundary is where the first request of buf ends when buf does not begin
// with a recorded one: where, after its start, a recorded request begins
// or may begin; else the end of buf. k is how many messages that is.
func (cv *conversation) boundary() (end, k int) {
	ix := cv.ix
	at := func(i int) bool {
		rest := cv.buf[i:]
		if e, _ := ix.longestPrefix(rest); e != nil {
			return true
		}
		return ix.couldBecome(rest)
	}
	if !ix.units {
		for i := 1; i < len(cv.buf); i++ {
			if ix.first[cv.buf[i]] && at(i) {
				return i, 1
			}
		}
		return len(cv.buf), 1
	}
	i := 0
	for k = 0; k < len(cv.msgs); k++ {
		if k > 0 && at(i) {
			return i, k
		}
		i += encLen(len(cv.msgs[k]))
	}
	return len(cv.buf), len(cv.msgs)
}

func bytesJoin(msgs [][]byte) []byte {
	var b []byte
	for _, m := range msgs {
		b = append(b, m...)
	}
	return b
}

// consume drops the first n bytes of buf, which are k messages.
func (cv *conversation) consume(n, k int) {
	cv.buf = append(cv.buf[:0], cv.buf[n:]...)
	if cv.ix.units {
		cv.msgs = append(cv.msgs[:0], cv.msgs[k:]...)
	}
}

// pick is e's answer for this conversation: the next in order, or the
// last again.
func (cv *conversation) pick(e *entry) *reply {
	c := cv.used[e]
	if c == nil {
		c = &cursor{}
		cv.used[e] = c
	}
	r := e.runs[c.run].r
	c.n++
	if c.n >= e.runs[c.run].n && c.run < len(e.runs)-1 {
		c.run, c.n = c.run+1, 0
	}
	return r
}

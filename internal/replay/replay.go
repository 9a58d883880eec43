// Package replay plays back a conversation recorded with --record (or
// printed with --json): the messages one side sent are sent again, in
// order, optionally with the recorded pauses, and what arrives can be
// checked against what arrived then. Recording a session with a real
// device once and replaying it as a server makes a mock of that device;
// replaying it as a client tests a server against the recording.
//
// It works on a session.Conn and does not dial, listen or print.
package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/match"
	"github.com/sockit/sockit/internal/session"
)

// Role is the side a recording was made on, or the side to play.
type Role string

const (
	Client Role = "client"
	Server Role = "server"
)

// Step is one message of a script: one to send, or one to expect from the
// peer.
type Step struct {
	Send bool
	Data []byte
	At   time.Time // when it crossed the socket in the recording
}

// Script is one recorded conversation.
type Script struct {
	Conn     uint64
	Proto    string // tcp, udp, tls, unix, unixgram
	Frame    string // the recorded --frame; "" for raw streams and datagrams
	Recorded Role   // the side that made the recording: server if it has a listen event
	Steps    []Step // as the recording side saw them: Send is what it sent
}

// Load picks conversation conn out of a transcript (0: the first one that
// carried data) and turns its data events into steps.
func Load(recs []event.Record, conn uint64) (*Script, error) {
	l := NewLoader(conn)
	for _, r := range recs {
		if err := l.Add(r); err != nil {
			return nil, err
		}
	}
	return l.Script()
}

// A Loader is Load a record at a time, for transcripts streamed from a
// file: it keeps only the conversation it picks, so a transcript of any
// size loads in the memory of that conversation's data.
type Loader struct {
	s     Script
	conn  uint64
	found bool
	// Before the first data event picks the conversation (conn 0), the
	// connect events seen so far: their proto and framing.
	early map[uint64]event.Record
}

// NewLoader returns a Loader for conversation conn (0: the first one that
// carries data; data events without a conversation number are not one).
func NewLoader(conn uint64) *Loader {
	return &Loader{s: Script{Recorded: Client}, conn: conn, early: map[uint64]event.Record{}}
}

// Add reads one record of the transcript, in order.
func (l *Loader) Add(r event.Record) error {
	if r.Event == event.Listen {
		l.s.Recorded = Server
	}
	if l.conn == 0 {
		switch r.Event {
		case event.Connect:
			l.early[r.Conn] = event.Record{Proto: r.Proto, Frame: r.Frame}
			return nil
		case event.Data:
			if r.Conn == 0 {
				return nil // not part of a conversation (the UI's own sends)
			}
			l.conn = r.Conn
			if c, ok := l.early[r.Conn]; ok {
				l.s.Proto, l.s.Frame = c.Proto, c.Frame
			}
			l.early = nil
		default:
			return nil
		}
	}
	if r.Conn != l.conn {
		return nil
	}
	l.found = true
	switch r.Event {
	case event.Connect:
		l.s.Proto, l.s.Frame = r.Proto, r.Frame
	case event.Data:
		if l.s.Proto == "" {
			l.s.Proto = r.Proto
		}
		b, err := r.Bytes()
		if err != nil {
			return exitcode.Usagef("conversation %d: %v", l.conn, err)
		}
		l.s.Steps = append(l.s.Steps, Step{Send: r.Dir == event.Out, Data: b, At: r.T})
	}
	return nil
}

// Script returns the conversation, once every record was added.
func (l *Loader) Script() (*Script, error) {
	if l.conn == 0 {
		return nil, exitcode.Usagef("the transcript has no data events: nothing to replay")
	}
	if !l.found {
		return nil, exitcode.Usagef("the transcript has no conversation %d", l.conn)
	}
	s := l.s
	s.Conn = l.conn
	return &s, nil
}

// As returns the steps for playing role: the recording side's own steps,
// or for the other role the same steps with the directions swapped (a
// client's recording replayed as a server sends what the server sent).
func (s *Script) As(role Role) []Step {
	steps := make([]Step, len(s.Steps))
	copy(steps, s.Steps)
	if role != s.Recorded {
		for i := range steps {
			steps[i].Send = !steps[i].Send
		}
	}
	return steps
}

// Counts returns how many messages the steps send and expect.
func Counts(steps []Step) (send, expect int) {
	for _, st := range steps {
		if st.Send {
			send++
		} else {
			expect++
		}
	}
	return send, expect
}

// Player plays steps on a conversation.
type Player struct {
	Timing bool          // before each send, pause as long as the recording did
	Expect bool          // fail on the first message that differs from the recording
	Wait   time.Duration // how long to wait for each expected message; 0 is 5s
	// PerMessage compares message by message (framed streams, datagrams);
	// otherwise the byte stream is compared, each run of messages the peer
	// sent between two of ours as one, since a stream keeps no boundaries.
	PerMessage bool
	// Settle is how long to wait for the rest of a message once it is
	// known to differ, so the error shows it whole; 0 is 200ms.
	Settle time.Duration
}

// Play sends and expects the steps in order, then (on streams) shuts down
// its sending side and waits up to Wait for the peer to close. With Expect,
// the first difference is a *exitcode.MismatchError:
//
//	message 3: expected "PONG\r\n", got "ERR\r\n"
//
// Without it, what arrives only paces the sends.
func (p *Player) Play(ctx context.Context, c *session.Conn, steps []Step) error {
	wait := p.Wait
	if wait <= 0 {
		wait = 5 * time.Second
	}
	r := newReceiver(c)
	defer r.stop()

	n := 0 // expected messages so far, for error messages
	for i := 0; i < len(steps); {
		st := steps[i]
		if st.Send {
			if p.Timing && i > 0 && !st.At.IsZero() && !steps[i-1].At.IsZero() {
				if err := sleep(ctx, st.At.Sub(steps[i-1].At)); err != nil {
					return err
				}
			}
			if err := c.Write(st.Data); err != nil {
				return err
			}
			i++
			continue
		}
		want := st.Data
		j := i + 1
		if !p.PerMessage {
			for j < len(steps) && !steps[j].Send {
				want = append(append([]byte(nil), want...), steps[j].Data...)
				j++
			}
		}
		n++
		got, end, err := p.receive(ctx, r, want, wait)
		if err != nil {
			return err
		}
		if p.Expect && (end != "" || !bytes.Equal(got, want)) {
			return mismatch(n, want, got, end)
		}
		i = j
	}
	if c.Packet() {
		return nil
	}
	if err := c.CloseWrite(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	r.drain(ctx, wait)
	return nil
}

// receive waits for the next expected message: one message with
// PerMessage, else len(want) bytes of the stream. end, when not empty,
// says why fewer arrived.
func (p *Player) receive(ctx context.Context, r *receiver, want []byte, wait time.Duration) (got []byte, end string, err error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	if p.PerMessage {
		for {
			if msg, ok := r.next(); ok {
				return msg, "", nil
			}
			select {
			case <-r.more:
			case <-timer.C:
				return nil, "nothing within " + wait.String(), nil
			case <-ctx.Done():
				return nil, "", ctx.Err()
			case <-r.done:
				if msg, ok := r.next(); ok {
					return msg, "", nil
				}
				if r.err != nil {
					return nil, "", r.err
				}
				return nil, "the end of the connection", nil
			}
		}
	}
	settle := p.Settle
	if settle <= 0 {
		settle = 200 * time.Millisecond
	}
	m := match.Exact(want)
	differs := false
	for {
		r.feed(m)
		if m.Full() {
			return m.Got(), "", nil
		}
		if !differs && m.State() == match.Differs {
			// Wrong already: wait only a moment for the rest of it.
			differs = true
			timer.Reset(settle)
		}
		select {
		case <-r.more:
		case <-timer.C:
			if differs {
				return m.Got(), "", nil
			}
			return m.Got(), "nothing within " + wait.String(), nil
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case <-r.done:
			r.feed(m)
			if m.Full() || differs {
				return m.Got(), "", nil
			}
			if r.err != nil {
				return nil, "", r.err
			}
			return m.Got(), "the end of the connection", nil
		}
	}
}

// mismatch words the first difference.
func mismatch(n int, want, got []byte, end string) error {
	switch {
	case end != "" && len(got) == 0:
		return exitcode.Mismatchf("message %d: expected %s, got %s", n, quote(want, 0), end)
	case end != "":
		return exitcode.Mismatchf("message %d: expected %s, got %s and then %s", n, quote(want, 0), quote(got, 0), end)
	}
	at := 0
	for at < len(want) && at < len(got) && want[at] == got[at] {
		at++
	}
	msg := fmt.Sprintf("message %d: expected %s, got %s", n, quote(want, at), quote(got, at))
	if at > quoteMax/2 {
		msg += " (first difference at byte " + strconv.Itoa(at) + ")"
	}
	return &exitcode.MismatchError{Msg: msg}
}

const quoteMax = 64

// quote shows b as a Go string, cut to about quoteMax bytes around offset
// at (where the first difference is).
func quote(b []byte, at int) string {
	if len(b) <= quoteMax {
		return strconv.Quote(string(b))
	}
	start := max(0, min(at-quoteMax/2, len(b)-quoteMax))
	end := min(len(b), start+quoteMax)
	s := strconv.Quote(string(b[start:end]))
	if start > 0 {
		s = "…" + s
	}
	if end < len(b) {
		s += "…"
	}
	return s
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// receiver reads the conversation on its own goroutine and queues what
// arrives until the player takes it. It holds at most about maxQueued
// bytes: past that it stops reading until the player takes some, as a
// socket's reader would, so a peer that sends far more than the recording
// cannot grow it.
type receiver struct {
	c    *session.Conn
	more chan struct{} // a message arrived (capacity 1: a wake-up, not a count)
	room chan struct{} // the player took some (capacity 1)
	done chan struct{} // the reader ended; err says why
	quit chan struct{}
	err  error

	mu     sync.Mutex
	queue  [][]byte // messages as they arrived; the first may be partly taken
	queued int      // bytes in queue
}

// maxQueued is how much the receiver holds before it stops reading.
const maxQueued = 1 << 20

func newReceiver(c *session.Conn) *receiver {
	r := &receiver{c: c, more: make(chan struct{}, 1), room: make(chan struct{}, 1), done: make(chan struct{}), quit: make(chan struct{})}
	go r.run()
	return r
}

func (r *receiver) run() {
	defer close(r.done)
	for {
		msg, err := r.c.Read()
		if err != nil {
			var idle *session.IdleError
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.As(err, &idle) && !errors.Is(err, os.ErrDeadlineExceeded) {
				r.err = err
			}
			return
		}
		r.mu.Lock()
		r.queue = append(r.queue, bytes.Clone(msg))
		r.queued += len(msg)
		full := r.queued >= maxQueued
		r.mu.Unlock()
		wake(r.more)
		for full {
			select {
			case <-r.room:
			case <-r.quit:
				return
			}
			r.mu.Lock()
			full = r.queued >= maxQueued
			r.mu.Unlock()
		}
		select {
		case <-r.quit:
			return
		default:
		}
	}
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// next takes the next message, whole or what is left of it.
func (r *receiver) next() ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) == 0 {
		return nil, false
	}
	m := r.queue[0]
	r.queue = r.queue[1:]
	r.queued -= len(m)
	wake(r.room)
	return m, true
}

// feed gives what is queued to m until m has all it expects; what m does
// not take stays queued for the next expectation.
func (r *receiver) feed(m *match.Matcher) {
	r.mu.Lock()
	defer r.mu.Unlock()
	took := false
	for len(r.queue) > 0 && !m.Full() {
		head := r.queue[0]
		n := m.Feed(head)
		r.queued -= n
		took = true
		if n == len(head) {
			r.queue = r.queue[1:]
		} else {
			r.queue[0] = head[n:]
		}
	}
	if took {
		wake(r.room)
	}
}

// discard drops everything queued.
func (r *receiver) discard() {
	r.mu.Lock()
	r.queue, r.queued = nil, 0
	r.mu.Unlock()
	wake(r.room)
}

// drain waits up to wait for the peer to close, discarding what it sends.
func (r *receiver) drain(ctx context.Context, wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-r.more:
			r.discard()
		case <-t.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// stop ends the reader: closing the connection unblocks its Read.
func (r *receiver) stop() {
	close(r.quit)
	r.c.NetConn().Close()
	<-r.done
}

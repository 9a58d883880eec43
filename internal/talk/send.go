package talk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/match"
	"github.com/sockit/sockit/internal/session"
)

// The options a one-shot send's errors name (see fail.Option).
const (
	OptFile  fail.Option = "file"
	OptCount fail.Option = "count"
)

// Payload is what a one-shot send sends (sockit send): bytes given whole,
// or a stream (a file, stdin) read a line or a chunk at a time so that
// its size does not matter.
type Payload struct {
	Name  string    // the front end's name for it, in messages: "stdin", "--file big.bin"
	Data  []byte    // given whole; nil for a stream
	R     io.Reader // a stream, when Data is nil
	File  *os.File  // R, when it is a regular file that can be read again (Count > 1); nil otherwise
	Count int       // how many times it is sent; 0 is once
}

// Sending is a payload checked and ready to send on the set-up's
// conversation: what must be one message (a datagram, a length prefix or
// a fixed size, a checksum over it) read whole, up to the largest
// message, and the first line of a stream checked, before any socket
// opens.
type Sending struct {
	s     *Setup
	p     Payload
	whole []byte    // the one message's input, when it is one message
	data  []byte    // the payload, or a stream held to be sent Count times
	r     io.Reader // a stream, read as it is sent
	start int64     // where File started
	lines bool      // each line is one message (composed, or framed)
	eol   bool      // a line end was asked for: every line ends with one, the last too

	mu       sync.Mutex
	re       *match.Matcher
	matched  chan struct{}
	replied  chan struct{}
	arrived  chan struct{}
	mOnce    sync.Once
	rOnce    sync.Once
	observed bool
}

// Prepare checks p and readies it for sending; it reads what must be held
// whole, and of a stream its first line (later bad lines end the send
// when they come, after what came before them was sent).
func (s *Setup) Prepare(p Payload) (*Sending, error) {
	if p.Count < 1 {
		p.Count = 1
	}
	x := &Sending{s: s, p: p, data: p.Data, r: p.R, eol: s.opt.Input.EOL != ""}
	if p.File != nil {
		if off, err := p.File.Seek(0, io.SeekCurrent); err == nil && isRegular(p.File) {
			x.start = off
		} else {
			x.p.File = nil // a pipe or terminal cannot be read twice
		}
	}
	limit := s.opt.MaxMessage
	if limit <= 0 {
		limit = frame.DefaultMax
	}
	spec := s.spec
	oneMessage := s.ep.Messages() || spec.Kind == frame.Fixed || spec.Kind >= frame.Len8 || s.opt.Input.Checksum != ""
	if oneMessage || (x.r != nil && x.p.File == nil && p.Count > 1) {
		// Read it whole, but never more than one message can hold.
		if x.r != nil {
			b, err := io.ReadAll(io.LimitReader(x.r, int64(limit)+1))
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", p.Name, err)
			}
			if len(b) > limit {
				e := fail.Inputf("%s is longer than %s (%d bytes): on %s it is one message", p.Name, OptMaxMessage, limit, s.ep.Scheme)
				if !oneMessage {
					e = fail.Inputf("%s is longer than %s (%d bytes): %s sends it again, so it must be held", p.Name, OptMaxMessage, limit, OptCount)
				}
				return nil, e.WithHint("Note that a file (%s) is streamed, however large, and %s raises the limit.", OptFile, OptMaxMessage)
			}
			x.data, x.r = b, nil
		}
		if oneMessage {
			x.whole = x.data
			if x.eol && !bytes.HasSuffix(x.whole, []byte("\n")) {
				x.whole = append(x.whole, '\n') // the line end asked for goes there
			}
			// Bad input is bad input before any socket opens.
			if err := s.compose.Check(x.whole); err != nil {
				return nil, err
			}
			return x, nil
		}
	}
	x.lines = s.Lines()
	if !x.lines {
		return x, nil // bytes as they are: nothing to check
	}
	if x.r == nil {
		// Given whole (or held for Count): check every line now.
		for rest := x.lineEnded(x.data); len(rest) > 0; {
			line := rest
			if i := bytes.IndexByte(rest, '\n'); i >= 0 {
				line = rest[:i+1]
			}
			if err := s.compose.Check(line); err != nil {
				return nil, err
			}
			rest = rest[len(line):]
		}
		return x, nil
	}
	// A stream: its first line is checked now.
	head, err := readFirstLine(x.r, 16<<20)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p.Name, err)
	}
	if len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line = head[:i+1]
		} else if x.eol {
			line = append(bytes.Clone(line), '\n')
		}
		if err := s.compose.Check(line); err != nil {
			return nil, err
		}
	}
	x.r = &prefixReader{head: head, r: x.r}
	return x, nil
}

func isRegular(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode().IsRegular()
}

// lineEnded is b with a final "\n" when a line end was asked for, so that
// the last line ends with one too.
func (x *Sending) lineEnded(b []byte) []byte {
	if x.eol && len(b) > 0 && b[len(b)-1] != '\n' {
		return append(bytes.Clone(b), '\n')
	}
	return b
}

// Expect makes the replies count as matched once the text received so
// far (decoded with the receive encoding, capped as match.Regexp caps it)
// matches re. Call it before the conversation is opened.
func (x *Sending) Expect(re *regexp.Regexp) {
	_, recv := x.s.Encodings()
	x.re = match.Regexp(re, recv, 0)
}

// observe watches what comes back: a signal per reply (to restart the
// wait), and the expectation fed each reply once.
func (x *Sending) observe() {
	x.matched, x.replied, x.arrived = make(chan struct{}), make(chan struct{}), make(chan struct{}, 1)
	x.s.Observe(Observer{Sink: func(e *event.Event) {
		if e.Kind != event.Data || e.Dir != event.In {
			return
		}
		x.rOnce.Do(func() { close(x.replied) })
		select {
		case x.arrived <- struct{}{}:
		default:
		}
		if x.re != nil && x.s.verified(e.Data) {
			if x.re.Feed(e.Data); x.re.Matched() {
				x.mOnce.Do(func() { close(x.matched) })
			}
		}
	}})
}

// Observe readies the watch on replies; call it after Expect and before
// the conversation is opened, so that its conversation reports to it.
func (x *Sending) Observe() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.observed {
		x.observed = true
		x.observe()
	}
}

// Exchange says how a one-shot send goes once its conversation is open.
type Exchange struct {
	Interval time.Duration // between the Count sends
	Shutdown bool          // after sending, shut down the write side
	Wait     time.Duration // after sending, wait this long for replies (each reply restarts it); 0 does not wait
	// Progress returns, for total bytes about to be sent from a file or
	// as one message, a callback with the bytes sent so far (nil to show
	// nothing) and a function that clears what it drew. nil shows nothing.
	Progress func(total int64) (update func(int64), clear func())
	// PeerClosed, if set, is told when the peer closed before all was
	// sent, with the close reason so far (why input was left unsent, or
	// ""), before the wait for replies.
	PeerClosed func(reason string)
}

// Result is how a one-shot send ended.
type Result struct {
	Replied bool // something came back
	Matched bool // what came back matched Expect's pattern
}

// Run sends the payload Count times on c, then reads what comes back
// until the peer closes, the expectation matches, or Wait passes with
// nothing new; then it closes c. The error is the conversation's (a
// refusal, a reset), not a mismatch: Result says how it ended.
func (x *Sending) Run(ctx context.Context, c *session.Conn, ex Exchange) (Result, error) {
	x.Observe()
	var res Result
	var readErr error
	readDone := make(chan struct{}) // closed when the peer closed or failed; readErr says which
	go func() {
		defer close(readDone)
		for {
			if _, err := c.Read(); err != nil {
				readErr = err
				return
			}
		}
	}()
	// finish closes c (with why, for its close event) and returns err.
	finish := func(why, err error) (Result, error) {
		c.Close(why)
		<-readDone
		res.Replied, res.Matched = isClosed(x.replied), isClosed(x.matched)
		return res, err
	}
	closedEarly := func() error {
		return fmt.Errorf("peer closed before all %d messages were sent: %w", x.p.Count, endOr(readErr))
	}

	peerClosed := false
	for i := 0; i < x.p.Count; i++ {
		if peerClosed {
			return finish(nil, closedEarly())
		}
		if i > 0 && ex.Interval > 0 {
			select {
			case <-time.After(ex.Interval):
			case <-ctx.Done():
				return finish(ctx.Err(), ctx.Err())
			case <-readDone:
				return finish(readErr, closedEarly())
			}
		}
		var err error
		if peerClosed, err = x.send(ctx, c, i, readDone, &readErr, ex.Progress); err != nil {
			return finish(err, err)
		}
	}
	if peerClosed {
		if ex.PeerClosed != nil {
			ex.PeerClosed(c.Reason())
		}
	} else if ex.Shutdown {
		c.CloseWrite()
	}
	err := x.await(ctx, ex.Wait, readDone, &readErr)
	switch {
	case err != nil:
	case isClosed(x.matched):
		c.SetReasonAbout(OptExpect, reasonMatched)
	case isClosed(readDone):
	case ex.Wait > 0:
		c.SetReasonAbout(OptWait, "no more replies within "+ex.Wait.String())
	default:
		c.SetReasonAbout(OptWait, "sent, without waiting for replies")
	}
	return finish(err, err)
}

// send sends the payload once (round i). peerClosed says the peer shut
// down its side meanwhile: the input that was ready went out (a FIN ends
// only the peer's sending) and the conversation's reason says if any did
// not.
func (x *Sending) send(ctx context.Context, c *session.Conn, i int, readDone <-chan struct{}, readErr *error, progress func(int64) (func(int64), func())) (peerClosed bool, err error) {
	compose := x.s.compose
	if x.whole != nil {
		msg, err := compose.Message(nil, x.whole, c.Peer())
		if err != nil {
			return false, err
		}
		return false, x.writeWhole(c, msg, progress)
	}
	var r io.Reader
	switch {
	case x.r == nil:
		r = bytes.NewReader(x.lineEnded(x.data))
	case i == 0:
		r = x.r
	default:
		if _, err := x.p.File.Seek(x.start, io.SeekStart); err != nil {
			return false, fmt.Errorf("read %s again for %s: %w", x.p.Name, OptCount, err)
		}
		r = x.p.File
	}
	if x.eol && x.r != nil {
		r = &eolReader{r: r}
	}
	snd := &session.Sender{In: r, Lines: x.lines, Delay: x.s.opt.Delay}
	if x.lines {
		snd.Compose = func(dst, line []byte) ([]byte, error) { return compose.Message(dst, line, c.Peer()) }
	}
	if f, ok := r.(*os.File); ok && progress != nil && isRegular(f) {
		fi, _ := f.Stat()
		off, _ := f.Seek(0, io.SeekCurrent)
		var clear func()
		snd.Progress, clear = progress(fi.Size() - off)
		defer clear()
	}
	done := make(chan error, 1)
	go func() { done <- snd.Run(c) }()
	select {
	case err := <-done:
		return false, err
	case <-ctx.Done():
		return false, ctx.Err()
	case <-readDone:
		if err := *readErr; err != nil && !errors.Is(err, io.EOF) {
			return true, err
		}
		return true, snd.Finish(ctx, c, done)
	}
}

// writeWhole sends one message that was read whole; a large one on a
// raw stream goes in pieces of 1 MiB, so that progress can be shown.
func (x *Sending) writeWhole(c *session.Conn, msg []byte, progress func(int64) (func(int64), func())) error {
	raw := x.s.spec.IsRaw() && !c.Packet()
	if progress == nil || !raw {
		return c.Write(msg)
	}
	update, clear := progress(int64(len(msg)))
	defer clear()
	if update == nil {
		return c.Write(msg)
	}
	for off := 0; off < len(msg); {
		end := min(off+1<<20, len(msg))
		if err := c.WriteRaw(msg[off:end]); err != nil {
			return err
		}
		off = end
		update(int64(off))
	}
	return nil
}

// await waits until the peer closes, the expectation matches, or wait
// passes without anything new arriving.
func (x *Sending) await(ctx context.Context, wait time.Duration, readDone <-chan struct{}, readErr *error) error {
	if wait <= 0 {
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-x.matched:
			return nil
		case <-x.arrived:
			// Each reply restarts the wait, so a reply in several pieces
			// is read whole.
			timer.Reset(wait)
		case <-readDone:
			if err := *readErr; !errors.Is(err, io.EOF) {
				return err
			}
			return nil
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func endOr(err error) error {
	if err == nil {
		return io.EOF
	}
	return err
}

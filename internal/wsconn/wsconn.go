// Package wsconn turns WebSocket connections (github.com/coder/websocket)
// into net.Conns that keep message boundaries: each Read returns one
// message (or the rest of one that did not fit), each Write sends one. It
// also turns an HTTP server's upgrades into a net.Listener, so that a
// ws:// server is accepted like any other stream listener, one WebSocket
// one conversation.
//
// It does not pick endpoints, certificates or sockets: package endpoint
// dials and listens, and hands this package the connections.
package wsconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// DefaultMaxMessage is the largest message read unless Options says
// otherwise (coder/websocket's own default is 32 KiB, too small for a
// debugging tool).
const DefaultMaxMessage = 16 << 20

// Options configure a Conn.
type Options struct {
	Binary     bool          // send every message as binary; otherwise text when it is valid UTF-8, binary when not
	MaxMessage int64         // largest message accepted, 0 for DefaultMaxMessage
	Ping       time.Duration // send a ping this often and close if no pong comes back within it; 0 never
	Logf       func(format string, args ...any)
}

// Conn is a WebSocket as a message-preserving net.Conn.
type Conn struct {
	ws            *websocket.Conn
	opt           Options
	local, remote net.Addr
	proto         string // negotiated subprotocol

	msgs chan []byte   // from the reader goroutine, one message each
	done chan struct{} // closed when the reader goroutine ends
	rerr error         // why the reader ended; read after done is closed

	rmu sync.Mutex // one Read at a time (they share cur)
	cur []byte     // the unread rest of the current message

	jobs chan writeJob // to the writer goroutine, which writes one message at a time

	rd, wd deadline

	closeOnce sync.Once
	closing   chan struct{}
	mu        sync.Mutex
	peerClose string // "1000 (normal closure)", once the peer sent a close frame
}

// New wraps ws, whose transport has the given addresses, and starts the
// goroutine that reads it (a WebSocket must always be read, for its
// control frames to be answered). Close ends it.
func New(ws *websocket.Conn, local, remote net.Addr, opt Options) *Conn {
	if opt.MaxMessage <= 0 {
		opt.MaxMessage = DefaultMaxMessage
	}
	ws.SetReadLimit(opt.MaxMessage)
	c := &Conn{
		ws: ws, opt: opt, local: local, remote: remote, proto: ws.Subprotocol(),
		msgs:    make(chan []byte),
		done:    make(chan struct{}),
		jobs:    make(chan writeJob),
		closing: make(chan struct{}),
	}
	c.rd.init()
	c.wd.init()
	go c.readLoop()
	go c.writeLoop()
	if opt.Ping > 0 {
		go c.pingLoop()
	}
	return c
}

func (c *Conn) logf(format string, args ...any) {
	if c.opt.Logf != nil {
		c.opt.Logf(format, args...)
	}
}

func (c *Conn) readLoop() {
	defer close(c.done)
	for {
		typ, p, err := c.ws.Read(context.Background())
		if err != nil {
			c.rerr = c.readErr(err)
			return
		}
		c.logf("websocket: %s message <- %d bytes", typeName(typ), len(p))
		select {
		case c.msgs <- p:
		case <-c.closing:
			c.rerr = net.ErrClosed
			return
		}
	}
}

func typeName(t websocket.MessageType) string {
	if t == websocket.MessageText {
		return "text"
	}
	return "binary"
}

// readErr words why reading ended: a normal close by the peer is io.EOF,
// any other close code a *CloseError, our own close net.ErrClosed.
func (c *Conn) readErr(err error) error {
	select {
	case <-c.closing:
		return net.ErrClosed
	default:
	}
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		desc := describe(ce)
		c.mu.Lock()
		c.peerClose = desc
		c.mu.Unlock()
		c.logf("websocket: close frame received: %s", desc)
		switch ce.Code {
		case websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusNoStatusRcvd:
			return io.EOF
		}
		return &CloseError{Code: int(ce.Code), Reason: ce.Reason}
	}
	if errors.Is(err, websocket.ErrMessageTooBig) {
		return fmt.Errorf("a message is larger than %d bytes (the limit; the connection was closed with 1009): %w", c.opt.MaxMessage, err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		// The TCP connection ended without a close frame.
		return &CloseError{Code: int(websocket.StatusAbnormalClosure), Reason: "the connection ended without a close frame"}
	}
	return err
}

func describe(ce websocket.CloseError) string {
	s := strconv.Itoa(int(ce.Code)) + " (" + statusName(ce.Code) + ")"
	if ce.Reason != "" {
		s += " " + strconv.Quote(ce.Reason)
	}
	return s
}

func statusName(code websocket.StatusCode) string {
	switch code {
	case 1000:
		return "normal closure"
	case 1001:
		return "going away"
	case 1002:
		return "protocol error"
	case 1003:
		return "unsupported data"
	case 1005:
		return "no status"
	case 1006:
		return "abnormal closure"
	case 1007:
		return "invalid data"
	case 1008:
		return "policy violation"
	case 1009:
		return "message too big"
	case 1010:
		return "extension required"
	case 1011:
		return "internal error"
	case 1012:
		return "service restart"
	case 1013:
		return "try again later"
	case 1015:
		return "TLS handshake failure"
	}
	return "code " + strconv.Itoa(int(code))
}

// CloseError is the peer closing the WebSocket with a code other than
// normal closure or going away.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return "the peer closed the WebSocket with " + describe(websocket.CloseError{Code: websocket.StatusCode(e.Code), Reason: e.Reason})
}

// Unwrap makes the close count as broken by the peer (exit 6).
func (e *CloseError) Unwrap() error { return io.ErrUnexpectedEOF }

// PeerClose describes the close frame the peer sent ("1000 (normal
// closure)"), or "" when it sent none (yet).
func (c *Conn) PeerClose() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peerClose
}

// Subprotocol is the subprotocol the server chose, "" for none.
func (c *Conn) Subprotocol() string { return c.proto }

// PreservesMessages marks the conn as one whose reads are whole messages.
func (c *Conn) PreservesMessages() bool { return true }

// MessageRemaining is how many bytes of the current message the last
// Read left unread (they come without waiting).
func (c *Conn) MessageRemaining() int {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return len(c.cur)
}

// Read returns the next message, or as much of it as fits in p (the rest
// comes with the next Read).
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	select {
	case <-c.closing:
		return 0, net.ErrClosed
	default:
	}
	if len(c.cur) == 0 {
		select {
		case m := <-c.msgs:
			c.cur = m
		case <-c.done:
			// A message may have been handed over just before the end.
			select {
			case m := <-c.msgs:
				c.cur = m
			default:
				return 0, c.rerr
			}
		case <-c.rd.wait():
			return 0, timeout("read")
		case <-c.closing:
			return 0, net.ErrClosed
		}
		if len(c.cur) == 0 {
			return 0, nil // an empty message
		}
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

// writeJob is one message for the writer goroutine.
type writeJob struct {
	typ  websocket.MessageType
	p    []byte
	done chan error // capacity 1: the writer never waits on it
}

// writeLoop writes the messages Write hands it, in order, until Close.
// Writes happen here, without a deadline, because coder/websocket ends a
// connection whose write context expires: a Write whose deadline passes
// returns a timeout and its message still goes out whole, after which
// the connection goes on.
func (c *Conn) writeLoop() {
	for {
		select {
		case j := <-c.jobs:
			j.done <- c.ws.Write(context.Background(), j.typ, j.p)
		case <-c.closing:
			return
		}
	}
}

// Write sends p as one message. If the write deadline passes first, it
// returns a timeout; the message, already handed over, is still sent.
func (c *Conn) Write(p []byte) (int, error) {
	select {
	case <-c.closing:
		return 0, net.ErrClosed
	case <-c.wd.wait():
		return 0, timeout("write")
	default:
	}
	typ := websocket.MessageBinary
	if !c.opt.Binary && utf8.Valid(p) {
		typ = websocket.MessageText
	}
	j := writeJob{typ: typ, p: append([]byte(nil), p...), done: make(chan error, 1)}
	select {
	case c.jobs <- j:
	case <-c.closing:
		return 0, net.ErrClosed
	case <-c.wd.wait():
		return 0, timeout("write")
	}
	select {
	case err := <-j.done:
		if err != nil {
			return 0, c.writeErr(err)
		}
	case <-c.closing:
		return 0, net.ErrClosed
	case <-c.wd.wait():
		return 0, timeout("write")
	}
	c.logf("websocket: %s message -> %d bytes", typeName(typ), len(p))
	return len(p), nil
}

func (c *Conn) writeErr(err error) error {
	select {
	case <-c.closing:
		return net.ErrClosed
	case <-c.done:
		if c.rerr != nil && !errors.Is(c.rerr, net.ErrClosed) {
			return &net.OpError{Op: "write", Net: "websocket", Addr: c.remote, Err: c.rerr}
		}
	default:
	}
	return &net.OpError{Op: "write", Net: "websocket", Addr: c.remote, Err: err}
}

func (c *Conn) pingLoop() {
	t := time.NewTicker(c.opt.Ping)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-c.done:
			return
		case <-c.closing:
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.opt.Ping)
		start := time.Now()
		err := c.ws.Ping(ctx)
		cancel()
		if err != nil {
			c.logf("websocket: no pong within %s: closing", c.opt.Ping)
			c.ws.Close(websocket.StatusPolicyViolation, "no pong")
			return
		}
		c.logf("websocket: ping -> pong in %s", time.Since(start).Round(time.Microsecond))
	}
}

// Close sends a normal-closure close frame (unless the peer already
// closed) and ends the connection. It does not wait more than a second
// for the peer's answering close frame.
func (c *Conn) Close() error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		close(c.closing)
	})
	if !first {
		return net.ErrClosed
	}
	select {
	case <-c.done:
		c.ws.CloseNow()
		return nil
	default:
	}
	c.logf("websocket: sending close frame 1000 (normal closure)")
	closed := make(chan struct{})
	go func() {
		c.ws.Close(websocket.StatusNormalClosure, "")
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(time.Second):
		c.ws.CloseNow()
		<-closed
	}
	<-c.done
	return nil
}

func (c *Conn) LocalAddr() net.Addr  { return c.local }
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

func (c *Conn) SetDeadline(t time.Time) error {
	c.rd.set(t)
	c.wd.set(t)
	return nil
}
func (c *Conn) SetReadDeadline(t time.Time) error  { c.rd.set(t); return nil }
func (c *Conn) SetWriteDeadline(t time.Time) error { c.wd.set(t); return nil }

// timeout is the error of a deadline that passed: os.ErrDeadlineExceeded,
// a net.Error whose Timeout is true.
func timeout(op string) error {
	return &net.OpError{Op: op, Net: "websocket", Err: os.ErrDeadlineExceeded}
}

// deadline is a settable point in time whose passing closes a channel.
type deadline struct {
	mu    sync.Mutex
	t     time.Time
	timer *time.Timer
	ch    chan struct{}
}

func (d *deadline) init() { d.ch = make(chan struct{}) }

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	select {
	case <-d.ch:
		d.ch = make(chan struct{})
	default:
	}
	d.t = t
	if t.IsZero() {
		return
	}
	if dur := time.Until(t); dur > 0 {
		d.timer = time.AfterFunc(dur, d.expire)
		return
	}
	close(d.ch)
}

// expire closes the channel if the deadline has passed: a timer that
// fires while set moves the deadline finds it moved, and leaves it.
func (d *deadline) expire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.t.IsZero() || time.Now().Before(d.t) {
		return
	}
	select {
	case <-d.ch:
	default:
		close(d.ch)
	}
}

func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ch
}

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
	cur  []byte        // the unread rest of the current message

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
		closing: make(chan struct{}),
	}
	c.rd.init()
	c.wd.init()
	go c.readLoop()
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
func (c *Conn) MessageRemaining() int { return len(c.cur) }

// Read returns the next message, or as much of it as fits in p (the rest
// comes with the next Read).
func (c *Conn) Read(p []byte) (int, error) {
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
			return 0, os.ErrDeadlineExceeded
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

// Write sends p as one message.
func (c *Conn) Write(p []byte) (int, error) {
	select {
	case <-c.closing:
		return 0, net.ErrClosed
	default:
	}
	typ := websocket.MessageBinary
	if !c.opt.Binary && utf8.Valid(p) {
		typ = websocket.MessageText
	}
	ctx, cancel := c.wd.context()
	defer cancel()
	if err := c.ws.Write(ctx, typ, p); err != nil {
		if ctx.Err() != nil {
			return 0, os.ErrDeadlineExceeded
		}
		select {
		case <-c.done:
			if c.rerr != nil && !errors.Is(c.rerr, net.ErrClosed) {
				return 0, c.rerr
			}
		default:
		}
		return 0, err
	}
	c.logf("websocket: %s message -> %d bytes", typeName(typ), len(p))
	return len(p), nil
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
		return nil
	}
	select {
	case <-c.done:
		return c.ws.CloseNow()
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

// context is a context that ends at the deadline (a write past it gives
// up; coder/websocket then closes the connection, as a failed write
// leaves a WebSocket in no state to go on).
func (d *deadline) context() (context.Context, context.CancelFunc) {
	d.mu.Lock()
	t := d.t
	d.mu.Unlock()
	if t.IsZero() {
		return context.WithCancel(context.Background())
	}
	return context.WithDeadline(context.Background(), t)
}

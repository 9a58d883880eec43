// Package session is one conversation with one peer: a TCP, TLS or Unix
// stream connection, or one remote address of a UDP socket. A Conn reads
// whole messages (by the framing asked for), writes messages, half-closes,
// keeps byte counts and reports every step as an event.
//
// When nobody observes the data (no Sink), a Conn stays out of the way:
// NetConn gives the bare connection so callers can io.Copy and let the
// kernel splice.
package session

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/frame"
)

// Options configure a Conn. The zero value reads raw chunks and observes
// nothing.
type Options struct {
	ID          uint64
	Proto       string        // tcp, udp, tls, unix, unixgram
	Frame       frame.Spec    // message framing on streams; ignored for datagrams
	MaxMessage  int           // largest framed message, 0 for frame.DefaultMax
	Sink        event.Sink    // nil: no data events
	IdleTimeout time.Duration // close after this long with no traffic either way; 0 never
	Packet      bool          // each Read of the connection is one datagram
	BufSize     int           // raw read buffer, 0 for 64 KiB
	Tap         io.Writer     // gets every byte delivered, framing included (-o FILE, pipe stdout): see SetTap
	// NoData makes Sink a log of connection events only (connect, close):
	// no data events are built, so the conversation stays on the fast path
	// (a server's stderr log, relay without --log).
	NoData bool
	// Accepted says a server accepted the connection; otherwise this side
	// dialed it, and a reset before any byte arrived is reported as the
	// server's refusal (endpoint.Refusal).
	Accepted bool
	// Unannounced leaves the connect event to Announce, so that a server
	// can list the conversation first: whoever reads the event (a log
	// line, a page) and then asks for the server's conversations finds
	// it there.
	Unannounced bool
}

// Conn is one conversation.
type Conn struct {
	nc     net.Conn
	id     uint64
	proto  string
	local  string
	peer   string
	sink   event.Sink
	noData bool
	frame  frame.Spec
	packet bool
	dec    *frame.Decoder
	buf    []byte
	idle   time.Duration
	tap    io.Writer
	// tapErr is set by the reading goroutine and read by the owner, who
	// may look while a read is still under way (a run cancelled because
	// the tap's output failed).
	tapMu  sync.Mutex
	tapErr error

	accepted bool
	shut     atomic.Bool // CloseWrite was called

	bufSize int // of buf, made at the first Read

	lastWrite atomic.Int64 // unix nanoseconds
	in, out   atomic.Int64
	sent      atomic.Int64 // writes that went out whole

	wmu  sync.Mutex
	wbuf []byte

	closeOnce sync.Once
	reason    atomic.Pointer[reason]
	emu       sync.Mutex // orders data events before the close event
	ended     bool       // the close event was emitted (under emu)
}

// New wraps nc and emits the connect event (unless opt.Unannounced).
func New(nc net.Conn, opt Options) *Conn {
	c := &Conn{
		nc:     nc,
		id:     opt.ID,
		proto:  opt.Proto,
		sink:   opt.Sink,
		noData: opt.NoData,
		frame:  opt.Frame,
		// A WebSocket or DTLS conn keeps message boundaries as a
		// datagram socket does, whoever made the conversation.
		packet: opt.Packet || endpoint.PreservesMessages(nc),
		idle:   opt.IdleTimeout,
		tap:    opt.Tap,

		accepted: opt.Accepted,
	}
	if a := nc.LocalAddr(); a != nil {
		c.local = a.String()
	}
	if a := nc.RemoteAddr(); a != nil {
		c.peer = a.String()
	}
	if c.peer == "" || c.peer == "@" {
		c.peer = "unix:" + c.local
	}
	if !c.packet && !opt.Frame.IsRaw() {
		c.dec = frame.NewDecoder(idleReader{c}, opt.Frame, opt.MaxMessage)
	} else {
		// The read buffer is made at the first Read: a conversation on
		// the fast path (echo loops, splice) never needs it, and ten
		// thousand idle connections should not hold 64 KiB each.
		c.bufSize = opt.BufSize
		if c.bufSize <= 0 {
			c.bufSize = 64 << 10
		}
	}
	if !opt.Unannounced {
		c.Announce()
	}
	return c
}

// Announce emits the connect event. New does it, unless told not to;
// call it once, before any Read or Write.
func (c *Conn) Announce() {
	conn := &event.Event{Kind: event.Connect}
	if c.dec != nil {
		// Recorded so that replay frames what it sends the same way.
		conn.Frame = c.frame.String()
	}
	c.emit(conn)
}

// ID is the conversation's number, unique within its server or client.
func (c *Conn) ID() uint64 { return c.id }

// Peer is the remote address.
func (c *Conn) Peer() string { return c.peer }

// Local is the local address.
func (c *Conn) Local() string { return c.local }

// Proto is tcp, udp, tls, unix or unixgram.
func (c *Conn) Proto() string { return c.proto }

// NetConn is the underlying connection, for the fast path.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Observed reports whether data events go anywhere.
func (c *Conn) Observed() bool { return c.sink != nil && !c.noData }

// Frame is the conversation's framing (raw for datagrams).
func (c *Conn) Frame() frame.Spec {
	if c.packet {
		return frame.Spec{}
	}
	return c.frame
}

// Framed reports whether reads return framed messages rather than chunks.
func (c *Conn) Framed() bool { return c.dec != nil }

// Packet reports whether the conversation carries datagrams.
func (c *Conn) Packet() bool { return c.packet }

// HasIdle reports whether an idle timeout applies.
func (c *Conn) HasIdle() bool { return c.idle > 0 }

// Stats returns the bytes received and sent so far.
func (c *Conn) Stats() (in, out int64) { return c.in.Load(), c.out.Load() }

// Sent is how many writes went out whole (on datagrams: datagrams sent).
func (c *Conn) Sent() int64 { return c.sent.Load() }

// AddStats counts bytes moved on the fast path, outside Read and Write.
func (c *Conn) AddStats(in, out int64) {
	c.in.Add(in)
	c.out.Add(out)
}

func (c *Conn) emit(e *event.Event) {
	if c.sink == nil {
		return
	}
	e.Time = time.Now()
	e.Conn = c.id
	e.Proto = c.proto
	e.Local = c.local
	e.Peer = c.peer
	c.sink(e)
}

// Read returns the next message: one framed message, one datagram, or on
// raw streams whatever one read returned. The slice is valid until the next
// Read. At the end it returns io.EOF.
func (c *Conn) Read() ([]byte, error) {
	var (
		p    []byte
		wire []byte // p as it arrived, framing included
		err  error
	)
	if c.dec != nil {
		p, err = c.dec.Next()
		if err != nil {
			return nil, c.opError("recv", err)
		}
		// The tap and the count get the message as it arrived, framing
		// and all, once it is delivered: a message the decoder refuses
		// (too large, cut short) reaches neither.
		wire = c.dec.Wire()
	} else {
		var k int
		if c.buf == nil {
			c.buf = make([]byte, c.bufSize)
		}
		k, err = idleReader{c}.Read(c.buf)
		for err == nil && c.packet && k == len(c.buf) {
			// A WebSocket message larger than the buffer: the rest is
			// already read, so take it too, as one message.
			rest := endpoint.MessageRemaining(c.nc)
			if rest == 0 {
				break
			}
			c.buf = append(c.buf, make([]byte, rest)...)
			var m int
			m, err = idleReader{c}.Read(c.buf[k:])
			k += m
		}
		if k == 0 {
			if err == nil && !c.packet {
				return c.Read()
			}
			if err != nil {
				return nil, c.opError("recv", err)
			}
		}
		p = c.buf[:k]
		wire = p
	}
	n := int64(len(wire))
	if c.sink != nil && !c.noData {
		// Counted and reported together, and never after the close
		// event: a Close from another goroutine (Ctrl-C, a failed
		// output) waits for a message already read to be reported, so a
		// transcript ends with the close and its counts add up.
		c.emu.Lock()
		if c.ended {
			c.emu.Unlock()
			return nil, net.ErrClosed
		}
		c.in.Add(n)
		c.emit(&event.Event{Kind: event.Data, Dir: event.In, Data: p, Wire: int(n)})
		c.emu.Unlock()
	} else {
		c.in.Add(n)
	}
	// The tap gets the message after its data event: a relay's tap is
	// the upstream, which may answer at once, and the answer (reported by
	// the other direction) must not come before its question in a
	// transcript.
	if c.tap != nil {
		if _, werr := c.tap.Write(wire); werr != nil {
			c.setTapErr(werr)
			if c.dec != nil {
				// The local output is gone (a closed stdout pipe): stop
				// rather than read data nobody can see.
				return nil, werr
			}
		}
	}
	return p, nil
}

// SetTap makes w receive every byte read from now on: each chunk as it is
// read, or with framing each message as it arrived (prefix or delimiter
// included) when Read delivers it, so that a refused message is not
// written. Call it before the first Read.
func (c *Conn) SetTap(w io.Writer) { c.tap = w }

// TapErr is the first error writing to the tap, if any.
func (c *Conn) TapErr() error {
	c.tapMu.Lock()
	defer c.tapMu.Unlock()
	return c.tapErr
}

// setTapErr records err as the tap's error, and reports whether it was
// the first.
func (c *Conn) setTapErr(err error) bool {
	c.tapMu.Lock()
	defer c.tapMu.Unlock()
	if c.tapErr != nil {
		return false
	}
	c.tapErr = err
	return true
}

// idleReader applies the idle timeout as a read deadline that is pushed
// forward while the connection keeps writing.
type idleReader struct{ c *Conn }

func (r idleReader) Read(p []byte) (int, error) {
	c := r.c
	if c.idle <= 0 {
		return c.nc.Read(p)
	}
	deadline := time.Now().Add(c.idle)
	for {
		c.nc.SetReadDeadline(deadline)
		n, err := c.nc.Read(p)
		if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			// Writes count as traffic too: idle means idle since the
			// later of the last read and the last write.
			last := time.Unix(0, c.lastWrite.Load())
			if next := last.Add(c.idle); time.Until(next) > 0 {
				deadline = next
				continue
			}
			return n, &IdleError{Idle: c.idle}
		}
		return n, err
	}
}

// IdleError is returned by Read when the idle timeout passed.
type IdleError struct{ Idle time.Duration }

func (e *IdleError) Error() string { return "idle timeout: no traffic for " + e.Idle.String() }

// Hint says which limit ran out: the idle timeout asked for, not a peer
// that never answered (the connect timeout's hint).
func (e *IdleError) Hint() string {
	return "Note that -i/--idle-timeout ends a conversation quiet that long; give a longer one, or 0 for none."
}

func (e *IdleError) Timeout() bool   { return true }
func (e *IdleError) Temporary() bool { return false }
func (e *IdleError) Unwrap() error   { return os.ErrDeadlineExceeded }

// Write sends one message, framed as the conversation's framing says. It
// is safe to call from several goroutines (broadcast, chat).
func (c *Conn) Write(msg []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	p := msg
	if !c.packet && !c.frame.IsRaw() {
		var err error
		c.wbuf, err = c.frame.Append(c.wbuf[:0], msg)
		if err != nil {
			return err
		}
		p = c.wbuf
		// Observers see the message as Read shows received ones: one data
		// event per message, without the framing around it (a line given
		// with its "\n" is shown without it, as it will be read).
		_, err = c.writeMsg(p, c.payload(msg))
		return err
	}
	return c.write(p)
}

// payload is msg without the delimiter that ends it, for line and delim
// framings (Append does not add one when msg already ends with it).
func (c *Conn) payload(msg []byte) []byte {
	var end []byte
	switch c.frame.Kind {
	case frame.Line:
		end = []byte{'\n'}
	case frame.Delim:
		end = c.frame.Delim
	default:
		return msg
	}
	if len(msg) >= len(end) && string(msg[len(msg)-len(end):]) == string(end) {
		return msg[:len(msg)-len(end)]
	}
	return msg
}

// opError names the conversation in errors that end it, and leaves the
// normal ends (EOF, closed by us, idle) as they are for errors.Is.
func (c *Conn) opError(op string, err error) error {
	if !c.accepted && !c.packet {
		if r := endpoint.Refusal(c.nc, c.proto+"://"+c.peer, err, c.shut.Load()); r != nil {
			return r
		}
	}
	if fail.KindOf(err) == fail.TLS {
		return err // a TLS client's failure, worded whole by endpoint
	}
	var idle *IdleError
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.As(err, &idle) {
		return err
	}
	return &endpoint.OpError{Op: op, Endpoint: c.proto + "://" + c.peer, Err: err}
}

// WriteRaw sends p as it is, without framing.
func (c *Conn) WriteRaw(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.write(p)
}

func (c *Conn) write(p []byte) error {
	_, err := c.writeMsg(p, nil)
	return err
}

// writeN sends p as it is, as WriteRaw does, and says how many of its
// bytes the socket took.
func (c *Conn) writeN(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeMsg(p, nil)
}

// writeMsg sends the bytes p, reporting msg (the payload p frames; nil
// for p itself) as the data event. The event comes before the write: a
// reply can arrive, and be reported by the reading goroutine, before
// Write returns, and observers (a --record transcript above all) must see
// the cause before the effect. A write that fails part way ends the
// conversation, whose close event has the true byte counts.
func (c *Conn) writeMsg(p, msg []byte) (int, error) {
	if c.sink != nil && !c.noData && len(p) > 0 {
		data := p
		if msg != nil {
			data = msg
		}
		c.emu.Lock()
		if c.ended {
			c.emu.Unlock()
			return 0, net.ErrClosed // no data event after the close event
		}
		c.emit(&event.Event{Kind: event.Data, Dir: event.Out, Data: data, Wire: len(p)})
		c.emu.Unlock()
	}
	n, err := c.nc.Write(p)
	if err != nil {
		err = c.opError("send", err)
	}
	c.out.Add(int64(n))
	if err == nil {
		c.sent.Add(1)
	}
	if c.idle > 0 {
		c.lastWrite.Store(time.Now().UnixNano())
	}
	return n, err
}

// CloseWrite half-closes a stream: the peer reads EOF, and this side can
// still read. It does nothing on datagram sockets.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok && !c.packet {
		c.shut.Store(true)
		if err := cw.CloseWrite(); err != nil {
			return c.opError("shutdown", err)
		}
	}
	return nil
}

// reason is why a conversation ends, and the option that governs it.
type reason struct {
	text string
	opt  fail.Option
}

// SetReason records why the conversation is ending, for the close event
// (the first reason set wins).
func (c *Conn) SetReason(why string) {
	c.reason.CompareAndSwap(nil, &reason{text: why})
}

// SetReasonAbout is SetReason for a reason that an option governs (a
// limit, a wait): the close event carries it as its Option, and the
// reason names no flag.
func (c *Conn) SetReasonAbout(opt fail.Option, why string) {
	c.reason.CompareAndSwap(nil, &reason{text: why, opt: opt})
}

// Reason is the reason given to SetReason so far, or "".
func (c *Conn) Reason() string {
	if r := c.reason.Load(); r != nil {
		return r.text
	}
	return ""
}

// Emit reports e as an event of this conversation (its number, protocol
// and addresses filled in): a note about it, such as a relay retrying the
// upstream it waits for. It is not a data event.
func (c *Conn) Emit(e *event.Event) {
	c.emit(e)
}

// Close closes the connection and emits the close event once, with the
// reason given to SetReason or derived from err.
func (c *Conn) Close(err error) {
	c.closeOnce.Do(func() {
		c.nc.Close()
		c.emu.Lock()
		defer c.emu.Unlock()
		c.ended = true
		e := &event.Event{Kind: event.Close, BytesIn: c.in.Load(), BytesOut: c.out.Load()}
		if r := c.reason.Load(); r != nil {
			e.Reason, e.Option = r.text, string(r.opt)
		}
		if errors.Is(err, context.Canceled) {
			// Ctrl-C or a shutdown: a reason, not an error to show.
			if e.Reason == "" {
				e.Reason = "interrupted"
			}
		} else if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
			var idle *IdleError
			if errors.As(err, &idle) {
				if e.Reason == "" {
					e.Reason = "idle timeout"
				}
			} else {
				e.Err = endpoint.Cause(err)
				if o := fail.OptionOf(err); o != "" {
					e.Option = string(o)
				}
			}
		}
		if e.Reason == "" {
			if err == nil || errors.Is(err, io.EOF) {
				e.Reason = "peer closed"
				if pc := endpoint.PeerClose(c.nc); pc != "" {
					e.Reason = "peer closed: " + pc
				}
			} else {
				e.Reason = "error"
			}
		}
		c.emit(e)
	})
}

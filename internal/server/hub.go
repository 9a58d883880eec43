package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/session"
)

// Hub sends what one source says (a person's stdin on listen -k, the
// web UI's send box) to a server's conversations: to every one of them,
// or to the one picked by its address or "#ID". A conversation that stops
// reading cannot hold up the others, nor the source: each write has a
// deadline, and the conversation that misses it is dropped.
type Hub struct {
	Server *Server
	// WriteTimeout is how long one write may wait for a conversation that
	// does not read; 0 is DefaultHubWriteTimeout.
	WriteTimeout time.Duration

	mu     sync.Mutex
	target string // "" is every conversation

	wmu     sync.Mutex             // one send at a time: each sets and clears write deadlines
	dropped map[*session.Conn]bool // dropped, and not yet gone from the server (under wmu)
	held    *held                  // what Send holds until a conversation opens (under wmu)
}

// held is a message Send could give to no one yet.
type held struct {
	msg  []byte
	raw  bool
	err  error         // of the send that Open made
	sent chan struct{} // closed once Open sent it
}

// DefaultHubWriteTimeout is how long a Hub waits for one slow reader.
const DefaultHubWriteTimeout = 5 * time.Second

// ErrNoPeers is a send with no conversation to send it to.
var ErrNoPeers = errors.New("no peer connected yet: nothing sent")

// GoneError is a send to a peer that is not (or no longer) a
// conversation of the server.
type GoneError struct{ Peer string }

func (e *GoneError) Error() string { return "peer " + e.Peer + " is gone: nothing sent" }

// SetTarget makes Write send to the conversation with address (or "#ID")
// peer from now on, or to every conversation when peer is "".
func (h *Hub) SetTarget(peer string) error {
	if peer != "" {
		c := h.Server.Lookup(peer)
		if c == nil {
			return &GoneError{Peer: peer}
		}
		peer = c.Peer()
	}
	h.mu.Lock()
	h.target = peer
	h.mu.Unlock()
	return nil
}

// Target is the peer Write sends to, "" for every conversation.
func (h *Hub) Target() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.target
}

// Write sends msg, framed as each conversation's framing says, to the
// target.
func (h *Hub) Write(msg []byte) error { return h.WriteTo(h.Target(), msg, false) }

// WriteRaw sends p as it is, without framing, to the target.
func (h *Hub) WriteRaw(p []byte) error { return h.WriteTo(h.Target(), p, true) }

// WriteTo sends msg to the conversation with address (or "#ID") peer, or
// to every conversation when peer is "": raw as it is, or framed. When
// several conversations fail, the error names the first.
func (h *Hub) WriteTo(peer string, msg []byte, raw bool) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	if peer != "" {
		c := h.Server.Lookup(peer)
		if c == nil {
			return &GoneError{Peer: peer}
		}
		return h.write(c, msg, raw)
	}
	conns := h.live()
	if len(conns) == 0 {
		return ErrNoPeers
	}
	return h.writeAll(conns, msg, raw)
}

// Send sends msg, framed or raw, to every conversation, as WriteTo does
// for "", and when there is none yet, holds it until one opens (Open)
// and sends it then, to every conversation open at that moment; or until
// ctx ends. This is listen -k with piped stdin: what is read before any
// client is connected (a banner) goes to the first one, as ncat -l -k
// does, instead of being dropped. Send returns once msg is sent.
func (h *Hub) Send(ctx context.Context, msg []byte, raw bool) error {
	h.wmu.Lock()
	if conns := h.live(); len(conns) > 0 {
		defer h.wmu.Unlock()
		return h.writeAll(conns, msg, raw)
	}
	m := &held{msg: msg, raw: raw, sent: make(chan struct{})}
	h.held = m
	h.wmu.Unlock()
	h.Server.emit(&event.Event{Kind: event.Info, Msg: fmt.Sprintf("holding %d B of input until a client connects", len(msg))})
	select {
	case <-m.sent:
		return m.err
	case <-ctx.Done():
		h.wmu.Lock()
		defer h.wmu.Unlock()
		select {
		case <-m.sent: // Open sent it after all
			return m.err
		default:
		}
		h.held = nil
		return ctx.Err()
	}
}

// Open gives what Send holds to the conversations now open, c among
// them. Call it from Server.OnOpen: that runs before the conversation
// reads anything, so a client that connects and at once shuts down its
// write side still gets it before the server closes the connection.
func (h *Hub) Open(c *session.Conn) {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	m := h.held
	if m == nil {
		return
	}
	h.held = nil
	// c is among them: a conversation is listed before OnOpen runs, and
	// leaves the list only after its handler returns.
	m.err = h.writeAll(h.live(), m.msg, m.raw)
	close(m.sent)
}

// live is the server's conversations less those the hub dropped (under
// wmu).
func (h *Hub) live() []*session.Conn {
	var conns []*session.Conn
	live := map[*session.Conn]bool{}
	for _, c := range h.Server.Conns() {
		if h.dropped[c] {
			live[c] = true // still ending: it gets nothing more
			continue
		}
		conns = append(conns, c)
	}
	h.dropped = live
	return conns
}

// writeAll sends to each of conns; when several fail, the error names
// the first (under wmu).
func (h *Hub) writeAll(conns []*session.Conn, msg []byte, raw bool) error {
	var first error
	for _, c := range conns {
		if err := h.write(c, msg, raw); err != nil && first == nil {
			first = fmt.Errorf("%s: %w", c.Peer(), err)
		}
	}
	return first
}

// write sends to one conversation within the write timeout, and drops it
// when it misses it.
func (h *Hub) write(c *session.Conn, msg []byte, raw bool) error {
	timeout := h.WriteTimeout
	if timeout <= 0 {
		timeout = DefaultHubWriteTimeout
	}
	nc := c.NetConn()
	nc.SetWriteDeadline(time.Now().Add(timeout))
	defer nc.SetWriteDeadline(time.Time{})
	var err error
	if raw {
		err = c.WriteRaw(msg)
	} else {
		err = c.Write(msg)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.SetReason(fmt.Sprintf("not reading: a write waited %s", timeout))
		nc.Close()
		if h.dropped == nil {
			h.dropped = map[*session.Conn]bool{}
		}
		h.dropped[c] = true
	}
	return err
}

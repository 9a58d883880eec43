package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/sockit/sockit/internal/checksum"
	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/session"
)

// composer builds the outgoing pipeline for a send command: the same
// session.Compose the CLI uses (hex, escapes, templates, encoding,
// checksum), with the line end the page chose.
func (s *sess) composer(c *command) (*session.Compose, error) {
	enc := s.encoding()
	if c.Encoding != "" {
		var err error
		if enc, err = codec.Lookup(c.Encoding); err != nil {
			return nil, err
		}
	}
	comp := &session.Compose{Hex: c.Hex, Escapes: c.Escapes, Template: c.Template, KeepEOL: true}
	comp.SetEncoding(enc)
	eol, err := codec.ParseEOL(c.EOL)
	if err != nil {
		return nil, err
	}
	comp.EOL = string(eol) // text: Compose encodes it with the message
	if c.Checksum != "" {
		if comp.Checksum, err = checksum.Lookup(c.Checksum); err != nil {
			return nil, err
		}
	}
	return comp, nil
}

// target is where a send goes: one conversation, all of a server's, or a
// UDP session's default remote.
type target struct {
	s    *sess
	conn *session.Conn // one conversation
	all  bool          // every conversation of the server
	addr *net.UDPAddr  // UDP: this address, whether or not it is a peer yet
	peer string        // for {{peer}}
}

// target resolves the page's "to": "" (the natural one: the connection,
// every client, or the default remote), "all", "remote", or a peer as
// "#ID" or its address.
func (s *sess) target(to string) (*target, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &target{s: s}
	switch s.kind {
	case kindClient:
		if s.conn == nil {
			return nil, errors.New("not connected: nothing sent (Reconnect first)")
		}
		t.conn, t.peer = s.conn, s.conn.Peer()
		return t, nil
	case kindServer:
		if to == "" || to == "all" {
			t.all = true
			return t, nil
		}
	case kindUDP:
		if to == "" || to == "remote" {
			if s.udpRemote == nil {
				return nil, errors.New("this UDP session has no default remote: pick a peer to send to")
			}
			t.addr, t.peer = s.udpRemote, s.udpRemote.String()
			return t, nil
		}
		if to == "all" {
			t.all = true
			return t, nil
		}
	}
	if s.srv != nil {
		if c := s.srv.Lookup(to); c != nil {
			t.conn, t.peer = c, c.Peer()
			return t, nil
		}
	}
	return nil, fmt.Errorf("peer %s is gone: nothing sent", to)
}

func (t *target) write(msg []byte) error {
	switch {
	case t.conn != nil:
		return t.conn.Write(msg)
	case t.all:
		t.s.mu.Lock()
		srv := t.s.srv
		t.s.mu.Unlock()
		conns := srv.Conns()
		if len(conns) == 0 {
			return errors.New("no peer connected yet: nothing sent")
		}
		var first error
		for _, c := range conns {
			if err := c.Write(msg); err != nil && first == nil {
				first = fmt.Errorf("%s: %w", c.Peer(), err)
			}
		}
		return first
	}
	return t.s.sendTo(msg, t.addr)
}

// sendTo sends one datagram from a UDP session's socket. When the address
// is a peer already, its conversation sends (and reports) it; otherwise
// the socket sends it and the session reports it the same way, so the log
// and the counters do not depend on who spoke first.
func (s *sess) sendTo(msg []byte, addr *net.UDPAddr) error {
	s.mu.Lock()
	srv, pc, local := s.srv, s.pc, s.local
	s.mu.Unlock()
	if srv != nil {
		if c := srv.Lookup(addr.String()); c != nil {
			return c.Write(msg)
		}
	}
	n, err := pc.WriteTo(msg, addr)
	if n > 0 || err == nil {
		s.log.sink(&event.Event{Time: time.Now(), Kind: event.Data, Proto: "udp", Local: local, Peer: addr.String(), Dir: event.Out, Data: msg[:n]})
	}
	if err != nil {
		return &endpoint.OpError{Op: "sendto", Endpoint: "udp://" + addr.String(), Err: err}
	}
	return nil
}

// send sends what the page asked for, once or repeatedly.
func (s *sess) send(c *command) error {
	comp, err := s.composer(c)
	if err != nil {
		return err
	}
	t, err := s.target(c.To)
	if err != nil {
		return err
	}
	line := []byte(c.Data + "\n")
	msg, err := comp.Message(nil, line, t.peer)
	if err != nil {
		return err
	}
	s.addHistory(c.Data)
	if c.Every == 0 || c.Count == 1 {
		err := t.write(msg)
		s.touch()
		return err
	}
	s.stopRepeat()
	ctx, cancel := context.WithCancel(s.ctx)
	r := &repeater{cancel: cancel, total: c.Count, every: c.Every, active: true}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		cancel()
		return errors.New("session closed")
	}
	s.rep = r
	s.wg.Add(1)
	s.mu.Unlock()
	s.touch()
	go func() {
		defer s.wg.Done()
		err := r.run(ctx, func(first bool) error {
			if !first && c.Template {
				var err error
				if msg, err = comp.Message(msg[:0], line, t.peer); err != nil {
					return err
				}
			}
			return t.write(msg)
		}, s.touch)
		if err != nil && ctx.Err() == nil {
			s.note(event.Error, t.peer, "repeat stopped: "+err.Error())
		}
		r.finish()
		s.touch()
	}()
	return nil
}

// stopRepeat stops the repeating send, if any. It does not wait: a send
// blocked on a peer that does not read ends when the session closes.
func (s *sess) stopRepeat() {
	s.mu.Lock()
	r := s.rep
	s.mu.Unlock()
	if r != nil {
		r.cancel()
	}
}

// repeater sends a message every so many milliseconds, a number of times
// or until stopped (the assistants' "auto send").
type repeater struct {
	cancel context.CancelFunc
	every  int
	total  int // 0: until stopped

	mu     sync.Mutex
	sent   int
	active bool
}

type repeatInfo struct {
	Active bool `json:"active"`
	Sent   int  `json:"sent"`
	Total  int  `json:"total"`
	Every  int  `json:"every"`
}

func (r *repeater) info() repeatInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return repeatInfo{Active: r.active, Sent: r.sent, Total: r.total, Every: r.every}
}

func (r *repeater) finish() {
	r.mu.Lock()
	r.active = false
	r.mu.Unlock()
}

func (r *repeater) run(ctx context.Context, send func(first bool) error, progress func()) error {
	tick := time.NewTicker(time.Duration(r.every) * time.Millisecond)
	defer tick.Stop()
	for i := 0; r.total == 0 || i < r.total; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
		if err := send(i == 0); err != nil {
			return err
		}
		r.mu.Lock()
		r.sent++
		r.mu.Unlock()
		progress()
	}
	return nil
}

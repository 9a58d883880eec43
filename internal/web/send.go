package web

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/server"
	"github.com/sockit/sockit/internal/session"
	"github.com/sockit/sockit/internal/talk"
)

// composer builds the outgoing pipeline for a send command as the
// command line builds it for its input (talk.Input): hex, escapes,
// templates, encoding, checksum, and the line end the page chose ("" is
// lf: the page's box holds one line).
func (s *sess) composer(c *command) (*session.Compose, error) {
	enc := s.encoding()
	if c.Encoding != "" {
		var err error
		if enc, err = codec.Lookup(c.Encoding); err != nil {
			return nil, err
		}
	}
	eol := c.EOL
	if eol == "" {
		eol = "lf"
	}
	in := talk.Input{Hex: c.Hex, Escapes: c.Escapes, Template: c.Template, EOL: eol, Checksum: c.Checksum}
	return in.Compose(enc, 0)
}

// target is where a send goes: a client's conversation, one or all of a
// server's (through its hub, which drops a peer that stops reading), or a
// UDP session's default remote.
type target struct {
	s    *sess
	conn *session.Conn // a client's conversation
	hub  *server.Hub   // a server's conversations…
	to   string        // …this one ("" every one)
	addr net.Addr      // datagrams: this address, whether or not it is a peer yet
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
			return nil, errNotConnected
		}
		t.conn, t.peer = s.conn, s.conn.Peer()
		return t, nil
	case kindServer:
		if to == "" || to == "all" {
			t.hub = s.hub
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
			t.hub = s.hub
			return t, nil
		}
	}
	if s.srv != nil {
		if c := s.srv.Lookup(to); c != nil {
			t.hub, t.to, t.peer = s.hub, c.Peer(), c.Peer()
			return t, nil
		}
	}
	return nil, &server.GoneError{Peer: to}
}

func (t *target) write(msg []byte) error {
	switch {
	case t.conn != nil:
		return t.conn.Write(msg)
	case t.hub != nil:
		return t.hub.WriteTo(t.to, msg, false)
	}
	return t.s.sendTo(msg, t.addr)
}

// writeRaw sends p as it is, without the conversation's framing: a
// chunk of a file (on datagrams, one datagram).
func (t *target) writeRaw(p []byte) error {
	switch {
	case t.conn != nil:
		return t.conn.WriteRaw(p)
	case t.hub != nil:
		return t.hub.WriteTo(t.to, p, true)
	}
	return t.s.sendTo(p, t.addr)
}

// sendTo sends one datagram from a UDP session's socket. When the address
// is a peer already, its conversation sends (and reports) it; otherwise
// the socket sends it and the session reports it the same way, so the log
// and the counters do not depend on who spoke first.
func (s *sess) sendTo(msg []byte, addr net.Addr) error {
	s.mu.Lock()
	srv, pc, local := s.srv, s.sock.PacketConn(), s.local
	s.mu.Unlock()
	if srv != nil {
		if c := srv.Lookup(addr.String()); c != nil {
			return c.Write(msg)
		}
	}
	n, err := pc.WriteTo(msg, addr)
	if n > 0 || err == nil {
		s.log.sink(&event.Event{Time: time.Now(), Kind: event.Data, Proto: s.ep.Proto(), Local: local, Peer: addr.String(), Dir: event.Out, Data: msg[:n]})
	}
	if err != nil {
		return &endpoint.OpError{Op: "sendto", Endpoint: s.ep.Scheme + "://" + addr.String(), Err: err}
	}
	return nil
}

var errNotConnected = errors.New("not connected: nothing sent (Reconnect first)")

// waiting reports whether a send failed only because nobody is there to
// send to yet: a client between connections, a server with no clients.
// A repeating send skips the message and goes on.
func waiting(err error) bool {
	return errors.Is(err, errNotConnected) || errors.Is(err, server.ErrNoPeers)
}

// send sends what the page asked for, once or repeatedly.
func (s *sess) send(c *command) error {
	if c.Data == "" {
		// Not even a line end: an empty box sends nothing.
		return errors.New("nothing to send: the message is empty")
	}
	comp, err := s.composer(c)
	if err != nil {
		return err
	}
	line := []byte(c.Data + "\n")
	if c.Every == 0 || c.Count == 1 {
		t, err := s.target(c.To)
		if err != nil {
			return err
		}
		comp.Seq = &s.sendSeq // {{seq}} counts on from the last send
		msg, err := comp.Message(nil, line, t.peer)
		if err != nil {
			return err
		}
		s.addHistory(c.Data)
		err = t.write(msg)
		s.touch()
		return err
	}
	// A repeat starts, and goes on, while nobody is connected: it skips
	// the messages it cannot send (counted as missed) and sends again
	// once a client (re)connects. What cannot work at all fails now: a
	// message that does not compose (checked on a composer of its own, so
	// the repeat's {{seq}} starts at 1), a peer that is gone.
	if check, err := s.composer(c); err != nil {
		return err
	} else if _, err := check.Message(nil, line, ""); err != nil {
		return err
	}
	if _, err := s.target(c.To); err != nil && !waiting(err) {
		return err
	}
	s.addHistory(c.Data)
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
		var msg []byte
		missing := false // the last message was missed: say so once
		err := r.run(ctx, func() (bool, error) {
			t, err := s.target(c.To)
			if err == nil {
				if msg, err = comp.Message(msg[:0], line, t.peer); err != nil {
					return false, err
				}
				err = t.write(msg)
			}
			if err == nil {
				if missing {
					missing = false
					s.note(event.Info, "", "repeat: sending again")
				}
				return true, nil
			}
			if waiting(err) || c.To == "" || c.To == "all" || c.To == "remote" {
				// Nobody there, or the connection broke under the send:
				// skip it; a reconnect or a new client brings the rest.
				if !missing {
					missing = true
					s.note(event.Info, "", "repeat: "+err.Error()+"; skipping until someone is connected")
				}
				return false, nil
			}
			return false, err
		}, s.touch)
		if err != nil && ctx.Err() == nil {
			s.note(event.Error, "", "repeat stopped: "+err.Error())
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
	missed int // skipped: nobody connected
	active bool
}

type repeatInfo struct {
	Active bool `json:"active"`
	Sent   int  `json:"sent"`
	Missed int  `json:"missed,omitempty"`
	Total  int  `json:"total"`
	Every  int  `json:"every"`
}

func (r *repeater) info() repeatInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return repeatInfo{Active: r.active, Sent: r.sent, Missed: r.missed, Total: r.total, Every: r.every}
}

func (r *repeater) finish() {
	r.mu.Lock()
	r.active = false
	r.mu.Unlock()
}

// run calls send every r.every ms, r.total times (0: until stopped); a
// send that reports false was missed (nobody to send to) and counts
// towards the total as well, so a repeat of 10 ends after 10 ticks.
func (r *repeater) run(ctx context.Context, send func() (bool, error), progress func()) error {
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
		ok, err := send()
		if err != nil {
			return err
		}
		r.mu.Lock()
		if ok {
			r.sent++
		} else {
			r.missed++
		}
		r.mu.Unlock()
		progress()
	}
	return nil
}

package web

import (
	"context"
	"fmt"

	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/server"
	"github.com/sockit/sockit/internal/session"
)

// ruleSet is a session's auto-reply rules as written and as parsed.
type ruleSet struct {
	specs []string
	r     *server.Responder
}

func (rs *ruleSet) list() []string {
	if rs == nil {
		return []string{}
	}
	return rs.specs
}

// parseRules reads auto-reply rules with the engine's --respond parser:
// replies take escapes and {{…}} placeholders and are encoded with enc;
// messages are matched as text in enc.
func parseRules(specs []string, enc *codec.Encoding) (*ruleSet, error) {
	rs := &ruleSet{specs: append([]string{}, specs...), r: &server.Responder{
		Decode: func(p []byte) string { s, _ := enc.Decode(p); return s },
	}}
	for _, spec := range specs {
		r, err := server.ParseRule(spec, server.ReplyOptions{Encoding: enc, Escapes: true, Template: true})
		if err != nil {
			return nil, err
		}
		rs.r.Rules = append(rs.r.Rules, r)
	}
	return rs, nil
}

// respond is the behaviour of every conversation of the page: read (so
// the log sees everything) and answer by the session's rules as they are
// at each message, the web UI's live form of listen --respond.
func (s *sess) respond(ctx context.Context, c *session.Conn) error {
	return server.RespondLive(func() *server.Responder {
		if rs := s.rules.Load(); rs != nil {
			return rs.r
		}
		return nil
	})(ctx, c)
}

func (s *sess) setRules(specs []string) error {
	rs, err := parseRules(specs, s.encoding())
	if err != nil {
		return err
	}
	s.rules.Store(rs)
	s.touch()
	s.m.changed()
	return nil
}

// setEncoding changes how the session shows and sends text, and has the
// pages show the log again in the new encoding.
func (s *sess) setEncoding(name string) error {
	enc, err := codec.Lookup(name)
	if err != nil {
		return err
	}
	rs, err := parseRules(s.rules.Load().list(), enc)
	if err != nil {
		return fmt.Errorf("the response rules do not fit %s: %v", enc.Name(), err)
	}
	s.mu.Lock()
	s.enc = enc
	s.mu.Unlock()
	s.rules.Store(rs)
	s.log.rerender()
	s.touch()
	s.m.changed()
	return nil
}

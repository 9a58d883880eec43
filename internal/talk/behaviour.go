package talk

import (
	"context"
	"net"
	"strconv"
	"strings"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/relay"
	"github.com/sockit/sockit/internal/server"
)

// Behaviour is what a server does with each conversation.
type Behaviour uint8

const (
	Stdio   Behaviour = iota // talk to the front end: what arrives is shown, what is typed is sent
	Echo                     // send every message back
	Discard                  // read and throw away everything
	Chat                     // send each client's messages to the others
	Reply                    // answer by Respond rules, else with Reply
	Exec                     // run Exec for each conversation, wired to it
	Source                   // send endless data
	Forward                  // relay each conversation to Forward
	Broker                   // send the bytes each client sends, unchanged, to the others
	Bench                    // the receiving end of sockit bench: count what arrives, report it back
)

var behaviourNames = [...]string{"stdio", "echo", "discard", "chat", "reply", "exec", "source", "forward", "broker", "bench"}

// String is the behaviour's name, which is also how its option is named
// in errors (fail.Option): "echo", "reply".
func (b Behaviour) String() string {
	if int(b) < len(behaviourNames) {
		return behaviourNames[b]
	}
	return "behaviour " + strconv.Itoa(int(b))
}

// Answers reports whether the behaviour answers by itself, so that the
// front end does not read its input for it, and a stream server serves
// every client that comes (with or without KeepOpen).
func (b Behaviour) Answers() bool { return b != Stdio }

// serverSide checks a server's options and builds its behaviour and
// listening side.
func (s *Setup) serverSide() error {
	opt := s.opt
	b := opt.Behaviour
	if opt.Handler != nil {
		b = Stdio
	}
	if b == Source && s.ep.IsPacket() {
		return fail.Inputf("%s sends a stream: it needs a TCP, TLS or Unix endpoint, not %s", fail.Option(b.String()), s.ep.Scheme)
	}
	var err error
	switch {
	case opt.Handler != nil:
		s.handler = opt.Handler
	case b == Stdio:
		s.handler = server.Drain
	case b == Echo:
		s.handler = server.Echo
	case b == Discard:
		s.handler = server.Discard
	case b == Source:
		s.handler = server.Source
	case b == Broker:
		s.handler = (&server.Broker{}).Handle
	case b == Bench:
		if s.ep.IsPacket() && !s.ep.IsUDP() {
			return fail.Inputf("%s on datagrams needs a udp:// endpoint, not %s", fail.Option(b.String()), s.ep.Scheme)
		}
		s.handler = server.Bench
	case b == Chat:
		s.handler = s.chat()
	case b == Reply:
		r, err := s.responder()
		if err != nil {
			return err
		}
		s.handler = r.Handle
	case b == Exec:
		if strings.TrimSpace(opt.Exec) == "" {
			return fail.Inputf("%s needs a command", OptExec)
		}
		x := &server.Exec{Command: opt.Exec, Stderr: opt.ExecStderr}
		s.handler = x.Handle
	case b == Forward:
		if s.handler, err = s.forward(); err != nil {
			return err
		}
	default:
		return fail.Inputf("unknown behaviour %d", int(b))
	}
	if s.allow, s.deny, err = opt.Admission.ACLs(s.ep); err != nil {
		return err
	}
	s.listen, err = NewListening(s.ep, opt)
	return err
}

// ACLs reads the address lists of a server (or relay) listening on ep:
// nil for a list not given. They are read in full, failing closed: a list
// that cannot be read is bad input before any socket opens, never a
// shorter list. Peers of Unix sockets have no address to check.
func (adm Admission) ACLs(ep endpoint.Endpoint) (a, d *server.ACL, err error) {
	allow, deny := adm.Allow, adm.Deny
	if (allow != nil || deny != nil) && ep.IsUnix() {
		return nil, nil, fail.Inputf("%s and %s check IP addresses; %s peers have none", OptAllow, OptDeny, ep.Scheme).
			WithHint("Note that Unix sockets are guarded by the socket file's permissions (chmod).")
	}
	if allow != nil {
		if a, err = server.ParseACL(OptAllow, *allow); err != nil {
			return nil, nil, err
		}
	}
	if deny != nil {
		if d, err = server.ParseACL(OptDeny, *deny); err != nil {
			return nil, nil, err
		}
	}
	return a, d, nil
}

// chat builds the Chat behaviour. A chat of lines (raw streams, line
// framing, datagrams) is text between people's terminals: what one client
// sends reaches the others with its control bytes escaped, as ncat --chat
// does, and joins and leaves are announced. With a binary framing (len16,
// fixed:N, delim:HEX) the messages pass as they came. The sender's
// address and the notices are encoded with the send encoding, and the
// escaping is done on the text decoded with the receive encoding.
func (s *Setup) chat() server.Handler {
	ch := &server.Chat{}
	if send := s.send; !send.IsUTF8() {
		ch.Encode = func(dst []byte, text string) []byte {
			b, err := send.Append(dst, text)
			if err != nil {
				return append(dst, text...)
			}
			return b
		}
	}
	if s.spec.IsRaw() || s.spec.Kind == frame.Line {
		ch.Escape = server.EscapeText(s.recv, s.send)
		ch.Announce = true
	}
	return ch.Handle
}

// responder builds the Reply behaviour: replies are encoded, escaped,
// templated and checksummed as input sent by the front end would be;
// patterns match messages decoded with the receive encoding.
func (s *Setup) responder() (*server.Responder, error) {
	opt := server.ReplyOptions{Encoding: s.send, Escapes: s.opt.Input.Escapes, Template: s.opt.Input.Template,
		Hex: s.opt.Input.Hex, Checksum: s.compose.Checksum}
	r := &server.Responder{}
	if recv := s.recv; !recv.IsUTF8() {
		r.Decode = func(p []byte) string { s, _ := recv.Decode(p); return s }
	}
	for _, spec := range s.opt.Respond {
		rule, err := server.ParseRule(spec, opt)
		if err != nil {
			return nil, err
		}
		r.Rules = append(r.Rules, rule)
	}
	if s.opt.Reply != "" {
		var err error
		if r.Default, err = server.ParseReply(server.OptReply, s.opt.Reply, opt); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// forward builds the Forward behaviour: each client relayed to Forward,
// dialed with the same address family and buffers.
func (s *Setup) forward() (server.Handler, error) {
	to, err := endpoint.Parse(s.opt.Forward, endpoint.Options{UDP: s.opt.UDP, Family: s.opt.Family})
	if err != nil {
		return nil, err
	}
	if err := relay.Check(s.ep, to); err != nil {
		return nil, err
	}
	d := &endpoint.Dialer{Buffer: s.opt.Buffer}
	fw := &relay.Forward{
		Dial: func(ctx context.Context) (net.Conn, error) { return d.Dial(ctx, to) },
		Idle: relay.DefaultPacketIdle,
	}
	if s.opt.Idle > 0 {
		fw.Idle = s.opt.Idle
	}
	return fw.Handler(), nil
}

// Server is a server for the set-up's conversations: its behaviour,
// caps and address lists, its observers, and the template of each
// conversation. A stream server without KeepOpen serves one client, unless
// its behaviour answers by itself; a datagram server serves every peer.
func (s *Setup) Server() *server.Server {
	opt := s.opt
	srv := &server.Server{
		Handler:  s.handler,
		Conn:     s.Session(0),
		MaxConns: opt.MaxConns,
		Once:     !opt.KeepOpen && !s.ep.IsPacket() && !s.answers(),
		Sink:     s.Sink(),
		Trace:    opt.Trace,
		Allow:    s.allow,
		Deny:     s.deny,
	}
	if opt.MaxConns == 0 && opt.Behaviour == Exec && opt.Handler == nil {
		srv.MaxConns = server.DefaultMaxExec // every conversation is a process
	}
	srv.PacketEcho = opt.Behaviour == Echo && opt.Handler == nil
	srv.PacketBench = opt.Behaviour == Bench && opt.Handler == nil
	return srv
}

// AdmitsNoOne reports whether an allow list was given that lists no
// address: every client will be refused, which a front end may say.
func (s *Setup) AdmitsNoOne() bool { return AdmitsNoOne(s.allow) }

// AdmitsNoOne reports whether allow, an allow list as ACLs read it, was
// given and lists no address.
func AdmitsNoOne(allow *server.ACL) bool { return allow != nil && allow.Empty() }

// answers reports whether the server's behaviour answers by itself.
func (s *Setup) answers() bool { return s.opt.Handler == nil && s.opt.Behaviour.Answers() }

// KeepsOpenAnyway reports whether a stream server serves every client
// although KeepOpen was not asked for, because its behaviour answers by
// itself: a front end may say so.
func (s *Setup) KeepsOpenAnyway() bool {
	return s.opt.Role == Server && !s.opt.KeepOpen && !s.ep.IsPacket() && s.answers()
}

// Listening is a server's listening side (nil for a client).
func (s *Setup) Listening() *Listening { return s.listen }

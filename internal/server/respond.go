package server

import (
	"context"
	"regexp"
	"strings"

	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/session"
)

// Rule is one --respond 'PATTERN=>REPLY': messages that PATTERN matches
// are answered with REPLY.
type Rule struct {
	Pattern *regexp.Regexp
	Reply   *Reply // empty: a matching message gets no answer
}

// ParseRule reads 'PATTERN=>REPLY', split at the first "=>". PATTERN is a
// Go regular expression (RE2 syntax); REPLY is read by ParseReply, so it
// may be text, @FILE or hex:BYTES, and may be empty.
func ParseRule(s string, opt ReplyOptions) (Rule, error) {
	hint := func(e *fail.Error) *fail.Error {
		return e.WithHint(`Note that %s takes 'PATTERN=>REPLY', as in %s '^PING=>PONG\r\n' --escapes.`, OptRespond, OptRespond)
	}
	pat, reply, ok := strings.Cut(s, "=>")
	if !ok {
		return Rule{}, hint(fail.Inputf("bad %s %q: no \"=>\" between the pattern and the reply", OptRespond, s))
	}
	if pat == "" {
		return Rule{}, hint(fail.Inputf("bad %s %q: empty pattern (use . to match every message)", OptRespond, s))
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return Rule{}, hint(fail.Inputf("bad %s pattern %q: %v", OptRespond, pat, err))
	}
	r, err := ParseReply(OptRespond, reply, opt)
	if err != nil {
		return Rule{}, err
	}
	return Rule{Pattern: re, Reply: r}, nil
}

// Responder is the --reply and --respond behaviour: each message received
// is answered by the first rule whose pattern matches it, or else by
// Default. With neither, the message gets no answer. It is the
// "smart responses" of Packet Sender, enough to stand in for a simple
// device or protocol peer.
type Responder struct {
	Rules   []Rule
	Default *Reply // --reply: the answer to messages no rule matches; nil for none
	// Decode turns a message into the text patterns are matched against
	// (the receive encoding); nil reads it as UTF-8, where bytes that are
	// not UTF-8 match only as U+FFFD. With latin1 every byte is one
	// character, so \xNN in a pattern matches the byte NN.
	Decode func(p []byte) string
}

// Handle is the Handler: it answers each message of c in turn, counting
// the answers of the conversation for {{seq}}.
func (r *Responder) Handle(ctx context.Context, c *session.Conn) error {
	return RespondLive(func() *Responder { return r })(ctx, c)
}

// RespondLive is the respond behaviour with rules that may change while
// the server runs (the web UI's rule editor): current is asked at each
// message, and a nil Responder lets the message pass unanswered.
func RespondLive(current func() *Responder) Handler {
	return func(ctx context.Context, c *session.Conn) error {
		stop := context.AfterFunc(ctx, func() { c.NetConn().Close() })
		defer stop()
		var (
			seq uint64
			out []byte
		)
		for {
			msg, err := c.Read()
			if err != nil {
				return endErr(err)
			}
			r := current()
			if r == nil {
				continue
			}
			reply := r.Answer(msg)
			if reply.Empty() {
				continue
			}
			seq++
			if out, err = reply.Append(out[:0], seq, c.Peer()); err != nil {
				return err
			}
			if err := c.Write(out); err != nil {
				return err
			}
		}
	}
}

// Answer returns the reply for msg: the first matching rule's, else
// Default; nil for none.
func (r *Responder) Answer(msg []byte) *Reply {
	if len(r.Rules) > 0 {
		var text string
		if r.Decode != nil {
			text = r.Decode(msg)
		} else {
			text = string(msg)
		}
		// A message read raw from a line protocol ends with its line end;
		// '^PING$' should still match "PING\r\n", so a rule that fails on
		// the message is tried once more without it.
		trimmed := strings.TrimSuffix(strings.TrimSuffix(text, "\n"), "\r")
		for _, rule := range r.Rules {
			if rule.Pattern.MatchString(text) || trimmed != text && rule.Pattern.MatchString(trimmed) {
				return rule.Reply
			}
		}
	}
	return r.Default
}

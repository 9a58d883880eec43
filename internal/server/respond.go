package server

import (
	"context"
	"regexp"
	"strings"

	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/session"
)

// Rules are response rules, Packet Sender's "smart responses": each is
// PATTERN=>REPLY, and a received message that matches PATTERN (a Go regular
// expression) is answered with REPLY. The first rule that matches wins; a
// message that matches none gets no answer. Rules are immutable once parsed,
// so a server can swap them while it runs (the web UI does).
type Rules struct {
	list []rule
	enc  *codec.Encoding
}

type rule struct {
	spec    string
	pattern *regexp.Regexp
	reply   []byte
}

// ParseRules reads rules written PATTERN=>REPLY. REPLY is text with
// backslash escapes (\r \n \t \xNN…), encoded with enc, or hex:BYTES for
// raw bytes ("hex:06" answers with one ACK byte). Messages are matched as
// text decoded with enc, with one trailing line end removed, so "^PING$"
// matches "PING\r\n". A nil enc is UTF-8. Errors are usage errors naming
// the bad rule.
func ParseRules(specs []string, enc *codec.Encoding) (*Rules, error) {
	if enc == nil {
		enc, _ = codec.Lookup("")
	}
	rs := &Rules{enc: enc}
	for _, s := range specs {
		pat, reply, ok := strings.Cut(s, "=>")
		if !ok {
			return nil, exitcode.WithHint(`Note that a rule is PATTERN=>REPLY, as in 'PING=>PONG\r\n' or '^AT$=>hex:4f4b0d0a'.`,
				"bad response rule %q: no =>", s)
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			return nil, exitcode.Usagef("bad response rule %q: %v", s, err)
		}
		var b []byte
		if h, isHex := strings.CutPrefix(reply, "hex:"); isHex {
			b, err = codec.ParseHex(h)
		} else {
			b, err = enc.AppendText(nil, reply, true)
		}
		if err != nil {
			return nil, exitcode.Usagef("bad response rule %q: reply: %v", s, err)
		}
		rs.list = append(rs.list, rule{spec: s, pattern: re, reply: b})
	}
	return rs, nil
}

// Len is the number of rules.
func (rs *Rules) Len() int {
	if rs == nil {
		return 0
	}
	return len(rs.list)
}

// Specs returns the rules as they were written.
func (rs *Rules) Specs() []string {
	if rs == nil {
		return nil
	}
	out := make([]string, len(rs.list))
	for i, r := range rs.list {
		out[i] = r.spec
	}
	return out
}

// Reply returns the reply of the first rule that matches msg. The slice
// belongs to the rules: do not change it.
func (rs *Rules) Reply(msg []byte) ([]byte, bool) {
	if rs.Len() == 0 {
		return nil, false
	}
	msg = trimEOL(msg)
	var text string
	decoded := false
	for _, r := range rs.list {
		var ok bool
		if rs.enc.IsUTF8() {
			ok = r.pattern.Match(msg)
		} else {
			if !decoded {
				text, _ = rs.enc.Decode(msg)
				decoded = true
			}
			ok = r.pattern.MatchString(text)
		}
		if ok {
			return r.reply, true
		}
	}
	return nil, false
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// Respond is the behaviour that answers by rules: every message is read
// (so observers see it) and the ones that match get their reply. rules is
// asked again for each message, so the rules may change while it runs; it
// may return nil (no rules: only read).
func Respond(rules func() *Rules) Handler {
	return func(ctx context.Context, c *session.Conn) error {
		stop := context.AfterFunc(ctx, func() { c.NetConn().Close() })
		defer stop()
		for {
			msg, err := c.Read()
			if err != nil {
				return endErr(err)
			}
			if reply, ok := rules().Reply(msg); ok {
				if err := c.Write(reply); err != nil {
					return err
				}
			}
		}
	}
}

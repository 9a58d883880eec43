package server

import (
	"context"
	"strings"

	"github.com/sockit/sockit/internal/checksum"
	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/optfile"
	"github.com/sockit/sockit/internal/tmpl"
)

// Reply is one canned answer (--reply, and the REPLY of --respond): fixed
// bytes, or a template expanded at each send. The zero Reply is an empty
// answer, which sends nothing.
type Reply struct {
	bytes    []byte
	tmpl     *tmpl.Template
	checksum *checksum.Algo
}

// The options this package's errors name (see fail.Option).
const (
	OptReply   fail.Option = "reply"
	OptRespond fail.Option = "respond"
	OptAllow   fail.Option = "allow"
	OptDeny    fail.Option = "deny"
	// Refusals and closes carry these as their event's Option: the limit
	// reached, the command that failed, one client only.
	OptMaxConns fail.Option = "max-conns"
	OptExec     fail.Option = "exec"
	OptKeepOpen fail.Option = "keep-open"
)

// ReplyOptions say how the text of a reply becomes bytes; they are the
// data options of the listen command (README "Data flags").
type ReplyOptions struct {
	Encoding *codec.Encoding // text is encoded with it; nil is UTF-8
	Escapes  bool            // interpret \r \n \t \0 \xNN \\ (--escapes)
	Template bool            // expand {{seq}}, {{time}}, {{peer}}… at each send (--template)
	Hex      bool            // the text is hex digits (--send-hex)
	Checksum *checksum.Algo  // appended to each reply (--checksum)
}

// ParseReply reads a reply as given on the command line: TEXT, "@FILE" for
// the contents of a file, or "hex:48 65 6c" for bytes written in hex. Text
// and file contents go through opt (escapes, template, encoding); hex is
// sent as it is. what names the option in errors.
func ParseReply(what fail.Option, s string, opt ReplyOptions) (*Reply, error) {
	r := &Reply{checksum: opt.Checksum}
	text := s
	if name, ok := strings.CutPrefix(s, "@"); ok {
		// A regular file of at most one message (optfile.MaxReply): not
		// /dev/zero, not a FIFO that blocks listen from starting.
		b, err := optfile.Read(context.Background(), name, optfile.MaxReply)
		if err != nil {
			return nil, fail.Inputf("%s: %v", what, err)
		}
		text = string(b)
	}
	if h, ok := strings.CutPrefix(s, "hex:"); ok || opt.Hex {
		if !ok {
			h = text
		}
		b, err := codec.ParseHex(h)
		if err != nil {
			return nil, fail.Inputf("%s %q: %v", what, s, err)
		}
		r.bytes = b
		return r, nil
	}
	enc := opt.Encoding
	if enc == nil {
		enc, _ = codec.Lookup("utf-8")
	}
	if opt.Template {
		t, err := tmpl.Compile(text, enc, opt.Escapes)
		if err != nil {
			return nil, wrapUsage(what, s, err)
		}
		if !t.Static() {
			r.tmpl = t
			return r, nil
		}
		b, err := t.Append(nil, tmpl.Vars{})
		if err != nil {
			return nil, wrapUsage(what, s, err)
		}
		r.bytes = b
		return r, nil
	}
	b, err := enc.AppendText(nil, text, opt.Escapes)
	if err != nil {
		return nil, wrapUsage(what, s, err)
	}
	r.bytes = b
	return r, nil
}

// wrapUsage names the option in bad input found by a parser, keeping its
// hint.
func wrapUsage(name fail.Option, s string, err error) error {
	if u, ok := err.(*fail.Error); ok {
		return fail.Wrapf(u, "%s %q", name, s)
	}
	return fail.Inputf("%s %q: %v", name, s, err)
}

// Empty reports whether the reply sends nothing ("PATTERN=>" in --respond:
// a message that matches gets no answer, not even a checksum).
func (r *Reply) Empty() bool { return r == nil || r.tmpl == nil && len(r.bytes) == 0 }

// Append appends the reply's bytes for the seq-th answer to peer.
func (r *Reply) Append(dst []byte, seq uint64, peer string) ([]byte, error) {
	start := len(dst)
	if r.tmpl != nil {
		var err error
		if dst, err = r.tmpl.Append(dst, tmpl.Vars{Seq: seq, Peer: peer}); err != nil {
			return dst[:start], err
		}
	} else {
		dst = append(dst, r.bytes...)
	}
	if r.checksum != nil {
		return r.checksum.Append(dst[:start], dst[start:]), nil
	}
	return dst, nil
}

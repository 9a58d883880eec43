package session

import (
	"sync/atomic"

	"github.com/sockit/sockit/internal/checksum"
	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/tmpl"
)

// Compose turns what a person typed or piped into the bytes of one
// message, in this order: the text is read as hex (Hex), or with escapes
// (Escapes) and placeholders (Template) and encoded (the send encoding);
// the checksum is appended; then the end of line, encoded like the text.
// Framing is the Conn's job and comes last. The zero value sends UTF-8
// text as it is.
type Compose struct {
	Hex      bool   // the input is hex digits (--send-hex)
	Escapes  bool   // interpret \r \n \t \0 \xNN \\ (--escapes)
	Template bool   // expand {{seq}}, {{time}}… (--template)
	EOL      string // with KeepEOL, the line end as text ("\r\n", "" for none), encoded with the send encoding in force at each Message
	// KeepEOL says EOL was chosen (--eol, -C, the UI's line end): it
	// replaces the input's line end, for hex input too. Without it text
	// keeps its "\n" (encoded) and hex input gets none.
	KeepEOL  bool
	Checksum *checksum.Algo // appended to each message (--checksum)
	// Max is the largest message a template may expand to (--max-message;
	// 0 for frame.DefaultMax), checked before expanding: {{rand:65536}}
	// seventy thousand times must not take gigabytes.
	Max int
	// Seq, if set, is the count {{seq}} goes on from, shared with other
	// composers: a web UI session makes a composer for each send, and
	// its {{seq}} counts on through the session. Nil: the composer
	// counts on its own, from 1.
	Seq *atomic.Uint64

	enc atomic.Pointer[codec.Encoding]
	seq atomic.Uint64
}

// SetEncoding sets the send encoding (/enc changes it while running).
func (o *Compose) SetEncoding(e *codec.Encoding) { o.enc.Store(e) }

// Encoding is the current send encoding.
func (o *Compose) Encoding() *codec.Encoding {
	if e := o.enc.Load(); e != nil {
		return e
	}
	e, _ := codec.Lookup("utf-8")
	return e
}

// Passthrough reports whether Message would return its input unchanged, so
// pipe mode can move bytes without looking at them.
func (o *Compose) Passthrough() bool {
	return o == nil || (!o.Hex && !o.Escapes && !o.Template && !o.KeepEOL && o.Checksum == nil && o.Encoding().IsUTF8())
}

// Message appends the message for one line of input to dst. A trailing
// "\n" (or "\r\n" with KeepEOL) on line is its line end: it is replaced
// by EOL, in the current encoding.
func (o *Compose) Message(dst, line []byte, peer string) ([]byte, error) {
	body, nl := line, false
	if n := len(body); n > 0 && body[n-1] == '\n' {
		body, nl = body[:n-1], true
		if n := len(body); n > 0 && body[n-1] == '\r' && o.KeepEOL {
			body = body[:n-1]
		}
	}
	start := len(dst)
	var err error
	switch {
	case o.Hex:
		var b []byte
		if b, err = codec.ParseHex(string(body)); err != nil {
			return dst, err
		}
		dst = append(dst, b...)
	case o.Template:
		t, err := tmpl.Compile(string(body), o.Encoding(), o.Escapes)
		if err != nil {
			return dst, err
		}
		v := tmpl.Vars{Peer: peer, Now: now()}
		if err := o.checkSize(t, v); err != nil {
			return dst, err
		}
		if o.Seq != nil {
			v.Seq = o.Seq.Add(1)
		} else {
			v.Seq = o.seq.Add(1)
		}
		if dst, err = t.Append(dst, v); err != nil {
			return dst, err
		}
	default:
		if dst, err = o.Encoding().AppendText(dst, string(body), o.Escapes); err != nil {
			return dst, err
		}
	}
	if o.Checksum != nil {
		msg := append([]byte(nil), dst[start:]...)
		dst = o.Checksum.Append(dst[:start], msg)
	}
	if nl {
		switch {
		case o.KeepEOL:
			dst, err = o.Encoding().Append(dst, o.EOL)
		case !o.Hex:
			dst, err = o.Encoding().Append(dst, "\n")
		}
	}
	return dst, err
}

// checkSize refuses a template that may expand past Max.
func (o *Compose) checkSize(t *tmpl.Template, v tmpl.Vars) error {
	limit := o.Max
	if limit <= 0 {
		limit = frame.DefaultMax
	}
	if n := t.MaxLen(v); n > limit {
		return fail.Inputf("the template expands to up to %d bytes, more than the %d of %s", n, limit, frame.OptMaxMessage).
			WithHint("Note that each {{rand:N}} and {{randhex:N}} adds N or 2N bytes; %s raises the limit.", frame.OptMaxMessage)
	}
	return nil
}

// Check returns the error Message would return for line (bad hex, a bad
// escape or placeholder, text the encoding cannot carry) without counting
// a message, so that bad input is reported before a connection is opened.
func (o *Compose) Check(line []byte) error {
	c := &Compose{Hex: o.Hex, Escapes: o.Escapes, Template: o.Template, EOL: o.EOL, KeepEOL: o.KeepEOL, Checksum: o.Checksum, Max: o.Max}
	c.SetEncoding(o.Encoding())
	_, err := c.Message(nil, line, "")
	return err
}

package session

import (
	"sync/atomic"

	"github.com/sockit/sockit/internal/checksum"
	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/tmpl"
)

// Compose turns what a person typed or piped into the bytes of one
// message, in this order: the text is read as hex (Hex), or with escapes
// (Escapes) and placeholders (Template) and encoded (the send encoding);
// the checksum is appended; then the end of line. Framing is the Conn's
// job and comes last. The zero value sends UTF-8 text as it is.
type Compose struct {
	Hex      bool           // the input is hex digits (--send-hex)
	Escapes  bool           // interpret \r \n \t \0 \xNN \\ (--escapes)
	Template bool           // expand {{seq}}, {{time}}… (--template)
	EOL      []byte         // replaces the input's line end; nil keeps "\n" for text, nothing for hex
	KeepEOL  bool           // EOL was set explicitly: also apply it to hex input
	Checksum *checksum.Algo // appended to each message (--checksum)

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
	return o == nil || (!o.Hex && !o.Escapes && !o.Template && o.EOL == nil && o.Checksum == nil && o.Encoding().IsUTF8())
}

// Message appends the message for one line of input to dst. A trailing
// "\n" (or "\r\n") on line is its line end: it is replaced by EOL.
func (o *Compose) Message(dst, line []byte, peer string) ([]byte, error) {
	body, nl := line, false
	if n := len(body); n > 0 && body[n-1] == '\n' {
		body, nl = body[:n-1], true
		if n := len(body); n > 0 && body[n-1] == '\r' && o.EOL != nil {
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
		if dst, err = t.Append(dst, tmpl.Vars{Seq: o.seq.Add(1), Peer: peer, Now: now()}); err != nil {
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
		case o.EOL != nil && (!o.Hex || o.KeepEOL):
			dst = append(dst, o.EOL...)
		case o.EOL == nil && !o.Hex:
			dst, err = o.Encoding().Append(dst, "\n")
		}
	}
	return dst, err
}

// Check returns the error Message would return for line (bad hex, a bad
// escape or placeholder, text the encoding cannot carry) without counting
// a message, so that bad input is reported before a connection is opened.
func (o *Compose) Check(line []byte) error {
	c := &Compose{Hex: o.Hex, Escapes: o.Escapes, Template: o.Template, EOL: o.EOL, KeepEOL: o.KeepEOL, Checksum: o.Checksum}
	c.SetEncoding(o.Encoding())
	_, err := c.Message(nil, line, "")
	return err
}

package talk

import (
	"github.com/sockit/sockit/internal/checksum"
	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/session"
)

// Compose builds the composer of messages for in, in the send encoding
// enc (nil: UTF-8), whose templates expand to at most max bytes (0:
// frame.DefaultMax). The line end is text, encoded with each message in
// the encoding in force then.
func (in Input) Compose(enc *codec.Encoding, max int) (*session.Compose, error) {
	c := &session.Compose{Hex: in.Hex, Escapes: in.Escapes, Template: in.Template, Max: max}
	if enc != nil {
		c.SetEncoding(enc)
	}
	if in.EOL != "" {
		b, err := codec.ParseEOL(in.EOL)
		if err != nil {
			return nil, err
		}
		c.EOL, c.KeepEOL = string(b), true
	}
	if in.Checksum != "" {
		a, err := checksum.Lookup(in.Checksum)
		if err != nil {
			return nil, err
		}
		c.Checksum = a
	}
	return c, nil
}

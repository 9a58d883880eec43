package talk

import (
	"github.com/sockit/sockit/internal/checksum"
	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/session"
)

// Input says how one unit of input (a line typed, a line or chunk piped,
// the web UI's send box) becomes the bytes of one message. The zero value
// sends text as it is, in the send encoding.
type Input struct {
	Hex      bool   // the input is hex digits
	Escapes  bool   // interpret \r \n \t \0 \xNN \\
	Template bool   // expand {{seq}}, {{time}}, {{peer}}…
	EOL      string // line end: lf, crlf, cr or none; "": a line keeps its "\n"
	Checksum string // appended to each message: sum8, xor8, crc16-modbus…
}

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

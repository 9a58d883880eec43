package cli

import (
	"github.com/sockit/sockit/internal/checksum"
	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/server"
)

// chat builds the --chat behaviour. A chat of lines (raw streams, --frame
// line, datagrams) is text between people's terminals: what one client
// sends reaches the others with its control bytes escaped, as ncat --chat
// does, and joins and leaves are announced. With a binary framing (len16,
// fixed:N, delim:HEX) the messages pass as they came. The sender's
// address and the notices are encoded with the send encoding, and the
// escaping is done on the text decoded with the receive encoding.
func (f *listenFlags) chat() server.Handler {
	ch := &server.Chat{}
	send, recv, err := f.data.codecs()
	if err == nil && !send.IsUTF8() {
		ch.Encode = func(dst []byte, text string) []byte {
			b, err := send.Append(dst, text)
			if err != nil {
				return append(dst, text...)
			}
			return b
		}
	}
	if spec, err := f.data.framing(); err == nil && (spec.IsRaw() || spec.Kind == frame.Line) {
		ch.Escape = server.EscapeText(recv, send)
		ch.Announce = true
	}
	return ch.Handle
}

// responder builds --reply and --respond from their flags and the data
// options: replies are encoded, escaped, templated and checksummed as data
// sent from stdin would be; patterns match messages decoded with the
// receive encoding.
func (f *listenFlags) responder() (*server.Responder, error) {
	send, recv, err := f.data.codecs()
	if err != nil {
		return nil, err
	}
	opt := server.ReplyOptions{Encoding: send, Escapes: f.data.escapes, Template: f.data.template, Hex: f.data.sendHex}
	if f.data.checksum != "" {
		if opt.Checksum, err = checksum.Lookup(f.data.checksum); err != nil {
			return nil, err
		}
	}
	r := &server.Responder{}
	if !recv.IsUTF8() {
		r.Decode = func(p []byte) string { s, _ := recv.Decode(p); return s }
	}
	for _, s := range f.srv.respond {
		rule, err := server.ParseRule(s, opt)
		if err != nil {
			return nil, err
		}
		r.Rules = append(r.Rules, rule)
	}
	if f.srv.reply != "" {
		if r.Default, err = server.ParseReply(server.OptReply, f.srv.reply, opt); err != nil {
			return nil, err
		}
	}
	return r, nil
}

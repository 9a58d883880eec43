package cli

import (
	"github.com/sockit/sockit/internal/checksum"
	"github.com/sockit/sockit/internal/server"
)

// chat builds the --chat behaviour; the sender's address is encoded with
// the send encoding, as the messages are.
func (f *listenFlags) chat() server.Handler {
	ch := &server.Chat{}
	if send, _, err := f.data.codecs(); err == nil && !send.IsUTF8() {
		ch.Prefix = func(dst []byte, peer string) []byte {
			b, err := send.Append(dst, "["+peer+"] ")
			if err != nil {
				return append(dst, "["+peer+"] "...)
			}
			return b
		}
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
		if r.Default, err = server.ParseReply("--reply", f.srv.reply, opt); err != nil {
			return nil, err
		}
	}
	return r, nil
}

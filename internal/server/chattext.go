package server

import (
	"bytes"
	"unicode"
	"unicode/utf8"

	"github.com/sockit/sockit/internal/codec"
)

// EscapeText returns a Chat.Escape for text chats: each message, decoded
// with recv, has its control characters escaped (ESC as \x1b, a lone CR
// as \r, NUL as \0, bidi and other invisible format characters as
// \uXXXX) and is encoded again with send, so that one client cannot move
// the cursor, recolour or clear the others' terminals. Printable text,
// tabs and backslashes pass unchanged, in any encoding; the line end
// (\n or \r\n) stays a line end. Bytes that are not valid in recv are
// shown as \xNN. Nil encodings are UTF-8.
//
// The escaping is done on the decoded text, not on the bytes: in GBK or
// UTF-16 the bytes of a printable character may look like controls.
func EscapeText(recv, send *codec.Encoding) func(dst, msg []byte) []byte {
	utf8Enc, _ := codec.Lookup("utf-8")
	if recv == nil {
		recv = utf8Enc
	}
	if send == nil {
		send = utf8Enc
	}
	plain := recv.IsUTF8() && send.IsUTF8()
	return func(dst, msg []byte) []byte {
		body, eol := splitEOL(msg)
		if plain {
			dst = appendSafe(dst, body)
			return append(dst, eol...)
		}
		// The line end is found in the decoded text: in UTF-16 "\n" is
		// two bytes.
		var safe []byte
		if text, ok := recv.Decode(msg); ok {
			b, e := splitEOL([]byte(text))
			safe, eol = appendSafe(nil, b), e
		} else {
			safe = recv.AppendDisplay(nil, body) // lossless for bad bytes
		}
		if out, err := send.Append(dst, string(safe)+string(eol)); err == nil {
			return out
		}
		// A character the clients' encoding cannot carry: its \uXXXX.
		ascii := make([]byte, 0, len(safe))
		for _, r := range string(safe) {
			if r < utf8.RuneSelf {
				ascii = append(ascii, byte(r))
			} else {
				ascii = appendUEscape(ascii, r)
			}
		}
		out, _ := send.Append(dst, string(ascii)+string(eol))
		return out
	}
}

// splitEOL splits the line end (\n or \r\n) off msg.
func splitEOL(msg []byte) (body, eol []byte) {
	switch {
	case bytes.HasSuffix(msg, []byte("\r\n")):
		return msg[:len(msg)-2], msg[len(msg)-2:]
	case bytes.HasSuffix(msg, []byte("\n")):
		return msg[:len(msg)-1], msg[len(msg)-1:]
	}
	return msg, nil
}

// appendSafe appends UTF-8 text with everything that could act on a
// terminal escaped.
func appendSafe(dst, src []byte) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(src); {
		c := src[i]
		if c >= 0x20 && c < 0x7f || c == '\t' {
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(src[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			dst = append(dst, '\\', 'x', hex[c>>4], hex[c&0xf])
		case r == '\r':
			dst = append(dst, '\\', 'r')
		case r == '\n':
			dst = append(dst, '\\', 'n') // inside a message (UDP, --frame)
		case r == 0:
			dst = append(dst, '\\', '0')
		case r < 0xa0: // other C0 controls, DEL, C1 controls
			for _, b := range src[i : i+n] {
				dst = append(dst, '\\', 'x', hex[b>>4], hex[b&0xf])
			}
		case unicode.IsPrint(r) || r == 0xa0:
			dst = append(dst, src[i:i+n]...)
		default: // bidi overrides, zero-width and other format characters
			dst = appendUEscape(dst, r)
		}
		i += n
	}
	return dst
}

func appendUEscape(dst []byte, r rune) []byte {
	const hex = "0123456789abcdef"
	if r > 0xffff {
		dst = append(dst, '\\', 'U')
		for shift := 28; shift >= 0; shift -= 4 {
			dst = append(dst, hex[r>>shift&0xf])
		}
		return dst
	}
	return append(dst, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
}

package codec

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sockit/sockit/internal/exitcode"
)

const hexHint = `Note that hex is written as byte pairs: "48 65 6c", "48656c", "0x48,0x65", "48:65" or "\x48\x65".`

// ParseHex parses hex bytes as people paste them: "48 65 6c", "48656c",
// "0x48,0x65", "0X48 0x65", "48:65:6c", "48-65", `\x48\x65`, with any mix
// of whitespace and newlines and either case. Separators are whitespace,
// ',', ':', ';' and '-'; a token may start with 0x or \x. Each token must
// have an even number of digits ("486" is an error, not 04 86). Empty input
// is an empty slice. Errors are *exitcode.UsageError naming the offending
// text and its byte offset.
func ParseHex(s string) ([]byte, error) {
	return AppendParseHex(make([]byte, 0, len(s)/2), s)
}

// AppendParseHex is ParseHex appending to dst. On error dst is returned
// unchanged.
func AppendParseHex(dst []byte, s string) ([]byte, error) {
	orig := len(dst)
	for i := 0; i < len(s); {
		c := s[i]
		if isHexSep(c) {
			i++
			continue
		}
		start := i
		if i+1 < len(s) && (c == '0' || c == '\\') && (s[i+1] == 'x' || s[i+1] == 'X') {
			i += 2
		}
		digits := i
		for i < len(s) && unhex(s[i]) >= 0 {
			i++
		}
		if i < len(s) && !isHexSep(s[i]) && !(s[i] == '\\' && i > digits) {
			return dst[:orig], badHexChar(s, i)
		}
		switch n := i - digits; {
		case n == 0 && i == start:
			return dst[:orig], badHexChar(s, i)
		case n == 0:
			return dst[:orig], exitcode.WithHint(hexHint, "missing hex digits after %q at offset %d", s[start:i], start)
		case n%2 == 1:
			return dst[:orig], exitcode.WithHint(hexHint, "odd number of hex digits in %q", s[start:i])
		}
		for j := digits; j < i; j += 2 {
			dst = append(dst, byte(unhex(s[j])<<4|unhex(s[j+1])))
		}
	}
	return dst, nil
}

func isHexSep(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f', ',', ':', ';', '-':
		return true
	}
	return false
}

func badHexChar(s string, i int) error {
	_, n := utf8.DecodeRuneInString(s[i:])
	return exitcode.WithHint(hexHint, "invalid hex character %s at offset %d", strconv.Quote(s[i:i+n]), i)
}

// AppendHex appends src as lower-case hex without spaces: "68656c6c6f".
func AppendHex(dst, src []byte) []byte {
	for _, c := range src {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return dst
}

// AppendHexSpaced appends src as lower-case hex bytes separated by single
// spaces: "68 65 6c".
func AppendHexSpaced(dst, src []byte) []byte {
	for i, c := range src {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return dst
}

// AppendDump appends src in the format of hexdump -C (strictly, hexdump
// -C -v: identical lines are not squeezed to "*", and the closing line
// with the total length is left out, so dumps of successive chunks can be
// printed one after another). offset is added to the printed offsets.
//
//	00000000  48 65 6c 6c 6f 0a                                 |Hello.|
func AppendDump(dst []byte, src []byte, offset int64) []byte {
	for line := 0; line < len(src); line += 16 {
		chunk := src[line:min(line+16, len(src))]
		off := uint64(offset + int64(line))
		if off <= 0xffffffff {
			for shift := 28; shift >= 0; shift -= 4 {
				dst = append(dst, hexDigits[off>>shift&0xf])
			}
		} else {
			dst = strconv.AppendUint(dst, off, 16)
		}
		dst = append(dst, ' ', ' ')
		for i := range 16 {
			if i == 8 {
				dst = append(dst, ' ')
			}
			if i < len(chunk) {
				dst = append(dst, hexDigits[chunk[i]>>4], hexDigits[chunk[i]&0xf], ' ')
			} else {
				dst = append(dst, ' ', ' ', ' ')
			}
		}
		dst = append(dst, ' ', '|')
		for _, c := range chunk {
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			dst = append(dst, c)
		}
		dst = append(dst, '|', '\n')
	}
	return dst
}

// ParseEOL returns the line ending named by s: "lf", "crlf", "cr" or
// "none" (also "" for none), case-insensitive, or the ending itself,
// written literally ("\n", "\r\n", "\r") or with backslash escapes
// (`\n`, `\r\n`, `\r`).
func ParseEOL(s string) ([]byte, error) {
	switch s {
	case "\n", `\n`:
		return []byte("\n"), nil
	case "\r\n", `\r\n`:
		return []byte("\r\n"), nil
	case "\r", `\r`:
		return []byte("\r"), nil
	case "":
		return []byte{}, nil
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "lf":
		return []byte("\n"), nil
	case "crlf":
		return []byte("\r\n"), nil
	case "cr":
		return []byte("\r"), nil
	case "none":
		return []byte{}, nil
	}
	names := []string{"lf", "crlf", "cr", "none"}
	if best := closest(normalize(s), names); best != "" {
		return nil, exitcode.WithHint("Did you mean "+best+"?", "unknown line ending %q", s)
	}
	return nil, exitcode.WithHint("Note that line endings are lf, crlf, cr and none.", "unknown line ending %q", s)
}

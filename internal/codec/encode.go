package codec

import (
	"slices"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/transform"

	"github.com/sockit/sockit/internal/fail"
)

// Append encodes the UTF-8 text s into e and appends it to dst. For UTF-8
// it appends s unchanged, byte for byte, even when s is not valid UTF-8.
// For other encodings a character e cannot represent, or a byte of s that
// is not UTF-8, is a *exitcode.UsageError and dst is returned unchanged.
// It does not allocate when s is ASCII and e is ASCII-compatible, or when e
// is UTF-8, latin1, ascii, UTF-16 or another single-byte encoding and dst
// has room.
func (e *Encoding) Append(dst []byte, s string) ([]byte, error) {
	return e.appendAt(dst, s, 0)
}

// appendAt is Append reporting error offsets as base+i.
func (e *Encoding) appendAt(dst []byte, s string, base int) ([]byte, error) {
	switch e.kind {
	case kindUTF8:
		return append(dst, s...), nil
	case kindSingle:
		return e.appendSingle(dst, s, base)
	case kindUTF16:
		return e.appendUTF16(dst, s, base)
	}
	return e.appendMulti(dst, s, base)
}

func (e *Encoding) appendSingle(dst []byte, s string, base int) ([]byte, error) {
	orig := len(dst)
	dst = slices.Grow(dst, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf && e.asciiCompat {
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return dst[:orig], e.encodeError(s, i, base)
		}
		b, ok := e.encodeRune(r)
		if !ok {
			return dst[:orig], e.encodeError(s, i, base)
		}
		dst = append(dst, b)
		i += n
	}
	return dst, nil
}

func (e *Encoding) appendUTF16(dst []byte, s string, base int) ([]byte, error) {
	orig := len(dst)
	dst = slices.Grow(dst, 2*len(s))
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n <= 1 {
				return dst[:orig], e.encodeError(s, i, base)
			}
		}
		if r >= 0x10000 {
			hi, lo := utf16.EncodeRune(r)
			dst = e.appendUnit(dst, uint16(hi))
			dst = e.appendUnit(dst, uint16(lo))
		} else {
			dst = e.appendUnit(dst, uint16(r))
		}
		i += n
	}
	return dst, nil
}

func (e *Encoding) appendUnit(dst []byte, u uint16) []byte {
	if e.bigEndian {
		return append(dst, byte(u>>8), byte(u))
	}
	return append(dst, byte(u), byte(u>>8))
}

func (e *Encoding) appendMulti(dst []byte, s string, base int) ([]byte, error) {
	if e.asciiCompat && isASCII(s) {
		return append(dst, s...), nil
	}
	// The copy keeps s from escaping through the Transformer interface, so
	// callers may pass strings built in stack buffers.
	src := []byte(s)
	enc := e.encoder()
	enc.Reset()
	orig := len(dst)
	dst = slices.Grow(dst, len(src)+4)
	pos := 0
	for {
		nDst, nSrc, err := enc.Transform(dst[len(dst):cap(dst)], src[pos:], true)
		dst = dst[:len(dst)+nDst]
		pos += nSrc
		switch err {
		case nil:
			return dst, nil
		case transform.ErrShortDst:
			dst = slices.Grow(dst, max(len(src)-pos, 16)+8)
			continue
		}
		return dst[:orig], e.encodeError(s, pos, base)
	}
}

// encodeError describes why s[i:] could not be encoded.
func (e *Encoding) encodeError(s string, i, base int) error {
	r, n := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && n <= 1 {
		if i >= len(s) {
			return fail.Inputf("text cannot be encoded in %s", e.name)
		}
		err := fail.Inputf("invalid UTF-8 byte 0x%02x at offset %d", s[i], base+i)
		if _, ok := e.Decode([]byte(s)); ok && !e.IsUTF8() {
			// A file saved in GBK (Notepad's "ANSI" on Chinese Windows)
			// sent with --send-encoding gbk: it is GBK already.
			return err.WithHint("Note that input is read as UTF-8, and this is %[1]s already: drop --send-encoding %[1]s (for --encoding %[1]s, keep only --recv-encoding %[1]s) to send its bytes as they are.", e.name)
		}
		return err.WithHint("Note that text is read as UTF-8; send raw bytes as hex or as \\xNN escapes.")
	}
	return fail.Inputf("character %s (U+%04X) cannot be encoded in %s", quoteRune(r), r, e.name)
}

// quoteRune quotes r for an error message: "€", or Go syntax for a
// character that would not show.
func quoteRune(r rune) string {
	if unicode.IsPrint(r) && r != '"' && r != '\\' {
		return `"` + string(r) + `"`
	}
	return strconv.Quote(string(r))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

const escapesHint = `Note that escapes are \r \n \t \0 \a \b \f \v \e \\ \xNN \uXXXX and \UXXXXXXXX.`

// AppendText is Append for text typed by a person. With escapes false it is
// exactly Append. With escapes true it first interprets backslash escapes:
// \r \n \t \a \b \f \v \e \\ and \uXXXX, \UXXXXXXXX stand for characters,
// which are encoded with e like the text around them; \xNN and \0 stand for
// raw bytes, appended as they are. So `你好\x80\r\n` in gbk is gbk("你好")
// followed by 80 0d 0a. An unknown escape, a bad \x or \u, or a trailing
// backslash is a *exitcode.UsageError naming its byte offset in s.
func (e *Encoding) AppendText(dst []byte, s string, escapes bool) ([]byte, error) {
	return e.AppendTextAt(dst, s, escapes, 0)
}

// AppendTextAt is AppendText for s taken from a larger string at offset
// base: error messages report offsets as base+i.
func (e *Encoding) AppendTextAt(dst []byte, s string, escapes bool, base int) ([]byte, error) {
	if !escapes {
		return e.appendAt(dst, s, base)
	}
	orig := len(dst)
	var err error
	i := 0
	for i < len(s) {
		j := i
		for j < len(s) && s[j] != '\\' {
			j++
		}
		if dst, err = e.appendAt(dst, s[i:j], base+i); err != nil {
			return dst[:orig], err
		}
		if j == len(s) {
			break
		}
		if dst, i, err = e.appendEscape(dst, s, j, base); err != nil {
			return dst[:orig], err
		}
	}
	return dst, nil
}

// appendEscape appends the escape at s[at] (a backslash) and returns the
// offset just after it.
func (e *Encoding) appendEscape(dst []byte, s string, at, base int) ([]byte, int, error) {
	if at+1 >= len(s) {
		return dst, 0, fail.Inputf("trailing backslash at offset %d", base+at).WithHint("%s", `Note that \\ is a backslash.`)
	}
	var ch string
	switch c := s[at+1]; c {
	case 'x', 'X':
		v, ok := hexValue(s, at+2, 2)
		if !ok {
			return dst, 0, fail.Inputf("bad escape %s at offset %d: \\x takes two hex digits", strconv.Quote(s[at:min(at+4, len(s))]), base+at).WithHint("%s", escapesHint)
		}
		return append(dst, byte(v)), at + 4, nil
	case '0':
		return append(dst, 0), at + 2, nil
	case 'u', 'U':
		width := 4
		if c == 'U' {
			width = 8
		}
		v, ok := hexValue(s, at+2, width)
		if !ok || v > unicode.MaxRune || (v >= 0xd800 && v < 0xe000) {
			what := "takes four hex digits"
			if width == 8 {
				what = "takes eight hex digits"
			}
			if ok {
				what = "is not a character"
			}
			return dst, 0, fail.Inputf("bad escape %s at offset %d: \\%c %s", strconv.Quote(s[at:min(at+2+width, len(s))]), base+at, c, what).WithHint("%s", escapesHint)
		}
		var buf [utf8.UTFMax]byte
		n := utf8.EncodeRune(buf[:], rune(v))
		d, err := e.appendAt(dst, string(buf[:n]), base+at)
		return d, at + 2 + width, err
	case 'r':
		ch = "\r"
	case 'n':
		ch = "\n"
	case 't':
		ch = "\t"
	case 'a':
		ch = "\a"
	case 'b':
		ch = "\b"
	case 'f':
		ch = "\f"
	case 'v':
		ch = "\v"
	case 'e':
		ch = "\x1b"
	case '\\':
		ch = "\\"
	default:
		r, _ := utf8.DecodeRuneInString(s[at+1:])
		esc := `"\` + string(r) + `"`
		if !unicode.IsPrint(r) || r == '"' {
			esc = strconv.Quote(`\` + string(r))
		}
		return dst, 0, fail.Inputf("unknown escape %s at offset %d", esc, base+at).WithHint("%s", escapesHint)
	}
	d, err := e.appendAt(dst, ch, base+at)
	return d, at + 2, err
}

// hexValue parses exactly n hex digits at s[i:].
func hexValue(s string, i, n int) (uint32, bool) {
	if i+n > len(s) {
		return 0, false
	}
	var v uint32
	for _, c := range []byte(s[i : i+n]) {
		d := unhex(c)
		if d < 0 {
			return 0, false
		}
		v = v<<4 | uint32(d)
	}
	return v, true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

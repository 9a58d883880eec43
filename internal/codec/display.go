package codec

import (
	"bytes"
	"encoding/binary"
	"slices"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/transform"
)

const hexDigits = "0123456789abcdef"

// AppendDisplay appends the human form of src, decoded from e, for a
// terminal or a log line. It is lossless: every byte of src can be told
// from the output, and nothing in it can move the cursor or change the
// terminal's state.
//
//   - printable characters appear as themselves (U+FFFD only when src
//     really encodes U+FFFD);
//   - a backslash is \\, and newline, carriage return, tab and NUL are
//     \n, \r, \t and \0;
//   - other C0 controls, DEL and C1 controls are \xNN of their original
//     bytes (so U+0085 in UTF-8 is \xc2\x85);
//   - bytes that are not valid in e are \xNN, one per byte;
//   - other characters unicode.IsPrint rejects (U+200B, bidi controls, NBSP)
//     are \uXXXX, or \UXXXXXXXX above U+FFFF.
//
// Hex digits are lower case. It does not allocate for UTF-8 and
// single-byte encodings when dst has room.
func (e *Encoding) AppendDisplay(dst []byte, src []byte) []byte {
	switch e.kind {
	case kindUTF8:
		return appendDisplayUTF8(dst, src)
	case kindSingle:
		dst = slices.Grow(dst, len(src))
		for i, c := range src {
			r := e.table[c]
			if r == invalid {
				dst = appendByteEscape(dst, c)
				continue
			}
			dst = appendChar(dst, r, src[i:i+1])
		}
		return dst
	case kindUTF16:
		dst = slices.Grow(dst, len(src)/2)
		_, big := e.utf16Order(src, false)
		for i := 0; i < len(src); {
			r, n := decodeUTF16(src[i:], big)
			if n == 0 {
				// Odd byte or unpaired surrogate: the bytes of one unit.
				n = min(2, len(src)-i)
				for _, c := range src[i : i+n] {
					dst = appendByteEscape(dst, c)
				}
			} else {
				dst = appendChar(dst, r, src[i:i+n])
			}
			i += n
		}
		return dst
	}
	return e.appendDisplayMulti(dst, src)
}

// appendDisplayUTF8 copies runs of plain printable ASCII in one append and
// looks at anything else a character at a time.
func appendDisplayUTF8(dst, src []byte) []byte {
	dst = slices.Grow(dst, len(src))
	for i := 0; i < len(src); {
		j := i + plainRun(src[i:])
		dst = append(dst, src[i:j]...)
		if j == len(src) {
			break
		}
		i = j
		c := src[i]
		if c < utf8.RuneSelf {
			dst = appendChar(dst, rune(c), src[i:i+1])
			i++
			continue
		}
		r, n := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && n == 1 {
			dst = appendByteEscape(dst, c)
		} else {
			dst = appendChar(dst, r, src[i:i+n])
		}
		i += n
	}
	return dst
}

// appendDisplayMulti decodes src a buffer at a time with the x/text
// decoder and displays each buffer as UTF-8 when the decoder had nothing
// to complain about; otherwise that stretch of src goes through the
// per-character path, which finds exactly which bytes are invalid.
func (e *Encoding) appendDisplayMulti(dst, src []byte) []byte {
	dec := e.decoder()
	dec.Reset()
	bp := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(bp)
	var rp *[]byte
	if e.stateless {
		rp = scratchPool.Get().(*[]byte)
		defer scratchPool.Put(rp)
	}
	var slow *charCodec
	for pos := 0; pos < len(src); {
		// Decode at most a quarter of the scratch buffer so that the
		// re-encoding (at most twice as long, for GB18030) fits in rp.
		nDst, nSrc, err := dec.Transform((*bp)[:len(*bp)/4], src[pos:], true)
		if nSrc == 0 || (err != nil && err != transform.ErrShortDst) {
			nSrc = len(src) - pos // no progress: let the slow path show the rest
			nDst = -1
		}
		if nDst >= 0 && e.clean((*bp)[:nDst]) && e.roundTrips(rp, (*bp)[:nDst], src[pos:pos+nSrc]) {
			dst = appendDisplayUTF8(dst, (*bp)[:nDst])
		} else {
			if slow == nil {
				slow = e.newCharCodec()
			}
			dst = appendDisplaySlow(dst, slow, src[pos:pos+nSrc])
		}
		pos += nSrc
	}
	return dst
}

// roundTrips reports whether text, decoded from src, encodes back to src.
// Most CJK encodings have a few byte sequences that decode to a character
// whose encoding is other bytes (Shift_JIS's NEC and IBM duplicates, Big5's
// HKSCS pairs); showing those as the character would hide which bytes came.
// Stateful encodings (ISO-2022-JP) cannot be checked a buffer at a time and
// are trusted, with rp nil.
func (e *Encoding) roundTrips(rp *[]byte, text, src []byte) bool {
	if rp == nil {
		return true
	}
	enc := e.encoder()
	n, m, err := enc.Transform(*rp, text, true)
	return err == nil && m == len(text) && bytes.Equal((*rp)[:n], src)
}

// clean reports whether decoded text can be displayed without looking at
// the bytes it came from: it holds no U+FFFD, and every control character
// that is displayed as its original bytes is ASCII in an ASCII-compatible
// encoding (so the decoded byte is the original byte).
func (e *Encoding) clean(out []byte) bool {
	for i := 0; i < len(out); i++ {
		switch c := out[i]; {
		case c < 0x20 || c == 0x7f:
			if !e.asciiCompat && c != '\n' && c != '\r' && c != '\t' && c != 0 {
				return false
			}
		case c == 0xc2: // U+0080..U+009F are c2 80..c2 9f
			if i+1 < len(out) && out[i+1] < 0xa0 {
				return false
			}
		case c == 0xef: // U+FFFD is ef bf bd
			if i+2 < len(out) && out[i+1] == 0xbf && out[i+2] == 0xbd {
				return false
			}
		}
	}
	return true
}

func appendDisplaySlow(dst []byte, c *charCodec, src []byte) []byte {
	for i := 0; i < len(src); {
		r, n := c.next(src[i:])
		if n == 0 {
			dst = appendByteEscape(dst, src[i])
			i++
			continue
		}
		dst = appendChar(dst, r, src[i:i+n])
		i += n
	}
	return dst
}

// plainRun returns the length of the leading run of printable ASCII other
// than backslash: bytes that display as themselves. It checks eight bytes
// at a time.
func plainRun(b []byte) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		low := (w - 0x20*ones) &^ w & highs        // a byte < 0x20 (or ≥ 0x80)
		high := (w + (0x80-0x7f)*ones | w) & highs // a byte ≥ 0x7f
		x := w ^ '\\'*ones                         // a backslash becomes 0
		bs := (x - ones) &^ x & highs
		if low|high|bs != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c >= 0x7f || c == '\\' {
			break
		}
	}
	return i
}

// appendChar appends the display form of the decoded character r, whose
// bytes in the source were raw.
func appendChar(dst []byte, r rune, raw []byte) []byte {
	switch {
	case r >= 0x20 && r < 0x7f:
		if r == '\\' {
			return append(dst, '\\', '\\')
		}
		return append(dst, byte(r))
	case r == '\n':
		return append(dst, '\\', 'n')
	case r == '\r':
		return append(dst, '\\', 'r')
	case r == '\t':
		return append(dst, '\\', 't')
	case r == 0:
		return append(dst, '\\', '0')
	case r < 0xa0: // other C0, DEL, C1
		for _, c := range raw {
			dst = appendByteEscape(dst, c)
		}
		return dst
	case unicode.IsPrint(r):
		return utf8.AppendRune(dst, r)
	case r <= 0xffff:
		return append(dst, '\\', 'u',
			hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
	}
	dst = append(dst, '\\', 'U')
	for shift := 28; shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[r>>shift&0xf])
	}
	return dst
}

func appendByteEscape(dst []byte, c byte) []byte {
	return append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
}

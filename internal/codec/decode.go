package codec

import (
	"bytes"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/transform"
)

// Decode returns src decoded to UTF-8, for machine output such as the
// "text" field of a JSON event. Bytes that are not valid in e become
// U+FFFD, one per byte for UTF-8 and single-byte encodings, and ok is
// false. For utf-16 a leading byte order mark picks the byte order and is
// dropped; utf-16le and utf-16be keep a BOM as U+FEFF.
func (e *Encoding) Decode(src []byte) (s string, ok bool) {
	switch e.kind {
	case kindUTF8:
		if utf8.Valid(src) {
			return string(src), true
		}
		b := make([]byte, 0, len(src)+8)
		for i := 0; i < len(src); {
			r, n := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && n == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, src[i:i+n]...)
			}
			i += n
		}
		return string(b), false
	case kindSingle:
		b := make([]byte, 0, len(src)+8)
		ok = true
		for _, c := range src {
			r := e.table[c]
			if r == invalid {
				r, ok = utf8.RuneError, false
			}
			b = utf8.AppendRune(b, r)
		}
		return string(b), ok
	case kindUTF16:
		b := make([]byte, 0, len(src)+8)
		ok = true
		src, big := e.utf16Order(src, true)
		for i := 0; i < len(src); {
			r, n := decodeUTF16(src[i:], big)
			if n == 0 {
				r, n, ok = utf8.RuneError, min(2, len(src)-i), false
			}
			b = utf8.AppendRune(b, r)
			i += n
		}
		return string(b), ok
	}
	out, _, err := transform.Bytes(e.decoder(), src)
	if err != nil {
		// x/text decoders report bad input as U+FFFD, not as errors; be
		// safe anyway.
		return e.decodeSlow(src)
	}
	if bytes.Contains(out, replacementChar) {
		// Either undecodable bytes or a U+FFFD really encoded (GB18030
		// can): tell them apart character by character.
		return string(out), e.validSlow(src)
	}
	return string(out), true
}

var replacementChar = []byte("\ufffd")

// utf16Order returns the byte order for src and, when drop is set and e
// honours BOMs, src without its BOM.
func (e *Encoding) utf16Order(src []byte, drop bool) ([]byte, bool) {
	if e.bom && len(src) >= 2 {
		switch {
		case src[0] == 0xfe && src[1] == 0xff:
			if drop {
				src = src[2:]
			}
			return src, true
		case src[0] == 0xff && src[1] == 0xfe:
			if drop {
				src = src[2:]
			}
			return src, false
		}
	}
	return src, e.bigEndian
}

// decodeUTF16 decodes the character at the start of src: n is 2 or 4, or 0
// when src starts with an odd byte or an unpaired surrogate.
func decodeUTF16(src []byte, big bool) (rune, int) {
	if len(src) < 2 {
		return 0, 0
	}
	u := unit(src, big)
	switch {
	case u < 0xd800 || u >= 0xe000:
		return rune(u), 2
	case u >= 0xdc00 || len(src) < 4:
		return 0, 0
	}
	lo := unit(src[2:], big)
	if lo < 0xdc00 || lo >= 0xe000 {
		return 0, 0
	}
	return utf16.DecodeRune(rune(u), rune(lo)), 4
}

func unit(b []byte, big bool) uint16 {
	if big {
		return uint16(b[0])<<8 | uint16(b[1])
	}
	return uint16(b[1])<<8 | uint16(b[0])
}

// Boundary returns the length of the longest prefix of src that does not
// end inside an incomplete multi-byte character, so that a reader can
// decode src[:n] now and carry src[n:] over to the next read. A tail that
// can never become a valid character counts as complete. For utf-16 the
// byte order comes from a BOM at the start of src, if any.
func (e *Encoding) Boundary(src []byte) int {
	switch e.kind {
	case kindUTF8:
		return boundaryUTF8(src)
	case kindSingle:
		return len(src)
	case kindUTF16:
		_, big := e.utf16Order(src, false)
		n := len(src) &^ 1
		if n >= 2 {
			if isHighSurrogate(unit(src[n-2:], big)) {
				return n - 2
			}
		}
		return n
	}
	return e.boundaryMulti(src)
}

func boundaryUTF8(src []byte) int {
	for i := len(src) - 1; i >= 0 && i >= len(src)-utf8.UTFMax+1; i-- {
		c := src[i]
		if c < utf8.RuneSelf {
			return len(src)
		}
		if utf8.RuneStart(c) {
			if utf8.FullRune(src[i:]) {
				return len(src)
			}
			return i
		}
	}
	return len(src)
}

// scratchPool holds buffers for Transform output on paths that should not
// allocate.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 8192); return &b }}

func (e *Encoding) boundaryMulti(src []byte) int {
	start := 0
	if e.sync {
		// In the CJK encodings a byte below 0x30 is always a character of
		// its own, so decoding can start just after the last one.
		for i := len(src) - 1; i >= 0; i-- {
			if src[i] < 0x30 {
				start = i + 1
				break
			}
		}
	}
	dec := e.decoder()
	dec.Reset()
	bp := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(bp)
	pos := start
	for pos < len(src) {
		_, nSrc, err := dec.Transform(*bp, src[pos:], false)
		pos += nSrc
		switch err {
		case nil, transform.ErrShortDst:
			if nSrc == 0 {
				return len(src)
			}
		case transform.ErrShortSrc:
			return pos
		default:
			return len(src)
		}
	}
	return len(src)
}

// charCodec decodes and re-encodes single characters of a kindMulti
// encoding, for the slow paths that must find exactly which bytes are
// invalid.
type charCodec struct {
	dec      *encoding.Decoder
	enc      *encoding.Encoder
	out, rev [32]byte
}

func (e *Encoding) newCharCodec() *charCodec {
	return &charCodec{dec: e.decoder(), enc: e.encoder()}
}

// next returns the character at the start of src and its length, or n == 0
// when src[0] starts no valid character. A character is accepted only if
// it re-encodes to the same bytes, so a decoder's U+FFFD or a lenient
// mapping is never mistaken for a character.
func (c *charCodec) next(src []byte) (r rune, n int) {
	for n = 1; n <= 4 && n <= len(src); n++ {
		c.dec.Reset()
		nDst, nSrc, err := c.dec.Transform(c.out[:], src[:n], true)
		if err != nil || nSrc != n || nDst == 0 {
			continue
		}
		r, size := utf8.DecodeRune(c.out[:nDst])
		if size != nDst {
			continue
		}
		c.enc.Reset()
		m, _, err := c.enc.Transform(c.rev[:], c.out[:nDst], true)
		if err == nil && bytes.Equal(c.rev[:m], src[:n]) {
			return r, n
		}
	}
	return 0, 0
}

func (e *Encoding) validSlow(src []byte) bool {
	c := e.newCharCodec()
	for i := 0; i < len(src); {
		_, n := c.next(src[i:])
		if n == 0 {
			return false
		}
		i += n
	}
	return true
}

func (e *Encoding) decodeSlow(src []byte) (string, bool) {
	c := e.newCharCodec()
	b := make([]byte, 0, len(src)+8)
	ok := true
	for i := 0; i < len(src); {
		r, n := c.next(src[i:])
		if n == 0 {
			r, n, ok = utf8.RuneError, 1, false
		}
		b = utf8.AppendRune(b, r)
		i += n
	}
	return string(b), ok
}

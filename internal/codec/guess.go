package codec

import (
	"bytes"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Guess looks at received bytes that are not valid UTF-8 and names the
// encoding they are most likely text in, for a learner's hint ("looks
// like GBK: try --recv-encoding gbk"): "gbk", "gb18030", "utf-16le" or
// "utf-16be". It returns "" when p is valid UTF-8, when it is too short
// to tell, and for anything that does not read as text: it would rather
// say nothing than send someone after the wrong encoding, so binary data
// and European single-byte text, whose accented letters can pair up into
// GBK characters, stay unnamed.
//
// The tests are strict. GBK: every byte decodes (GB18030), there are no
// control characters but tab, CR and LF, there are at least two
// double-byte characters, and they are nearly all in the GB2312 rows
// (both bytes 0xA1 or above), where everyday Chinese text lies and where
// Latin-1 letters followed by ASCII never fall. UTF-16: zero bytes (GBK
// text has none) or a byte order mark, an even length, every unit a
// printable character, mostly ASCII or CJK. An incomplete character at
// the end (a read that stopped inside one) is left out.
func Guess(p []byte) string {
	if len(p) < 4 {
		return ""
	}
	hasZero := bytes.IndexByte(p, 0) >= 0
	if hasZero || hasBOM16(p) {
		// UTF-16 of ASCII text is valid UTF-8 full of NULs: not text.
		return guessUTF16(p)
	}
	if utf8.Valid(p[:boundaryUTF8(p)]) {
		return ""
	}
	return guessGB(p)
}

func hasBOM16(p []byte) bool {
	return len(p) >= 2 && (p[0] == 0xff && p[1] == 0xfe || p[0] == 0xfe && p[1] == 0xff)
}

// guessGB tells GBK (or GB18030) text.
func guessGB(p []byte) string {
	var gb, gbkEnc *Encoding
	var err error
	if gb, err = Lookup("gb18030"); err != nil {
		return ""
	}
	if gbkEnc, err = Lookup("gbk"); err != nil {
		return ""
	}
	whole := p
	p = p[:gb.Boundary(p)]
	var double, gb2312, common, four int
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c < 0x80:
			if !textByte(c) {
				return ""
			}
			i++
			continue
		case c == 0x80 || c == 0xff || i+1 >= len(p):
			return ""
		}
		t := p[i+1]
		switch {
		case t >= 0x40 && t <= 0xfe && t != 0x7f:
			double++
			if c >= 0xa1 && t >= 0xa1 {
				gb2312++
				// The 3,755 commonest characters (GB2312 level 1) and
				// the punctuation rows make up nearly all everyday text.
				if c >= 0xb0 && c <= 0xd7 || c <= 0xa3 {
					common++
				}
			}
			i += 2
		case t >= 0x30 && t <= 0x39 && i+3 < len(p):
			four++
			i += 4
		default:
			return ""
		}
	}
	switch {
	case double+four < 2, gb2312*10 < double*9, common*10 < double*8:
		return ""
	case double < 4 && four == 0 && common < double:
		return "" // two or three characters: all of them common ones
	}
	text, ok := gb.Decode(p)
	if !ok {
		return ""
	}
	for _, r := range text {
		if r >= utf8.RuneSelf && !cjkText(r) {
			return ""
		}
	}
	if four == 0 {
		// GBK, unless what GB18030 took for the start of a four-byte
		// character at the end is not GBK.
		if _, ok := gbkEnc.Decode(whole[:gbkEnc.Boundary(whole)]); ok {
			return "gbk"
		}
	}
	return "gb18030"
}

// guessUTF16 tells UTF-16 text and its byte order.
func guessUTF16(p []byte) string {
	order := []string{"utf-16le", "utf-16be"}
	bom := hasBOM16(p)
	if bom {
		if p[0] == 0xff {
			order = order[:1]
		} else {
			order = order[1:]
		}
		p = p[2:]
	}
	p = p[:len(p)&^1]
	if len(p) < 4 {
		return ""
	}
	for _, name := range order {
		if utf16Text(p, name == "utf-16be", bom) {
			return name
		}
	}
	return ""
}

// utf16Text reports whether p reads as UTF-16 text in that byte order:
// every unit a printable character (surrogates paired), and at least
// half of them ASCII or CJK. Without a byte order mark, at least half of
// the units must be ASCII (a zero high byte): that is what tells UTF-16
// from binary data with a zero byte in it.
func utf16Text(p []byte, big, bom bool) bool {
	units := make([]uint16, 0, len(p)/2)
	for i := 0; i+1 < len(p); i += 2 {
		units = append(units, unit(p[i:], big))
	}
	if n := len(units); n > 0 && utf16.IsSurrogate(rune(units[n-1])) && units[n-1] < 0xdc00 {
		units = units[:n-1] // a pair cut at the end of a read
	}
	ascii := 0
	for _, u := range units {
		if u < 0x80 {
			ascii++
		}
	}
	if !bom && ascii*2 < len(units) {
		return false
	}
	common := 0
	runes := utf16.Decode(units)
	for _, r := range runes {
		switch {
		case r < utf8.RuneSelf:
			if !textByte(byte(r)) {
				return false
			}
			common++
		case r == utf8.RuneError || !unicode.IsPrint(r):
			return false // unpaired surrogates decode to U+FFFD
		case cjkText(r):
			common++
		}
	}
	return (len(runes) >= 3 || bom && len(runes) >= 2) && common*2 >= len(runes)
}

// textByte reports an ASCII byte that text holds: printable, tab, CR, LF.
func textByte(c byte) bool {
	return c >= 0x20 && c < 0x7f || c == '\t' || c == '\r' || c == '\n'
}

// cjkText reports characters of Chinese text as GBK holds it: Han,
// CJK punctuation, full-width forms, kana, bopomofo, and the Greek,
// Cyrillic, box-drawing and general punctuation rows of GB2312.
func cjkText(r rune) bool {
	switch {
	case unicode.Is(unicode.Han, r),
		r >= 0x3000 && r <= 0x303f, // CJK symbols and punctuation
		r >= 0xff01 && r <= 0xffe5, // full-width forms
		r >= 0x3040 && r <= 0x30ff, // kana
		r >= 0x3100 && r <= 0x312f, // bopomofo
		r >= 0x2010 && r <= 0x203b, // dashes, quotes, ellipsis
		r >= 0x2460 && r <= 0x249b, // circled and parenthesised numbers
		r >= 0x2500 && r <= 0x257f, // box drawing
		r >= 0x0391 && r <= 0x03c9, // Greek
		r >= 0x0401 && r <= 0x0451, // Cyrillic
		r == 0x00b7 || r == 0x00d7 || r == 0x00f7 || r == 0x00b0 || r == 0x00a7 || r == 0x20ac:
		return true
	}
	return false
}

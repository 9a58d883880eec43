// Package codec turns text into the bytes that go on the wire and bytes
// back into text a person or a program can read: character encodings (GBK,
// Shift_JIS, UTF-16, latin1 and every WHATWG and IANA name), escapes typed
// on a command line, hex input, hexdump -C style dumps and the escaped
// display form that never hides a byte.
//
// The byte stream is the truth: encoding is applied only when asked for,
// UTF-8 is an identity with fast paths, and display escapes what it cannot
// show instead of dropping or replacing it. The package does no I/O of its
// own beyond the writers it wraps, and does not frame messages (see
// internal/frame).
package codec

import (
	"slices"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/transform"

	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/suggest"
)

type kind uint8

const (
	kindUTF8   kind = iota
	kindSingle      // one byte per character, from a 256-entry table
	kindUTF16       // UTF-16, either byte order
	kindMulti       // any other x/text encoding (CJK, stateful ones)
)

// invalid marks a byte that decodes to no character in a single-byte table.
const invalid rune = -1

// Encoding is a character encoding found by Lookup. It is immutable and
// safe for concurrent use.
type Encoding struct {
	name string
	kind kind

	// asciiCompat: every ASCII character encodes to, and decodes from, the
	// same single byte. True for UTF-8, latin1, GBK, Shift_JIS…; false for
	// UTF-16 and EBCDIC. Enables byte-for-byte fast paths.
	asciiCompat bool

	// kindSingle
	table      *[256]rune                // byte → character, or invalid
	encodeRune func(r rune) (byte, bool) // character → byte

	// kindUTF16
	bigEndian bool
	bom       bool // a leading byte order mark picks the byte order when decoding

	// kindMulti
	x         encoding.Encoding
	stateless bool // x's transformers keep no state: share one of each
	dec       *encoding.Decoder
	enc       *encoding.Encoder
	sync      bool // a byte < 0x30 never continues a character (Boundary shortcut)
}

var utf8Encoding = &Encoding{name: "utf-8", kind: kindUTF8, asciiCompat: true}

// commonNames are the encodings named in help text and hints.
var commonNames = []string{
	"utf-8", "gbk", "gb18030", "big5", "shift_jis", "euc-jp", "euc-kr",
	"utf-16le", "utf-16be", "utf-16", "latin1", "ascii",
}

// suggestNames are the names a misspelling is compared with.
var suggestNames = append([]string{"gb2312", "sjis"}, commonNames...)

// CommonNames returns the names of the encodings most people need, for
// help text and completion. Lookup accepts many more.
func CommonNames() []string { return slices.Clone(commonNames) }

// aliases maps a normalized name (see normalize) to its canonical name, for
// the names sockit handles itself rather than by the WHATWG/IANA indexes.
// latin1 and ascii are here because WHATWG maps both to windows-1252, and
// utf-16 because WHATWG makes it little-endian without a BOM.
var aliases = map[string]string{
	"utf8":         "utf-8",
	"gbk":          "gbk",
	"cp936":        "gbk",
	"gb2312":       "gbk",
	"gb18030":      "gb18030",
	"big5":         "big5",
	"shiftjis":     "shift_jis",
	"sjis":         "shift_jis",
	"eucjp":        "euc-jp",
	"euckr":        "euc-kr",
	"utf16le":      "utf-16le",
	"utf16be":      "utf-16be",
	"utf16":        "utf-16",
	"latin1":       "latin1",
	"l1":           "latin1",
	"iso88591":     "latin1",
	"iso885911987": "latin1",
	"cp819":        "latin1",
	"ibm819":       "latin1",
	"ascii":        "ascii",
	"usascii":      "ascii",
	"ansix3.41968": "ascii",
	"iso646us":     "ascii",
}

// normalize folds case and drops the separators people vary: "Shift-JIS",
// "shift_jis" and "SHIFTJIS" are one name.
func normalize(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_' || c == ' ' || c == ':':
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Lookup returns the encoding called name. "" means UTF-8. Matching is
// case-insensitive and ignores '-' and '_'. Besides the common names
// (utf-8, gbk, gb18030, gb2312, big5, shift_jis, euc-jp, euc-kr, utf-16le,
// utf-16be, utf-16, latin1, ascii) every WHATWG label and every IANA name
// that golang.org/x/text implements is accepted. latin1 and iso-8859-1 are
// ISO-8859-1 exactly (byte N is U+00NN), not windows-1252 as in WHATWG;
// ascii is 7-bit. An unknown name is a *exitcode.UsageError with a hint.
func Lookup(name string) (*Encoding, error) {
	name = strings.TrimSpace(name)
	key := normalize(name)
	if key == "" {
		return utf8Encoding, nil
	}
	if canon, ok := aliases[key]; ok {
		return common(canon), nil
	}
	variants := []string{name, strings.ReplaceAll(name, "_", "-"), strings.ReplaceAll(name, "-", "_")}
	for _, v := range variants {
		if x, err := htmlindex.Get(v); err == nil && x != nil {
			if e := fromX(x); e != nil {
				return e, nil
			}
		}
	}
	for _, v := range variants {
		if x, err := ianaindex.IANA.Encoding(v); err == nil && x != nil {
			if e := fromX(x); e != nil {
				return e, nil
			}
		}
	}
	if best := closest(key, suggestNames); best != "" {
		return nil, fail.Inputf("unknown encoding %q", name).WithHint("%s", "Did you mean "+best+"?")
	}
	return nil, fail.Inputf("unknown encoding %q", name).WithHint("%s", "Note that the common encodings are "+strings.Join(commonNames, ", ")+", and any WHATWG or IANA name.")
}

// common builds one of the encodings in aliases from its canonical name.
func common(canon string) *Encoding {
	switch canon {
	case "utf-8":
		return utf8Encoding
	case "latin1":
		var t [256]rune
		for i := range t {
			t[i] = rune(i)
		}
		return &Encoding{name: canon, kind: kindSingle, asciiCompat: true, table: &t,
			encodeRune: func(r rune) (byte, bool) { return byte(r), r >= 0 && r < 0x100 }}
	case "ascii":
		var t [256]rune
		for i := range t {
			t[i] = invalid
			if i < 0x80 {
				t[i] = rune(i)
			}
		}
		return &Encoding{name: canon, kind: kindSingle, asciiCompat: true, table: &t,
			encodeRune: func(r rune) (byte, bool) { return byte(r), r >= 0 && r < 0x80 }}
	case "utf-16le":
		return &Encoding{name: canon, kind: kindUTF16}
	case "utf-16be":
		return &Encoding{name: canon, kind: kindUTF16, bigEndian: true}
	case "utf-16":
		return &Encoding{name: canon, kind: kindUTF16, bigEndian: true, bom: true}
	case "gbk":
		return multi(canon, simplifiedchinese.GBK, true)
	case "gb18030":
		return multi(canon, simplifiedchinese.GB18030, true)
	case "big5":
		return multi(canon, traditionalchinese.Big5, true)
	case "shift_jis":
		return multi(canon, japanese.ShiftJIS, true)
	case "euc-jp":
		return multi(canon, japanese.EUCJP, true)
	case "euc-kr":
		return multi(canon, korean.EUCKR, true)
	}
	panic("codec: no common encoding " + canon) // unreachable: aliases holds only the names above
}

// fromX wraps an x/text encoding found by name, or returns nil for the
// WHATWG "replacement" encoding, which decodes everything to U+FFFD and so
// is useless for talking to a device.
func fromX(x encoding.Encoding) *Encoding {
	name, err := htmlindex.Name(x)
	if err != nil {
		if name, err = ianaindex.MIME.Name(x); err != nil {
			if name, err = ianaindex.IANA.Name(x); err != nil {
				return nil
			}
		}
	}
	name = strings.ToLower(name)
	if name == "replacement" {
		return nil
	}
	if canon, ok := aliases[normalize(name)]; ok {
		return common(canon)
	}
	if cm, ok := x.(*charmap.Charmap); ok {
		return single(name, cm)
	}
	return multi(name, x, false)
}

// single builds a table-driven single-byte encoding from an x/text charmap.
func single(name string, cm *charmap.Charmap) *Encoding {
	var t [256]rune
	for i := range t {
		r := cm.DecodeByte(byte(i))
		if r == '\ufffd' {
			r = invalid
		}
		t[i] = r
	}
	e := &Encoding{name: name, kind: kindSingle, table: &t, encodeRune: cm.EncodeRune}
	e.asciiCompat = true
	for i := 0; i < 0x80; i++ {
		if b, ok := cm.EncodeRune(rune(i)); !ok || b != byte(i) || t[i] != rune(i) {
			e.asciiCompat = false
			break
		}
	}
	return e
}

// multi wraps an x/text encoding. stateless is true only for encodings
// whose transformers are known to keep no state between calls, so that one
// decoder and one encoder can be shared by every goroutine.
func multi(name string, x encoding.Encoding, stateless bool) *Encoding {
	e := &Encoding{name: name, kind: kindMulti, x: x, stateless: stateless, sync: stateless}
	if stateless {
		e.dec = x.NewDecoder()
		e.enc = x.NewEncoder()
	}
	// The stateless ones are the CJK encodings, all ASCII-compatible (a
	// test checks); others are asked.
	e.asciiCompat = stateless || asciiRoundTrips(x)
	return e
}

// asciiRoundTrips reports whether x encodes and decodes all of ASCII as
// itself, both as a whole and one character at a time.
func asciiRoundTrips(x encoding.Encoding) bool {
	var all [128]byte
	for i := range all {
		all[i] = byte(i)
	}
	enc, _, err := transform.Bytes(x.NewEncoder(), all[:])
	if err != nil || string(enc) != string(all[:]) {
		return false
	}
	dec, _, err := transform.Bytes(x.NewDecoder(), all[:])
	if err != nil || string(dec) != string(all[:]) {
		return false
	}
	for i := range all {
		one, _, err := transform.Bytes(x.NewDecoder(), all[i:i+1])
		if err != nil || len(one) != 1 || one[0] != byte(i) {
			return false
		}
	}
	return true
}

// Name returns the canonical lower-case name: "utf-8", "gbk", "shift_jis",
// "latin1", "windows-1252"…
func (e *Encoding) Name() string { return e.name }

// String returns Name, so an *Encoding prints as its name.
func (e *Encoding) String() string { return e.name }

// IsUTF8 reports whether e is UTF-8, where encoding and decoding are the
// identity.
func (e *Encoding) IsUTF8() bool { return e.kind == kindUTF8 }

// ASCIICompatible reports whether every ASCII character is the same single
// byte in e (true for UTF-8, latin1, GBK, Shift_JIS, Big5…; false for
// UTF-16 and EBCDIC). Line framing on "\n" is only meaningful when it is.
func (e *Encoding) ASCIICompatible() bool { return e.asciiCompat }

// decoder returns a decoder for a kindMulti encoding: the shared one when
// the encoding is stateless, else a fresh one.
func (e *Encoding) decoder() *encoding.Decoder {
	if e.dec != nil {
		return e.dec
	}
	return e.x.NewDecoder()
}

// encoder is decoder's counterpart.
func (e *Encoding) encoder() *encoding.Encoder {
	if e.enc != nil {
		return e.enc
	}
	return e.x.NewEncoder()
}

// closest returns the candidate nearest to key (already normalized) when it
// is near enough to be a likely slip, else "".
func closest(key string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := suggest.Distance(key, normalize(c)); d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(key) <= 4 {
		limit = 1
	}
	if bestD > limit {
		return ""
	}
	return best
}

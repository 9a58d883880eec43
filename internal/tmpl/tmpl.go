// Package tmpl expands placeholders in outgoing data (--template), so that
// repeated sends carry a sequence number, a time stamp or random bytes:
// numbered test traffic of the kind Packet Sender users ask for.
//
//	{{seq}}        the send's sequence number in decimal (Vars.Seq)
//	{{seq:N}}      the same, zero-padded to N digits (N ≤ 32)
//	{{time}}       Vars.Now, RFC 3339 with milliseconds: 2006-01-02T15:04:05.000Z07:00
//	{{unix}}       Unix time in seconds
//	{{unix_ms}}    Unix time in milliseconds
//	{{rand:N}}     N random bytes (1 ≤ N ≤ 65536)
//	{{randhex:N}}  N random bytes written as 2N lower-case hex digits
//	{{hex:0a0b}}   raw bytes, in any form codec.ParseHex accepts
//	{{peer}}       the peer's address (Vars.Peer)
//
// Templates are off unless asked for, so literal braces need no escaping
// in ordinary sends. In a template every "{{" starts a placeholder; a
// literal "{{" is written {{hex:7b7b}}. Extra opening braces before a
// placeholder are literal, so `{"id":{{seq}}}` is JSON with a number.
//
// Literal text is converted with the encoding (and escapes, if on) once,
// at Compile; text a placeholder produces (seq, time, unix, randhex, peer)
// is encoded at each Append, which matters for UTF-16; rand and hex bytes
// are raw. The package does not decide when to send.
package tmpl

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/suggest"
)

// Vars are the values placeholders expand to at one send.
type Vars struct {
	Seq  uint64    // {{seq}}: the caller counts, usually from 1
	Now  time.Time // {{time}}, {{unix}}, {{unix_ms}}; zero means time.Now()
	Peer string    // {{peer}}
	Rand io.Reader // {{rand}}, {{randhex}}; nil means crypto/rand
}

type kind uint8

const (
	kLiteral kind = iota // lit holds encoded bytes
	kSeq                 // n is the width, 0 for none
	kTime
	kUnix
	kUnixMs
	kRand    // n bytes
	kRandHex // n bytes, as 2n hex digits
	kPeer
)

type part struct {
	kind kind
	lit  []byte
	n    int
}

// Template is a compiled template. It is immutable and safe for concurrent
// use.
type Template struct {
	parts  []part
	enc    *codec.Encoding
	static bool
}

// Limits on placeholder arguments.
const (
	maxRand  = 65536
	maxWidth = 32
)

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

const placeholderHint = "Note that placeholders are {{seq}}, {{seq:N}}, {{time}}, {{unix}}, {{unix_ms}}, " +
	"{{rand:N}}, {{randhex:N}}, {{hex:HEX}} and {{peer}}."

var names = []string{"seq", "time", "unix", "unix_ms", "rand", "randhex", "hex", "peer"}

// Compile parses s. Literal text is encoded with enc (nil means UTF-8),
// interpreting backslash escapes when escapes is set (see
// codec.Encoding.AppendText). An unknown placeholder, a bad argument or an
// unclosed "{{" is a *exitcode.UsageError naming it and its offset.
func Compile(s string, enc *codec.Encoding, escapes bool) (*Template, error) {
	if enc == nil {
		var err error
		if enc, err = codec.Lookup(""); err != nil {
			return nil, err
		}
	}
	t := &Template{enc: enc, static: true}
	var lit []byte // pending literal bytes, merged across static parts
	i := 0
	for i < len(s) {
		j := strings.Index(s[i:], "{{")
		if j < 0 {
			break
		}
		open := i + j
		// With "{{{seq}}" the placeholder is the last two braces.
		for open+2 < len(s) && s[open+2] == '{' {
			open++
		}
		var err error
		if lit, err = enc.AppendTextAt(lit, s[i:open], escapes, i); err != nil {
			return nil, err
		}
		end := strings.Index(s[open+2:], "}}")
		if end < 0 {
			return nil, exitcode.WithHint("Note that a literal {{ is written {{hex:7b7b}} in a template.",
				"unclosed \"{{\" at offset %d", open)
		}
		end += open + 2
		p, err := parsePlaceholder(s[open:end+2], open)
		if err != nil {
			return nil, err
		}
		if p.kind == kLiteral {
			lit = append(lit, p.lit...)
		} else {
			if len(lit) > 0 {
				t.parts = append(t.parts, part{kind: kLiteral, lit: lit})
				lit = nil
			}
			t.parts = append(t.parts, p)
			t.static = false
		}
		i = end + 2
	}
	var err error
	if lit, err = enc.AppendTextAt(lit, s[i:], escapes, i); err != nil {
		return nil, err
	}
	if len(lit) > 0 {
		t.parts = append(t.parts, part{kind: kLiteral, lit: lit})
	}
	return t, nil
}

// parsePlaceholder parses one "{{name}}" or "{{name:arg}}" found at offset.
func parsePlaceholder(ph string, offset int) (part, error) {
	inner := strings.TrimSpace(ph[2 : len(ph)-2])
	name, arg, hasArg := strings.Cut(inner, ":")
	name = strings.ToLower(strings.TrimSpace(name))
	arg = strings.TrimSpace(arg)
	bad := func(format string, args ...any) error {
		return exitcode.WithHint(placeholderHint, "%q at offset %d: %s", ph, offset, fmt.Sprintf(format, args...))
	}
	noArg := func(k kind) (part, error) {
		if hasArg {
			return part{}, bad("%s takes no argument", name)
		}
		return part{kind: k}, nil
	}
	count := func(k kind, what string, lo, hi int) (part, error) {
		if !hasArg {
			return part{}, bad("%s needs a %s: {{%s:N}}", name, what, name)
		}
		n, err := strconv.Atoi(arg)
		if err != nil || n < lo || n > hi {
			return part{}, bad("%s %q is not a number from %d to %d", what, arg, lo, hi)
		}
		return part{kind: k, n: n}, nil
	}
	switch name {
	case "seq":
		if !hasArg {
			return part{kind: kSeq}, nil
		}
		return count(kSeq, "width", 1, maxWidth)
	case "time":
		return noArg(kTime)
	case "unix":
		return noArg(kUnix)
	case "unix_ms":
		return noArg(kUnixMs)
	case "peer":
		return noArg(kPeer)
	case "rand":
		return count(kRand, "count", 1, maxRand)
	case "randhex":
		return count(kRandHex, "count", 1, maxRand)
	case "hex":
		b, err := codec.ParseHex(arg)
		if err != nil {
			var u *exitcode.UsageError
			if errors.As(err, &u) {
				return part{}, exitcode.WithHint(u.Hint, "%q at offset %d: %s", ph, offset, u.Msg)
			}
			return part{}, err
		}
		return part{kind: kLiteral, lit: b}, nil
	}
	if best := closestName(name); best != "" {
		return part{}, exitcode.WithHint("Did you mean {{"+best+"}}?", "unknown placeholder %q at offset %d", ph, offset)
	}
	return part{}, exitcode.WithHint(placeholderHint, "unknown placeholder %q at offset %d", ph, offset)
}

// Static reports whether the template has no placeholder whose value
// changes between sends ({{hex}} does not count), so that a caller can
// Append once and reuse the bytes.
func (t *Template) Static() bool { return t.static }

// MaxLen is the most bytes Append can add for v: literal bytes exactly,
// each placeholder at its longest, so that a caller can refuse a template
// that would expand past a limit before expanding it.
func (t *Template) MaxLen(v Vars) int {
	char := 1 // bytes per ASCII character in the encoding
	if !t.enc.ASCIICompatible() {
		char = 4
	}
	n := 0
	for _, p := range t.parts {
		switch p.kind {
		case kLiteral:
			n += len(p.lit)
		case kSeq:
			n += char * max(p.n, 20) // 20 digits hold any uint64
		case kTime:
			n += char * (len(timeLayout) + 6) // a five-digit year, a zone like +05:30
		case kUnix, kUnixMs:
			n += char * 20
		case kRand:
			n += p.n
		case kRandHex:
			n += char * 2 * p.n
		case kPeer:
			n += 4 * len(v.Peer)
		}
	}
	return n
}

// Append appends the template expanded with v to dst. It does not
// allocate when v.Rand is set and dst has room, for UTF-8 and every other
// ASCII-compatible encoding. Errors come only from reading v.Rand and from
// encoding v.Peer; on error the returned slice is dst as it was.
func (t *Template) Append(dst []byte, v Vars) ([]byte, error) {
	orig := len(dst)
	var now time.Time
	var scratch [64]byte
	var err error
	for i := range t.parts {
		p := &t.parts[i]
		switch p.kind {
		case kLiteral:
			dst = append(dst, p.lit...)
		case kSeq:
			// Digits go after maxWidth bytes of room for the zero padding.
			digits := strconv.AppendUint(scratch[maxWidth:maxWidth], v.Seq, 10)
			start := maxWidth - max(0, p.n-len(digits))
			for k := start; k < maxWidth; k++ {
				scratch[k] = '0'
			}
			dst, err = t.text(dst, scratch[start:maxWidth+len(digits)])
		case kTime, kUnix, kUnixMs:
			if now.IsZero() {
				if now = v.Now; now.IsZero() {
					now = time.Now()
				}
			}
			var b []byte
			switch p.kind {
			case kTime:
				b = now.AppendFormat(scratch[:0], timeLayout)
			case kUnix:
				b = strconv.AppendInt(scratch[:0], now.Unix(), 10)
			default:
				b = strconv.AppendInt(scratch[:0], now.UnixMilli(), 10)
			}
			dst, err = t.text(dst, b)
		case kRand:
			dst, err = appendRandom(dst, v.Rand, p.n)
		case kRandHex:
			dst, err = t.appendRandHex(dst, v.Rand, p.n)
		case kPeer:
			dst, err = t.enc.Append(dst, v.Peer)
		}
		if err != nil {
			return dst[:orig], err
		}
	}
	return dst, nil
}

// text appends b, ASCII text a placeholder produced, in the template's
// encoding.
func (t *Template) text(dst, b []byte) ([]byte, error) {
	if t.enc.ASCIICompatible() {
		return append(dst, b...), nil
	}
	return t.enc.Append(dst, string(b)) // short: the conversion stays on the stack
}

func appendRandom(dst []byte, r io.Reader, n int) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	dst = slices.Grow(dst, n)
	if _, err := io.ReadFull(r, dst[len(dst):len(dst)+n]); err != nil {
		return dst, fmt.Errorf("read %d random bytes: %w", n, err)
	}
	return dst[:len(dst)+n], nil
}

const hexDigits = "0123456789abcdef"

func (t *Template) appendRandHex(dst []byte, r io.Reader, n int) ([]byte, error) {
	start := len(dst)
	if t.enc.ASCIICompatible() {
		// Read the bytes into the second half of the room the digits will
		// take, then expand them forwards: writing digits 2i and 2i+1 never
		// reaches byte n+i+1, the next one to read.
		var err error
		if dst, err = appendRandom(slices.Grow(dst, 2*n)[:start+n], r, n); err != nil {
			return dst[:start], err
		}
		out := dst[start : start+2*n]
		for i := range n {
			c := out[n+i]
			out[2*i], out[2*i+1] = hexDigits[c>>4], hexDigits[c&0xf]
		}
		return dst, nil
	}
	// Other encodings: a chunk at a time, through the encoder. The random
	// bytes are read into dst's spare room (read buffers escape) and
	// copied out before the digits overwrite it.
	var raw [16]byte
	var digits [2 * len(raw)]byte
	for n > 0 {
		k := min(n, len(raw))
		more, err := appendRandom(dst, r, k)
		if err != nil {
			return dst[:start], err
		}
		copy(raw[:], more[len(dst):])
		dst = more[:len(dst)]
		for i, c := range raw[:k] {
			digits[2*i], digits[2*i+1] = hexDigits[c>>4], hexDigits[c&0xf]
		}
		if dst, err = t.text(dst, digits[:2*k]); err != nil {
			return dst[:start], err
		}
		n -= k
	}
	return dst, nil
}

// closestName suggests a placeholder name one or two edits from name.
func closestName(name string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := suggest.Distance(name, n); d < bestD {
			best, bestD = n, d
		}
	}
	if len(name) <= 3 && bestD > 1 {
		return ""
	}
	return best
}

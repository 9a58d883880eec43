// Package frame answers "TCP is a byte stream; where do my messages begin
// and end": it cuts a byte stream into messages by one of the framings
// of README "Data flags" (raw, line, delim:HEX, fixed:N, and 1-, 2- or
// 4-byte length prefixes), and frames messages the same way for sending.
//
// A Decoder delivers each message whole however the stream was chunked on
// the way, allocates nothing per message, and refuses a message over its
// limit before buffering it. Spec.Append encodes one message.
//
// It deliberately knows nothing of connections, text encodings or
// checksums, and does not try to resynchronise a stream after a bad
// length prefix: there is no reliable way to.
package frame

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/suggest"
)

// Kind is one way of framing messages on a byte stream.
type Kind uint8

// The framings of --frame. Length prefixes count payload bytes only; Len16
// and Len32 are big-endian (network order), the LE ones little-endian.
const (
	Raw     Kind = iota // no framing: whatever one read returns
	Line                // ends with "\n"
	Delim               // ends with Spec.Delim
	Fixed               // exactly Spec.N bytes
	Len8                // 1-byte length, then payload
	Len16               // 2-byte big-endian length, then payload
	Len16LE             // 2-byte little-endian length, then payload
	Len32               // 4-byte big-endian length, then payload
	Len32LE             // 4-byte little-endian length, then payload
)

var kindNames = [...]string{"raw", "line", "delim", "fixed", "len8", "len16", "len16le", "len32", "len32le"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// prefixes holds the size and byte order of each Kind's length prefix.
var prefixes = [...]struct {
	n     int
	order byteOrder
}{
	Len8: {1, binary.BigEndian}, Len16: {2, binary.BigEndian}, Len16LE: {2, binary.LittleEndian},
	Len32: {4, binary.BigEndian}, Len32LE: {4, binary.LittleEndian},
}

const (
	// DefaultMax is the largest message a Decoder accepts unless told
	// otherwise (--max-message), and the largest fixed:N.
	DefaultMax = 16 << 20
	// MaxDelim is the longest delimiter Parse accepts.
	MaxDelim = 16
)

// Spec is a framing: its Kind, and the size for Fixed or the delimiter for
// Delim. The zero Spec is Raw.
type Spec struct {
	Kind  Kind
	N     int    // message size, for Fixed
	Delim []byte // delimiter, for Delim
}

// The options this package's errors name (see fail.Option).
const (
	OptFrame      fail.Option = "frame"       // the framing
	OptMaxMessage fail.Option = "max-message" // the largest message
)

const forms = "raw, line, delim:HEX, fixed:N, len8, len16, len16le, len32 or len32le"

// Parse reads a --frame value: "" or raw, line, delim:HEX (1 to 16 bytes
// as plain hex digits, as in delim:0d0a), fixed:N (1 ≤ N ≤ 16 MiB), len8,
// len16, len16le, len32 or len32le, in any case. A bad value is bad
// input (package fail) naming the bad part, with a hint.
func Parse(s string) (Spec, error) {
	name, arg, hasArg := strings.Cut(strings.ToLower(s), ":")
	switch name {
	case "delim":
		const hint = "Note that delim takes 1 to 16 bytes as plain hex digits: delim:0d0a for CRLF, delim:00 for NUL."
		d, err := hex.DecodeString(arg)
		switch {
		case arg == "":
			return Spec{}, fail.Inputf("bad %s %q: delim needs a delimiter", OptFrame, s).WithHint("%s", hint)
		case len(arg)%2 != 0:
			return Spec{}, fail.Inputf("bad %s %q: delimiter %q has an odd number of hex digits", OptFrame, s, arg).WithHint("%s", hint)
		case err != nil:
			return Spec{}, fail.Inputf("bad %s %q: delimiter %q is not hex", OptFrame, s, arg).WithHint("%s", hint)
		case len(d) > MaxDelim:
			return Spec{}, fail.Inputf("bad %s %q: delimiter of %d bytes is too long (max %d)", OptFrame, s, len(d), MaxDelim).WithHint("%s", hint)
		}
		return Spec{Kind: Delim, Delim: d}, nil
	case "fixed":
		const hint = "Note that fixed takes the message size in bytes: fixed:16."
		n, err := strconv.Atoi(arg)
		switch {
		case arg == "":
			return Spec{}, fail.Inputf("bad %s %q: fixed needs a size", OptFrame, s).WithHint("%s", hint)
		case err != nil && !errors.Is(err, strconv.ErrRange):
			return Spec{}, fail.Inputf("bad %s %q: size %q is not a number", OptFrame, s, arg).WithHint("%s", hint)
		case err != nil || n < 1 || n > DefaultMax:
			return Spec{}, fail.Inputf("bad %s %q: size %s is out of range (1-%d)", OptFrame, s, arg, DefaultMax)
		}
		return Spec{Kind: Fixed, N: n}, nil
	case "":
		if !hasArg {
			return Spec{}, nil
		}
	}
	for k, n := range kindNames {
		if n == name {
			if hasArg {
				return Spec{}, fail.Inputf("bad %s %q: %s takes no argument", OptFrame, s, name).WithHint("Note that %s takes %s.", OptFrame, forms)
			}
			return Spec{Kind: Kind(k)}, nil
		}
	}
	e := fail.Inputf("bad %s %q: unknown framing %q", OptFrame, s, name).WithHint("Note that %s takes %s.", OptFrame, forms)
	if guess := nearName(name); guess != "" {
		if hasArg && (guess == "delim" || guess == "fixed") {
			guess += ":" + arg
		}
		e.WithHint("Did you mean %s? %s takes %s.", guess, OptFrame, forms)
	}
	return Spec{}, e
}

// aliases are names people reach for that mean one of ours.
var aliases = map[string]string{
	"none": "raw", "stream": "raw", "lines": "line", "newline": "line", "lf": "line",
	"crlf": "delim:0d0a", "delimiter": "delim", "sep": "delim", "separator": "delim",
	"size": "fixed", "len": "len16", "len64": "len32", "len16be": "len16", "len32be": "len32",
}

// nearName guesses which framing a mistyped name meant, or returns "".
func nearName(name string) string {
	name = strings.NewReplacer("-", "", "_", "", "length", "len", "lenght", "len").Replace(name)
	if a, ok := aliases[name]; ok {
		return a
	}
	// Within two edits, fewer for short names; on a tie, the closer length.
	best, bestD := "", min(2, len(name)/2)+1
	for _, k := range kindNames {
		d := suggest.Distance(name, k)
		if d < bestD || best != "" && d == bestD && abs(len(k)-len(name)) < abs(len(best)-len(name)) {
			best, bestD = k, d
		}
	}
	return best
}

func abs(n int) int { return max(n, -n) }

// String returns the canonical --frame form of s; Parse reads it back as
// the same Spec.
func (s Spec) String() string {
	switch s.Kind {
	case Delim:
		return "delim:" + hex.EncodeToString(s.Delim)
	case Fixed:
		return "fixed:" + strconv.Itoa(s.N)
	}
	return s.Kind.String()
}

// IsRaw reports whether s does no framing at all.
func (s Spec) IsRaw() bool { return s.Kind == Raw }

// check rejects a Spec that Parse never returns (one built by hand).
func (s Spec) check() error {
	switch {
	case s.Kind > Len32LE:
		return fmt.Errorf("invalid framing %v", s.Kind)
	case s.Kind == Fixed && s.N < 1:
		return fmt.Errorf("invalid framing fixed:%d", s.N)
	case s.Kind == Delim && len(s.Delim) == 0:
		return errors.New("invalid framing delim with no delimiter")
	}
	return nil
}

// Append appends msg, framed by s, to dst and returns the extended slice:
// a length prefix then msg for len*; msg then "\n" for line, or msg then
// the delimiter for delim, unless msg already ends with it; msg as it is
// for raw and fixed. It fails if msg does not fit: longer than the prefix
// can count (255 for len8, 65535 for len16), or not N bytes for fixed:N.
func (s Spec) Append(dst, msg []byte) ([]byte, error) {
	if err := s.check(); err != nil {
		return dst, err
	}
	end := s.Delim
	switch s.Kind {
	case Line:
		end = []byte{'\n'}
		fallthrough
	case Delim:
		if len(msg) < len(end) || string(msg[len(msg)-len(end):]) != string(end) {
			return append(append(dst, msg...), end...), nil
		}
	case Fixed:
		if len(msg) != s.N {
			return dst, fmt.Errorf("message of %d bytes does not fit fixed:%d", len(msg), s.N)
		}
	case Len8, Len16, Len16LE, Len32, Len32LE:
		p := prefixes[s.Kind]
		if limit := uint64(1)<<(8*p.n) - 1; uint64(len(msg)) > limit {
			return dst, fmt.Errorf("message of %d bytes is too long for %v (max %d)", len(msg), s.Kind, limit)
		}
		switch p.n {
		case 1:
			dst = append(dst, byte(len(msg)))
		case 2:
			dst = p.order.AppendUint16(dst, uint16(len(msg)))
		default:
			dst = p.order.AppendUint32(dst, uint32(len(msg)))
		}
	}
	return append(dst, msg...), nil
}

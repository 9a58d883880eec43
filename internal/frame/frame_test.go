package frame

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/sockittest"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Spec
	}{
		{"", Spec{}},
		{"raw", Spec{}},
		{"RAW", Spec{}},
		{"line", Spec{Kind: Line}},
		{"LINE", Spec{Kind: Line}},
		{"Line", Spec{Kind: Line}},
		{"delim:0d0a", Spec{Kind: Delim, Delim: []byte("\r\n")}},
		{"delim:0D0A", Spec{Kind: Delim, Delim: []byte("\r\n")}},
		{"DELIM:00", Spec{Kind: Delim, Delim: []byte{0}}},
		{"delim:" + strings.Repeat("ff", 16), Spec{Kind: Delim, Delim: bytes.Repeat([]byte{0xff}, 16)}},
		{"fixed:1", Spec{Kind: Fixed, N: 1}},
		{"fixed:16", Spec{Kind: Fixed, N: 16}},
		{"fixed:016", Spec{Kind: Fixed, N: 16}},
		{"fixed:16777216", Spec{Kind: Fixed, N: DefaultMax}},
		{"len8", Spec{Kind: Len8}},
		{"len16", Spec{Kind: Len16}},
		{"LEN16LE", Spec{Kind: Len16LE}},
		{"len32", Spec{Kind: Len32}},
		{"len32le", Spec{Kind: Len32LE}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if !equal(got, tt.want) {
			t.Errorf("Parse(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, msg, hint string // msg and hint: substrings
	}{
		{"delim", `bad --frame "delim": delim needs a delimiter`, "delim:0d0a"},
		{"delim:", "needs a delimiter", "plain hex digits"},
		{"delim:0", `delimiter "0" has an odd number of hex digits`, "plain hex digits"},
		{"delim:zz", `delimiter "zz" is not hex`, "plain hex digits"},
		{"delim:0x0d0a", `delimiter "0x0d0a" is not hex`, "plain hex digits"},
		{"delim:0d 0a", "odd number", "plain hex"},
		{"delim:" + strings.Repeat("00", 17), "delimiter of 17 bytes is too long (max 16)", "1 to 16 bytes"},
		{"fixed", "fixed needs a size", "fixed:16"},
		{"fixed:", "fixed needs a size", "fixed:16"},
		{"fixed:0", "size 0 is out of range (1-16777216)", ""},
		{"fixed:-1", "size -1 is out of range", ""},
		{"fixed:16777217", "size 16777217 is out of range", ""},
		{"fixed:99999999999999999999999", "is out of range", ""},
		{"fixed:abc", `size "abc" is not a number`, "fixed:16"},
		{"fixed:1.5", `size "1.5" is not a number`, ""},
		{"len64", `unknown framing "len64"`, "Did you mean len32?"},
		{"len61", `unknown framing "len61"`, "Did you mean len16?"},
		{"len-16", "unknown framing", "Did you mean len16?"},
		{"len_16le", "unknown framing", "Did you mean len16le?"},
		{"len16be", "unknown framing", "Did you mean len16?"},
		{"length32", "unknown framing", "Did you mean len32?"},
		{"len3", "unknown framing", "Did you mean len8?"},
		{"ab", "unknown framing", "Note that"},
		{"lin", "unknown framing", "Did you mean line?"},
		{"lien", "unknown framing", "Did you mean line?"},
		{"lines", "unknown framing", "Did you mean line?"},
		{"crlf", "unknown framing", "Did you mean delim:0d0a?"},
		{"fixd:8", "unknown framing", "Did you mean fixed:8?"},
		{"delimiter:0a", "unknown framing", "Did you mean delim:0a?"},
		{"utf-8", `unknown framing "utf-8"`, "Note that --frame takes raw, line, delim:HEX, fixed:N"},
		{":", `unknown framing ""`, "Note that --frame takes"},
		{"line:5", `bad --frame "line:5": line takes no argument`, "Note that"},
		{"raw:", "raw takes no argument", ""},
		{"len16:2", "len16 takes no argument", ""},
		{strings.Repeat("x", 100), "unknown framing", "Note that"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		ue, ok := sockittest.AsUsage(err)
		if !ok {
			t.Errorf("Parse(%q) = %v, want a usage error", tt.in, err)
			continue
		}
		if exitcode.Code(err) != exitcode.Usage {
			t.Errorf("Parse(%q): exit code %d, want %d", tt.in, exitcode.Code(err), exitcode.Usage)
		}
		if !strings.Contains(ue.Msg, tt.msg) || !strings.Contains(ue.Hint, tt.hint) {
			t.Errorf("Parse(%q):\n got %q\n     hint %q\nwant %q\n     hint %q", tt.in, ue.Msg, ue.Hint, tt.msg, tt.hint)
		}
		if ue.Msg != strings.ToLower(ue.Msg[:1])+ue.Msg[1:] || strings.HasSuffix(ue.Msg, ".") {
			t.Errorf("Parse(%q): message %q is not lowercase without a period", tt.in, ue.Msg)
		}
	}
}

func TestStringRoundTrip(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"raw", "line", "delim:0d0a", "delim:00", "fixed:1", "fixed:512",
		"len8", "len16", "len16le", "len32", "len32le"} {
		s, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if s.String() != in {
			t.Errorf("Parse(%q).String() = %q", in, s.String())
		}
		if s.IsRaw() != (in == "raw") {
			t.Errorf("Parse(%q).IsRaw() = %v", in, s.IsRaw())
		}
	}
	if got := (Spec{Kind: 42}).String(); got != "Kind(42)" {
		t.Errorf("Spec{Kind: 42}.String() = %q", got)
	}
}

func TestAppend(t *testing.T) {
	t.Parallel()
	big := func(n int) []byte { return bytes.Repeat([]byte{'x'}, n) }
	tests := []struct {
		spec    string
		msg     string
		want    string
		wantErr string
	}{
		{"raw", "", "", ""},
		{"raw", "ab\n", "ab\n", ""},
		{"line", "", "\n", ""},
		{"line", "hi", "hi\n", ""},
		{"line", "hi\r", "hi\r\n", ""},
		{"line", "hi\n", "hi\n", ""},
		{"delim:0d0a", "hi", "hi\r\n", ""},
		{"delim:0d0a", "hi\r\n", "hi\r\n", ""},
		{"delim:0d0a", "hi\r", "hi\r\r\n", ""},
		{"delim:0d0a", "", "\r\n", ""},
		{"delim:00", "a\x00", "a\x00", ""},
		{"fixed:3", "abc", "abc", ""},
		{"fixed:3", "ab", "", "message of 2 bytes does not fit fixed:3"},
		{"fixed:3", "abcd", "", "message of 4 bytes does not fit fixed:3"},
		{"len8", "", "\x00", ""},
		{"len8", "abc", "\x03abc", ""},
		{"len8", string(big(255)), "\xff" + string(big(255)), ""},
		{"len8", string(big(256)), "", "message of 256 bytes is too long for len8 (max 255)"},
		{"len16", "abc", "\x00\x03abc", ""},
		{"len16", string(big(65535)), "\xff\xff" + string(big(65535)), ""},
		{"len16", string(big(65536)), "", "message of 65536 bytes is too long for len16 (max 65535)"},
		{"len16le", string(big(258)), "\x02\x01" + string(big(258)), ""},
		{"len16le", string(big(65536)), "", "message of 65536 bytes is too long for len16le (max 65535)"},
		{"len32", "abc", "\x00\x00\x00\x03abc", ""},
		{"len32", string(big(65536)), "\x00\x01\x00\x00" + string(big(65536)), ""},
		{"len32le", "abc", "\x03\x00\x00\x00abc", ""},
	}
	for _, tt := range tests {
		s, err := Parse(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		prefix := []byte("old")
		got, err := s.Append(prefix, []byte(tt.msg))
		switch {
		case tt.wantErr != "":
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%v.Append(%.10q) error = %v, want %q", s, tt.msg, err, tt.wantErr)
			}
			if string(got) != "old" {
				t.Errorf("%v.Append(%.10q) failed but changed dst to %.10q", s, tt.msg, got)
			}
		case err != nil:
			t.Errorf("%v.Append(%.10q): %v", s, tt.msg, err)
		case string(got) != "old"+tt.want:
			t.Errorf("%v.Append(%.10q) = %.20q, want %.20q", s, tt.msg, got, "old"+tt.want)
		}
	}
}

func TestAppendInvalidSpec(t *testing.T) {
	t.Parallel()
	for _, s := range []Spec{{Kind: Fixed}, {Kind: Fixed, N: -3}, {Kind: Delim}, {Kind: 99}} {
		if _, err := s.Append(nil, []byte("x")); err == nil || !strings.HasPrefix(err.Error(), "invalid framing") {
			t.Errorf("%#v.Append: err = %v, want invalid framing", s, err)
		}
	}
}

func TestAppendNoAllocs(t *testing.T) {
	msg := []byte("hello, world")
	dst := make([]byte, 0, 64)
	for _, in := range []string{"line", "delim:0d0a", "len16", "len32le", "fixed:12", "raw"} {
		s, _ := Parse(in)
		if n := testing.AllocsPerRun(100, func() { dst, _ = s.Append(dst[:0], msg) }); n != 0 {
			t.Errorf("%v.Append: %v allocs, want 0", s, n)
		}
	}
}

func equal(a, b Spec) bool {
	return a.Kind == b.Kind && a.N == b.N && bytes.Equal(a.Delim, b.Delim)
}

package tmpl

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/exitcode"
)

// counter is a deterministic random source: 00 01 02 …
type counter struct{ next byte }

func (c *counter) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.next
		c.next++
	}
	return len(p), nil
}

func enc(t testing.TB, name string) *codec.Encoding {
	t.Helper()
	e, err := codec.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var when = time.Date(2024, 3, 9, 7, 5, 3, 45_600_000, time.FixedZone("", 8*3600))

func TestAppend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		enc     string
		escapes bool
		seq     uint64
		want    string
		static  bool
	}{
		{"hello", "utf-8", false, 1, "hello", true},
		{"", "utf-8", false, 1, "", true},
		{"msg {{seq}}", "utf-8", false, 42, "msg 42", false},
		{"{{seq:5}}", "utf-8", false, 42, "00042", false},
		{"{{seq:2}}", "utf-8", false, 12345, "12345", false},
		{"{{ seq }}|{{SEQ}}", "utf-8", false, 7, "7|7", false},
		{"{{time}}", "utf-8", false, 1, "2024-03-09T07:05:03.045+08:00", false},
		{"{{unix}} {{unix_ms}}", "utf-8", false, 1, "1709939103 1709939103045", false},
		{"{{peer}}", "utf-8", false, 1, "127.0.0.1:9000", false},
		{"{{hex:0d 0a}}", "utf-8", false, 1, "\r\n", true},
		{"a{{hex:7b7b}}b", "utf-8", false, 1, "a{{b", true},
		{"{{rand:3}}", "utf-8", false, 1, "\x00\x01\x02", false},
		{"{{randhex:3}}", "utf-8", false, 1, "000102", false},
		{`{"id":{{seq}}}`, "utf-8", false, 5, `{"id":5}`, false},
		{"{{{seq}}}", "utf-8", false, 5, "{5}", false},
		{"}} and { alone", "utf-8", false, 1, "}} and { alone", true},
		{`#{{seq}}\r\n`, "utf-8", true, 3, "#3\r\n", false},
		{`#{{seq}}\r\n`, "utf-8", false, 3, `#3\r\n`, false},
		{"你好{{seq}}", "gbk", false, 9, "\xc4\xe3\xba\xc39", false},
		{`{{seq}}\n`, "utf-16le", true, 12, "1\x002\x00\n\x00", false},
		{"{{randhex:2}}", "utf-16be", false, 1, "\x000\x000\x000\x001", false},
		{"{{hex:ff}}{{seq}}", "utf-16le", false, 1, "\xff1\x00", false},
		{"{{peer}}", "utf-16le", false, 1, "1\x002\x007\x00.\x000\x00.\x000\x00.\x001\x00:\x009\x000\x000\x000\x00", false},
	}
	for _, tt := range tests {
		tp, err := Compile(tt.in, enc(t, tt.enc), tt.escapes)
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.in, err)
			continue
		}
		got, err := tp.Append([]byte("<"), Vars{Seq: tt.seq, Now: when, Peer: "127.0.0.1:9000", Rand: &counter{}})
		if err != nil {
			t.Errorf("Append(%q): %v", tt.in, err)
			continue
		}
		if string(got) != "<"+tt.want {
			t.Errorf("%s Append(%q) = %q, want %q", tt.enc, tt.in, got[1:], tt.want)
		}
		if tp.Static() != tt.static {
			t.Errorf("Compile(%q).Static() = %v", tt.in, tp.Static())
		}
	}
}

func TestAppendDefaults(t *testing.T) {
	t.Parallel()
	tp, err := Compile("{{unix}} {{randhex:16}}", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	a, err := tp.Append(nil, Vars{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := tp.Append(nil, Vars{})
	fields := strings.Fields(string(a))
	if len(fields) != 2 || len(fields[1]) != 32 {
		t.Fatalf("Append = %q", a)
	}
	if bytes.Equal(a, b) {
		t.Errorf("crypto/rand gave the same 16 bytes twice: %q", a)
	}
	now := time.Now().Unix()
	if fields[0] != strconv.FormatInt(now, 10) && fields[0] != strconv.FormatInt(now-1, 10) {
		t.Errorf("{{unix}} = %s, now is %d", fields[0], now)
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, msg, hint string }{
		{"a {{foo}}", `unknown placeholder "{{foo}}" at offset 2`, "Note that placeholders are"},
		{"{{sqe}}", `unknown placeholder "{{sqe}}" at offset 0`, "Did you mean {{seq}}?"},
		{"{{unixms}}", `unknown placeholder "{{unixms}}" at offset 0`, "Did you mean {{unix_ms}}?"},
		{"x{{seq", `unclosed "{{" at offset 1`, "Note that a literal {{ is written {{hex:7b7b}}"},
		{"{{}}", `unknown placeholder "{{}}" at offset 0`, "Note that"},
		{"{{seq:x}}", `"{{seq:x}}" at offset 0: width "x" is not a number from 1 to 32`, "Note that"},
		{"{{seq:33}}", `"{{seq:33}}" at offset 0: width "33" is not a number from 1 to 32`, "Note that"},
		{"{{rand}}", `"{{rand}}" at offset 0: rand needs a count: {{rand:N}}`, "Note that"},
		{"{{rand:0}}", `"{{rand:0}}" at offset 0: count "0" is not a number from 1 to 65536`, "Note that"},
		{"{{rand:65537}}", `"{{rand:65537}}" at offset 0: count "65537" is not a number from 1 to 65536`, "Note that"},
		{"{{randhex:-1}}", `"{{randhex:-1}}" at offset 0: count "-1" is not a number from 1 to 65536`, "Note that"},
		{"{{time:utc}}", `"{{time:utc}}" at offset 0: time takes no argument`, "Note that"},
		{"ab{{hex:486}}", `"{{hex:486}}" at offset 2: odd number of hex digits in "486"`, "Note that hex"},
		{`ab\q{{seq}}`, `unknown escape "\q" at offset 2`, "Note that escapes"},
		{`{{seq}}x\q`, `unknown escape "\q" at offset 8`, "Note that escapes"},
	}
	for _, tt := range tests {
		_, err := Compile(tt.in, nil, true)
		var u *exitcode.UsageError
		if !errors.As(err, &u) {
			t.Errorf("Compile(%q): %v, want a usage error", tt.in, err)
			continue
		}
		if u.Msg != tt.msg || !strings.HasPrefix(u.Hint, tt.hint) {
			t.Errorf("Compile(%q):\n got %q / %q\nwant %q / %q…", tt.in, u.Msg, u.Hint, tt.msg, tt.hint)
		}
	}
	// Literal text the encoding cannot carry fails at Compile.
	if _, err := Compile("€{{seq}}", enc(t, "latin1"), false); err == nil ||
		err.Error() != `character "€" (U+20AC) cannot be encoded in latin1` {
		t.Errorf("Compile with latin1: %v", err)
	}
}

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestAppendErrors(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"{{rand:4}}", "{{randhex:4}}"} {
		for _, e := range []string{"utf-8", "utf-16le"} {
			tp, err := Compile("x"+s, enc(t, e), false)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tp.Append([]byte("<"), Vars{Rand: failReader{}})
			if !errors.Is(err, io.ErrUnexpectedEOF) || string(got) != "<" {
				t.Errorf("%s %s with a failing reader: %q, %v", e, s, got, err)
			}
		}
	}
	tp, _ := Compile("{{peer}}", enc(t, "latin1"), false)
	if _, err := tp.Append(nil, Vars{Peer: "/tmp/ソケット"}); err == nil {
		t.Error("peer that latin1 cannot carry: no error")
	}
}

func TestAppendNoAllocs(t *testing.T) {
	tp, err := Compile(`{"seq":{{seq:8}},"t":"{{time}}","ms":{{unix_ms}},"r":"{{randhex:8}}","peer":"{{peer}}"}{{rand:4}}{{hex:0d0a}}`, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	rnd := &counter{}
	dst := make([]byte, 0, 512)
	v := Vars{Seq: 1, Now: when, Peer: "[::1]:8080", Rand: rnd}
	if n := testing.AllocsPerRun(100, func() {
		v.Seq++
		dst, _ = tp.Append(dst[:0], v)
	}); n != 0 {
		t.Errorf("Append: %v allocations", n)
	}
}

func BenchmarkAppend(b *testing.B) {
	tp, err := Compile(`{"seq":{{seq:8}},"t":"{{time}}","r":"{{randhex:8}}","peer":"{{peer}}"}\n`, nil, true)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, 512)
	v := Vars{Now: when, Peer: "127.0.0.1:9000", Rand: &counter{}}
	b.ReportAllocs()
	for b.Loop() {
		v.Seq++
		dst, _ = tp.Append(dst[:0], v)
	}
}

func BenchmarkAppendStatic(b *testing.B) {
	tp, err := Compile(`GET / HTTP/1.1\r\nHost: example.com\r\n\r\n`, nil, true)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = tp.Append(dst[:0], Vars{})
	}
}

// TestMaxLen: the bound holds for the longest value of every placeholder
// and is not wildly loose.
func TestMaxLen(t *testing.T) {
	far := time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.FixedZone("", -(11*3600+30*60)))
	for _, e := range []string{"utf-8", "utf-16le", "gbk"} {
		tp, err := Compile("x{{seq}}{{seq:32}}{{time}}{{unix}}{{unix_ms}}{{rand:100}}{{randhex:100}}{{hex:0a0b}}{{peer}}", enc(t, e), false)
		if err != nil {
			t.Fatal(err)
		}
		v := Vars{Seq: ^uint64(0), Now: far, Peer: "[2001:db8::1]:65535", Rand: &counter{}}
		got, err := tp.Append(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		if n := tp.MaxLen(v); len(got) > n || (e == "utf-8" && n > 2*len(got)) {
			t.Errorf("%s: %d bytes expanded, MaxLen %d", e, len(got), n)
		}
	}
	tp, _ := Compile("{{rand:65536}}{{rand:65536}}", nil, false)
	if n := tp.MaxLen(Vars{}); n != 2*65536 {
		t.Errorf("MaxLen = %d, want %d", n, 2*65536)
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"hello", "msg {{seq}}", "{{seq:5}}", "{{time}} {{unix}} {{unix_ms}}", "{{rand:3}}{{randhex:2}}",
		"{{hex:0d0a}}", "{{peer}}", `{"id":{{seq}}}`, "{{", "}}", "{{{{", "{{foo}}", `a\r\n{{seq}}\x00`,
	} {
		f.Add(s, false, uint8(0))
		f.Add(s, true, uint8(1))
	}
	encs := []string{"utf-8", "gbk", "utf-16le", "latin1"}
	f.Fuzz(func(t *testing.T, s string, escapes bool, which uint8) {
		e := enc(t, encs[int(which)%len(encs)])
		tp, err := Compile(s, e, escapes)
		if err != nil {
			var u *exitcode.UsageError
			if !errors.As(err, &u) {
				t.Fatalf("Compile(%q): %v is not a usage error", s, err)
			}
			return
		}
		v := Vars{Seq: 7, Now: when, Peer: "127.0.0.1:1", Rand: &counter{}}
		a, err := tp.Append(nil, v)
		if err != nil {
			t.Fatalf("Append(%q): %v", s, err)
		}
		if n := tp.MaxLen(v); len(a) > n {
			t.Fatalf("Append(%q) made %d bytes, more than MaxLen %d", s, len(a), n)
		}
		v.Rand = &counter{}
		b, _ := tp.Append(nil, v)
		if !bytes.Equal(a, b) {
			t.Fatalf("Append(%q) not deterministic", s)
		}
		if tp.Static() {
			v.Seq, v.Now = 8, time.Now()
			if c, _ := tp.Append(nil, v); !bytes.Equal(a, c) {
				t.Fatalf("static template %q changed: %q then %q", s, a, c)
			}
		}
		if !strings.Contains(s, "{{") && e.IsUTF8() && !escapes && string(a) != s {
			t.Fatalf("Append(%q) = %q, want the text itself", s, a)
		}
	})
}

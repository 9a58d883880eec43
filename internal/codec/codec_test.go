package codec

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sockit/sockit/internal/sockittest"
)

func mustLookup(t testing.TB, name string) *Encoding {
	t.Helper()
	e, err := Lookup(name)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", name, err)
	}
	return e
}

func unhexString(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func usageError(t *testing.T, err error) *sockittest.Usage {
	t.Helper()
	u, ok := sockittest.AsUsage(err)
	if !ok {
		t.Fatalf("error %v (%T) is not a usage error", err, err)
	}
	return u
}

func TestLookup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, name string
		utf8     bool
	}{
		{"", "utf-8", true},
		{"utf-8", "utf-8", true},
		{"UTF8", "utf-8", true},
		{"utf_8", "utf-8", true},
		{"unicode-1-1-utf-8", "utf-8", true},
		{"gbk", "gbk", false},
		{"GBK", "gbk", false},
		{"gb2312", "gbk", false},
		{"GB_2312", "gbk", false},
		{"cp936", "gbk", false},
		{"x-gbk", "gbk", false},
		{"gb18030", "gb18030", false},
		{"big5", "big5", false},
		{"Big5-HKSCS", "big5", false},
		{"shift_jis", "shift_jis", false},
		{"Shift-JIS", "shift_jis", false},
		{"sjis", "shift_jis", false},
		{"windows-31j", "shift_jis", false},
		{"euc-jp", "euc-jp", false},
		{"EUC_JP", "euc-jp", false},
		{"euc-kr", "euc-kr", false},
		{"utf-16le", "utf-16le", false},
		{"UTF_16LE", "utf-16le", false},
		{"utf-16be", "utf-16be", false},
		{"utf-16", "utf-16", false},
		{"ucs-2", "utf-16le", false},
		{"latin1", "latin1", false},
		{"ISO-8859-1", "latin1", false},
		{"iso_8859-1:1987", "latin1", false},
		{"l1", "latin1", false},
		{"ascii", "ascii", false},
		{"US-ASCII", "ascii", false},
		{"windows-1252", "windows-1252", false},
		{"cp1252", "windows-1252", false},
		{"koi8-r", "koi8-r", false},
		{"iso-8859-15", "iso-8859-15", false},
		{"x-user-defined", "x-user-defined", false},
		{"iso-2022-jp", "iso-2022-jp", false},
		{"IBM037", "ibm037", false},
		{"cp437", "ibm437", false},
		{" gbk ", "gbk", false},
	}
	for _, tt := range tests {
		e, err := Lookup(tt.in)
		if err != nil {
			t.Errorf("Lookup(%q): %v", tt.in, err)
			continue
		}
		if e.Name() != tt.name || e.IsUTF8() != tt.utf8 {
			t.Errorf("Lookup(%q) = %s (utf8 %v), want %s (utf8 %v)", tt.in, e.Name(), e.IsUTF8(), tt.name, tt.utf8)
		}
	}
}

func TestLookupUnknown(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, msg, hint string }{
		{"gkb", `unknown encoding "gkb"`, "Did you mean gbk?"},
		{"utf-9", `unknown encoding "utf-9"`, "Did you mean utf-8?"},
		{"shiftjs", `unknown encoding "shiftjs"`, "Did you mean shift_jis?"},
		{"latin-2x", `unknown encoding "latin-2x"`, "Did you mean latin1?"},
		{"klingon", `unknown encoding "klingon"`, "Note that the common encodings are utf-8, gbk"},
		// WHATWG's "replacement" decodes everything to U+FFFD: refused.
		{"replacement", `unknown encoding "replacement"`, "Note that"},
		{"iso-2022-kr", `unknown encoding "iso-2022-kr"`, "Note that"},
	}
	for _, tt := range tests {
		_, err := Lookup(tt.in)
		if err == nil {
			t.Errorf("Lookup(%q) succeeded", tt.in)
			continue
		}
		u := usageError(t, err)
		if u.Msg != tt.msg || !strings.HasPrefix(u.Hint, tt.hint) {
			t.Errorf("Lookup(%q) = %q / %q, want %q / %q…", tt.in, u.Msg, u.Hint, tt.msg, tt.hint)
		}
	}
}

// Every alias must lead to an encoding (common panics otherwise).
func TestAliases(t *testing.T) {
	t.Parallel()
	for alias, canon := range aliases {
		if e := common(canon); e.Name() != canon {
			t.Errorf("alias %s: %s, want %s", alias, e.Name(), canon)
		}
	}
	for _, n := range commonNames {
		mustLookup(t, n)
	}
}

func TestASCIICompatible(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"utf-8": true, "gbk": true, "gb18030": true, "big5": true, "shift_jis": true,
		"euc-jp": true, "euc-kr": true, "latin1": true, "ascii": true, "windows-1252": true,
		"utf-16le": false, "utf-16": false, "ibm037": false, "iso-2022-jp": false,
	} {
		e := mustLookup(t, name)
		if e.ASCIICompatible() != want {
			t.Errorf("%s ASCIICompatible = %v", name, !want)
		}
		if e.kind == kindMulti && asciiRoundTrips(e.x) != want {
			t.Errorf("%s: asciiRoundTrips = %v", name, !want)
		}
	}
}

func TestAppend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		enc, in, want string // want in hex
	}{
		{"utf-8", "你好", "e4 bd a0 e5 a5 bd"},
		{"utf-8", "\xff\xfe", "ff fe"}, // byte-exact, even when not UTF-8
		{"gbk", "你好", "c4 e3 ba c3"},
		{"gbk", "a你b", "61 c4 e3 62"},
		{"gb18030", "你好😀", "c4 e3 ba c3 94 39 fc 36"},
		{"big5", "中文測試", "a4 a4 a4 e5 b4 fa b8 d5"},
		{"shift_jis", "テスト", "83 65 83 58 83 67"},
		{"shift_jis", "ｶ", "b6"},
		{"euc-jp", "日本", "c6 fc cb dc"},
		{"euc-kr", "한국", "c7 d1 b1 b9"},
		{"utf-16le", "A€", "41 00 ac 20"},
		{"utf-16be", "A€", "00 41 20 ac"},
		{"utf-16", "A€", "00 41 20 ac"}, // big-endian, no BOM
		{"utf-16le", "😀", "3d d8 00 de"},
		{"utf-16be", "😀", "d8 3d de 00"},
		{"latin1", "café\u0085ÿ", "63 61 66 e9 85 ff"},
		{"ascii", "hi\x7f", "68 69 7f"},
		{"windows-1252", "€", "80"},
		{"koi8-r", "Привет", "f0 d2 c9 d7 c5 d4"},
		{"ibm037", "A1", "c1 f1"},
		{"gbk", "", ""},
	}
	for _, tt := range tests {
		e := mustLookup(t, tt.enc)
		got, err := e.Append([]byte("<"), tt.in)
		if err != nil {
			t.Errorf("%s Append(%q): %v", tt.enc, tt.in, err)
			continue
		}
		want := append([]byte("<"), unhexString(t, tt.want)...)
		if !bytes.Equal(got, want) {
			t.Errorf("%s Append(%q) = % x, want % x", tt.enc, tt.in, got, want)
		}
	}
}

func TestAppendErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ enc, in, msg string }{
		{"latin1", "a€", `character "€" (U+20AC) cannot be encoded in latin1`},
		{"ascii", "café", `character "é" (U+00E9) cannot be encoded in ascii`},
		{"gbk", "😀", `character "😀" (U+1F600) cannot be encoded in gbk`},
		{"shift_jis", "한", `character "한" (U+D55C) cannot be encoded in shift_jis`},
		{"windows-1252", "\u200b", `character "\u200b" (U+200B) cannot be encoded in windows-1252`},
		{"gbk", "ab\xff", `invalid UTF-8 byte 0xff at offset 2`},
		{"latin1", "\xe4\xbd", `invalid UTF-8 byte 0xe4 at offset 0`},
		{"utf-16le", "x\x80", `invalid UTF-8 byte 0x80 at offset 1`},
	}
	for _, tt := range tests {
		e := mustLookup(t, tt.enc)
		dst := []byte("keep")
		got, err := e.Append(dst, tt.in)
		if err == nil {
			t.Errorf("%s Append(%q) = % x, want error", tt.enc, tt.in, got)
			continue
		}
		if u := usageError(t, err); u.Msg != tt.msg {
			t.Errorf("%s Append(%q): %q, want %q", tt.enc, tt.in, u.Msg, tt.msg)
		}
		if string(got) != "keep" {
			t.Errorf("%s Append(%q) error returned dst %q, want it unchanged", tt.enc, tt.in, got)
		}
	}
}

// samples per encoding, for round trips: text each can represent.
var samples = map[string][]string{
	"utf-8":        {"hello", "你好，世界", "テスト", "한국어", "Ünïcödé €", "😀 emoji", ""},
	"gbk":          {"你好，世界 Hello", "中文测试\r\n", "€"},
	"gb18030":      {"你好", "😀 and テスト and 한국어", "\ufffd"},
	"big5":         {"中文測試", "繁體字 abc"},
	"shift_jis":    {"テスト", "日本語のテキスト", "ｶﾀｶﾅ"},
	"euc-jp":       {"日本語テスト", "ｶﾅ"},
	"euc-kr":       {"한국어 테스트", "안녕하세요"},
	"utf-16le":     {"hello", "你好 😀", "한국어"},
	"utf-16be":     {"hello", "你好 😀", "テスト"},
	"utf-16":       {"hello", "你好 😀"},
	"latin1":       {"Café naïve", "ÿ þ ß", "\u0085\u0080"},
	"ascii":        {"plain ascii ~"},
	"windows-1252": {"€ café „quotes“"},
	"koi8-r":       {"Привет, мир"},
	"iso-8859-7":   {"Καλημέρα"},
	"iso-2022-jp":  {"日本語テスト abc"},
	"ibm037":       {"HELLO world 123"},
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for name, texts := range samples {
		e := mustLookup(t, name)
		for _, s := range texts {
			b, err := e.Append(nil, s)
			if err != nil {
				t.Errorf("%s Append(%q): %v", name, s, err)
				continue
			}
			if got, ok := e.Decode(b); got != s || !ok {
				t.Errorf("%s Decode(Append(%q)) = %q, %v", name, s, got, ok)
			}
			if e.Boundary(b) != len(b) {
				t.Errorf("%s Boundary(Append(%q)) = %d, want %d", name, s, e.Boundary(b), len(b))
			}
			// Display shows printable text as itself.
			if !strings.ContainsAny(s, "\r\n\u0080\u0085") {
				if got := string(e.AppendDisplay(nil, b)); got != s {
					t.Errorf("%s AppendDisplay(Append(%q)) = %q", name, s, got)
				}
			}
			// And through the stream writers, one byte at a time.
			var enc, dec bytes.Buffer
			ew := e.NewEncodeWriter(&enc)
			for i := 0; i < len(s); i++ {
				if _, err := ew.Write([]byte{s[i]}); err != nil {
					t.Fatalf("%s encode writer: %v", name, err)
				}
			}
			if err := ew.Close(); err != nil {
				t.Fatalf("%s encode writer close: %v", name, err)
			}
			if name != "iso-2022-jp" && !bytes.Equal(enc.Bytes(), b) {
				t.Errorf("%s encode writer(%q) = % x, want % x", name, s, enc.Bytes(), b)
			}
			dw := e.NewDecodeWriter(&dec)
			for i := range b {
				if _, err := dw.Write(b[i : i+1]); err != nil {
					t.Fatalf("%s decode writer: %v", name, err)
				}
			}
			if err := dw.Close(); err != nil {
				t.Fatalf("%s decode writer close: %v", name, err)
			}
			if dec.String() != s {
				t.Errorf("%s decode writer(% x) = %q, want %q", name, b, dec.String(), s)
			}
		}
	}
}

func TestAppendText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		enc, in string
		escapes bool
		want    string // hex
	}{
		{"gbk", `你好\x80\r\n`, true, "c4 e3 ba c3 80 0d 0a"},
		{"gbk", `你好\x80\r\n`, false, "c4 e3 ba c3 5c 78 38 30 5c 72 5c 6e"},
		{"utf-8", `a\tb\0c\\d`, true, "61 09 62 00 63 5c 64"},
		{"utf-8", `\a\b\f\v\e`, true, "07 08 0c 0b 1b"},
		{"utf-8", `\xff\XfE`, true, "ff fe"},
		{"utf-8", `\u00e9\U0001F600`, true, "c3 a9 f0 9f 98 80"},
		{"latin1", `\u00e9`, true, "e9"},
		{"utf-16le", `A\n\x0a\0`, true, "41 00 0a 00 0a 00"}, // \n is a character, \x0a and \0 are bytes
		{"utf-16be", `\u20ac`, true, "20 ac"},
		{"utf-8", ``, true, ""},
		{"utf-8", `\\`, true, "5c"},
		{"utf-8", `plain`, true, "70 6c 61 69 6e"},
	}
	for _, tt := range tests {
		e := mustLookup(t, tt.enc)
		got, err := e.AppendText(nil, tt.in, tt.escapes)
		if err != nil {
			t.Errorf("%s AppendText(%q, %v): %v", tt.enc, tt.in, tt.escapes, err)
			continue
		}
		if want := unhexString(t, tt.want); !bytes.Equal(got, want) {
			t.Errorf("%s AppendText(%q, %v) = % x, want % x", tt.enc, tt.in, tt.escapes, got, want)
		}
	}
}

func TestAppendTextErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ enc, in, msg string }{
		{"utf-8", `abc\q`, `unknown escape "\q" at offset 3`},
		{"utf-8", `\`, `trailing backslash at offset 0`},
		{"utf-8", `ab\`, `trailing backslash at offset 2`},
		{"utf-8", `\x4`, `bad escape "\\x4" at offset 0: \x takes two hex digits`},
		{"utf-8", `\xg0`, `bad escape "\\xg0" at offset 0: \x takes two hex digits`},
		{"utf-8", `\u12`, `bad escape "\\u12" at offset 0: \u takes four hex digits`},
		{"utf-8", `\ud800`, `bad escape "\\ud800" at offset 0: \u is not a character`},
		{"utf-8", `\U00110000`, `bad escape "\\U00110000" at offset 0: \U is not a character`},
		{"utf-8", `x\é`, `unknown escape "\é" at offset 1`},
		{"latin1", `ok\u20ac`, `character "€" (U+20AC) cannot be encoded in latin1`},
		{"latin1", `€\n`, `character "€" (U+20AC) cannot be encoded in latin1`},
		{"gbk", "a\\n\xff", `invalid UTF-8 byte 0xff at offset 3`},
	}
	for _, tt := range tests {
		e := mustLookup(t, tt.enc)
		_, err := e.AppendText(nil, tt.in, true)
		if err == nil {
			t.Errorf("%s AppendText(%q) succeeded", tt.enc, tt.in)
			continue
		}
		if u := usageError(t, err); u.Msg != tt.msg {
			t.Errorf("%s AppendText(%q): %q, want %q", tt.enc, tt.in, u.Msg, tt.msg)
		}
	}
	// Offsets are relative to the caller's string with AppendTextAt.
	_, err := mustLookup(t, "utf-8").AppendTextAt(nil, `\q`, true, 10)
	if u := usageError(t, err); u.Msg != `unknown escape "\q" at offset 10` {
		t.Errorf("AppendTextAt: %q", u.Msg)
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		enc, in string // in as hex
		want    string
		ok      bool
	}{
		{"utf-8", "68 69", "hi", true},
		{"utf-8", "68 ff 69", "h\ufffdi", false},
		{"utf-8", "e4 bd", "\ufffd\ufffd", false},
		{"utf-8", "ef bf bd", "\ufffd", true},
		{"gbk", "c4 e3 ba c3", "你好", true},
		{"gbk", "ff 41", "\ufffdA", false},
		{"gbk", "c4", "\ufffd", false},
		{"gb18030", "84 31 a4 37", "\ufffd", true}, // a real U+FFFD
		{"shift_jis", "83 65 83 58 83 67", "テスト", true},
		{"latin1", "e9 80", "é\u0080", true},
		{"ascii", "41 80", "A\ufffd", false},
		{"windows-1252", "80 81", "€\ufffd", false},
		{"utf-16le", "41 00 00 d8", "A\ufffd", false},
		{"utf-16le", "41 00 42", "A\ufffd", false},
		{"utf-16le", "ff fe 41 00", "\ufeffA", true},
		{"utf-16", "ff fe 41 00", "A", true},
		{"utf-16", "fe ff 00 41", "A", true},
		{"utf-16", "00 41", "A", true},
		{"utf-16be", "d8 3d de 00", "😀", true},
	}
	for _, tt := range tests {
		e := mustLookup(t, tt.enc)
		got, ok := e.Decode(unhexString(t, tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s Decode(%s) = %q, %v; want %q, %v", tt.enc, tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestAppendDisplay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		enc, in string // in as hex
		want    string
	}{
		{"utf-8", "", ``},
		{"utf-8", "68 65 6c 6c 6f", `hello`},
		{"utf-8", "61 5c 62", `a\\b`},
		{"utf-8", "0a 0d 09 00", `\n\r\t\0`},
		{"utf-8", "01 1b 5b 33 31 6d 7f", `\x01\x1b[31m\x7f`},
		{"utf-8", "c2 85", `\xc2\x85`}, // C1 control: its original bytes
		{"utf-8", "e2 80 8b", `\u200b`},
		{"utf-8", "e2 80 ae", `\u202e`}, // right-to-left override
		{"utf-8", "c2 a0", `\u00a0`},
		{"utf-8", "f3 a0 80 81", `\U000e0001`},
		{"utf-8", "ff 41", `\xffA`},
		{"utf-8", "e4 bd", `\xe4\xbd`},
		{"utf-8", "ed a0 80", `\xed\xa0\x80`}, // encoded surrogate
		{"utf-8", "ef bf bd", "\ufffd"},
		{"utf-8", "e4 bd a0 e5 a5 bd", `你好`},
		{"gbk", "c4 e3 ba c3", `你好`},
		{"gbk", "ff 41", `\xffA`},
		{"gbk", "c4", `\xc4`},
		{"gbk", "c4 0a", `\xc4\n`},
		{"gbk", "41 01 5c 0a", `A\x01\\\n`},
		{"gbk", "c4 e3 ff ba c3", `你\xff好`},
		{"gbk", "80", `€`},
		{"gb18030", "84 31 a4 37", "\ufffd"},
		{"gb18030", "81 30 81 31", `\x81\x30\x81\x31`}, // U+0085 in GB18030
		{"shift_jis", "83 65 83 58 83 67", `テスト`},
		{"shift_jis", "83 65 83", `テ\x83`},
		{"big5", "a4 a4 ff", `中\xff`},
		{"euc-kr", "c7 d1 0d 0a", `한\r\n`},
		{"latin1", "63 61 66 e9", `café`},
		{"latin1", "85 a0 ad", `\x85\u00a0\u00ad`},
		{"ascii", "41 80 ff", `A\x80\xff`},
		{"windows-1252", "80 81 9d", `€\x81\x9d`},
		{"utf-16le", "41 00 0a 00", `A\n`},
		{"utf-16le", "01 00", `\x01\x00`},
		{"utf-16le", "41 00 42", `A\x42`},
		{"utf-16le", "00 d8 41 00", `\x00\xd8A`},
		{"utf-16be", "d8 3d de 00 00 5c", `😀\\`},
		{"utf-16", "ff fe 41 00", `\ufeffA`},
		{"ibm037", "c1 25 15", `A\n\x15`}, // EBCDIC: 25 is LF, 15 is NEL (U+0085), shown as its byte
	}
	for _, tt := range tests {
		e := mustLookup(t, tt.enc)
		got := string(e.AppendDisplay([]byte("<"), unhexString(t, tt.in)))
		if got != "<"+tt.want {
			t.Errorf("%s AppendDisplay(%s) = %s, want <%s", tt.enc, tt.in, got, tt.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("%s AppendDisplay(%s) is not UTF-8", tt.enc, tt.in)
		}
	}
}

// A long GBK chunk with one bad byte deep inside takes the per-character
// path for its buffer only and still shows every byte.
func TestAppendDisplayLong(t *testing.T) {
	t.Parallel()
	e := mustLookup(t, "gbk")
	text := strings.Repeat("你好，世界。", 500)
	b, err := e.Append(nil, text)
	if err != nil {
		t.Fatal(err)
	}
	bad := append(append(append([]byte{}, b[:3000]...), 0xff), b[3000:]...)
	got := string(e.AppendDisplay(nil, bad))
	want := text[:4500] + `\xff` + text[4500:]
	if got != want {
		t.Errorf("display differs at %d", firstDiff(got, want))
	}
	if got := string(e.AppendDisplay(nil, b)); got != text {
		t.Errorf("display of clean text differs at %d", firstDiff(got, text))
	}
}

func firstDiff(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestBoundary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		enc, in string // hex
		want    int
	}{
		{"utf-8", "", 0},
		{"utf-8", "41", 1},
		{"utf-8", "41 e4", 1},
		{"utf-8", "41 e4 bd", 1},
		{"utf-8", "41 e4 bd a0", 4},
		{"utf-8", "f0 9f 98", 0},
		{"utf-8", "41 ff", 2},    // never valid: complete
		{"utf-8", "41 e0 80", 3}, // invalid second byte: complete
		{"utf-8", "bd a0", 2},    // stray continuation bytes
		{"gbk", "c4 e3 ba", 2},
		{"gbk", "c4 e3 ba c3", 4},
		{"gbk", "41 c4", 1},
		{"gbk", "c4", 0},
		{"gbk", "ff", 1},
		{"gbk", "0a c4 e3 c4", 3},
		{"gb18030", "41 81 30", 1},
		{"gb18030", "41 81 30 81", 1},
		{"gb18030", "41 81 30 81 31", 5},
		{"shift_jis", "83 65 83", 2},
		{"shift_jis", "83 65 83 58", 4},
		{"shift_jis", "b6", 1}, // half-width katakana is one byte
		{"big5", "a4 a4 a4", 2},
		{"euc-jp", "8f b0", 0},
		{"utf-16le", "41", 0},
		{"utf-16le", "41 00 42", 2},
		{"utf-16le", "41 00 3d d8", 2},
		{"utf-16le", "41 00 3d d8 00", 2},
		{"utf-16le", "41 00 3d d8 00 de", 6},
		{"utf-16le", "00 de", 2}, // lone low surrogate: never valid
		{"utf-16be", "d8 3d", 0},
		{"utf-16", "ff fe 3d d8", 2},
		{"latin1", "e9 e9", 2},
	}
	for _, tt := range tests {
		e := mustLookup(t, tt.enc)
		if got := e.Boundary(unhexString(t, tt.in)); got != tt.want {
			t.Errorf("%s Boundary(%s) = %d, want %d", tt.enc, tt.in, got, tt.want)
		}
	}
}

// A stream cut anywhere and carried over at Boundary decodes as a whole.
func TestBoundaryStream(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"utf-8", "gbk", "gb18030", "shift_jis", "big5", "euc-jp", "euc-kr", "utf-16le", "utf-16be"} {
		e := mustLookup(t, name)
		text := samples[name][0] + samples[name][len(samples[name])-1] + samples[name][0]
		b, err := e.Append(nil, text)
		if err != nil {
			t.Fatal(err)
		}
		for step := 1; step <= 5; step++ {
			var out strings.Builder
			var carry []byte
			for i := 0; i < len(b); i += step {
				buf := append(carry, b[i:min(i+step, len(b))]...)
				n := e.Boundary(buf)
				s, _ := e.Decode(buf[:n])
				out.WriteString(s)
				carry = append([]byte(nil), buf[n:]...)
			}
			s, _ := e.Decode(carry)
			out.WriteString(s)
			if out.String() != text {
				t.Errorf("%s step %d: %q, want %q", name, step, out.String(), text)
			}
		}
	}
}

func TestDecodeWriter(t *testing.T) {
	t.Parallel()
	gbk := mustLookup(t, "gbk")
	src := unhexString(t, "41 c4 e3 ba c3 42")
	for cut := 0; cut <= len(src); cut++ {
		var buf bytes.Buffer
		w := gbk.NewDecodeWriter(&buf)
		if n, err := w.Write(src[:cut]); err != nil || n != cut {
			t.Fatalf("Write: %d, %v", n, err)
		}
		if n, err := w.Write(src[cut:]); err != nil || n != len(src)-cut {
			t.Fatalf("Write: %d, %v", n, err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if buf.String() != "A你好B" {
			t.Errorf("cut %d: %q", cut, buf.String())
		}
	}
	tests := []struct {
		enc    string
		writes []string // hex
		want   string
	}{
		{"gbk", []string{"c4", "e3 ff", "41 ba"}, "你\ufffdA\ufffd"}, // trailing partial flushed by Close
		{"shift_jis", []string{"83", "65 83 58 83", "67"}, "テスト"},
		{"utf-16le", []string{"41", "00 3d", "d8 00", "de"}, "A😀"},
		{"utf-16", []string{"ff", "fe 41 00"}, "A"},
		{"utf-16be", []string{"00 41 00"}, "A\ufffd"},
		{"latin1", []string{"e9", "ff"}, "éÿ"},
		{"ascii", []string{"41 80"}, "A\ufffd"},
		{"utf-8", []string{"e4 bd", "a0 ff"}, "你\xff"}, // pass-through
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		w := mustLookup(t, tt.enc).NewDecodeWriter(&buf)
		for _, h := range tt.writes {
			if _, err := w.Write(unhexString(t, h)); err != nil {
				t.Fatalf("%s Write: %v", tt.enc, err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tt.want {
			t.Errorf("%s decode writer %v = %q, want %q", tt.enc, tt.writes, buf.String(), tt.want)
		}
	}
}

func TestEncodeWriter(t *testing.T) {
	t.Parallel()
	gbk := mustLookup(t, "gbk")
	src := []byte("A你好B")
	for cut := 0; cut <= len(src); cut++ {
		for cut2 := cut; cut2 <= len(src); cut2++ {
			var buf bytes.Buffer
			w := gbk.NewEncodeWriter(&buf)
			for _, p := range [][]byte{src[:cut], src[cut:cut2], src[cut2:]} {
				if n, err := w.Write(p); err != nil || n != len(p) {
					t.Fatalf("Write(% x): %d, %v", p, n, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(buf.Bytes()); got != "41c4e3bac342" {
				t.Errorf("cuts %d,%d: %s", cut, cut2, got)
			}
		}
	}

	var buf bytes.Buffer
	w := mustLookup(t, "latin1").NewEncodeWriter(&buf)
	if _, err := w.Write([]byte("ok €")); err == nil || usageError(t, err).Msg != `character "€" (U+20AC) cannot be encoded in latin1` {
		t.Errorf("unencodable: %v", err)
	}
	if _, err := w.Write([]byte("more")); err == nil {
		t.Error("Write after an error succeeded")
	}

	w = gbk.NewEncodeWriter(&buf)
	if _, err := w.Write([]byte("\xe4\xbd")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "incomplete UTF-8 sequence e4 bd") {
		t.Errorf("Close with partial: %v", err)
	}

	w = gbk.NewEncodeWriter(&buf)
	if _, err := w.Write([]byte("\xe4A")); err == nil {
		t.Error("invalid UTF-8 accepted")
	}

	buf.Reset()
	w = mustLookup(t, "utf-16le").NewEncodeWriter(&buf)
	for _, p := range []string{"\xf0\x9f", "\x98", "\x80A"} {
		if _, err := w.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if got := hex.EncodeToString(buf.Bytes()); got != "3dd800de4100" {
		t.Errorf("utf-16le encode writer: %s", got)
	}

	buf.Reset()
	w = mustLookup(t, "utf-8").NewEncodeWriter(&buf)
	if _, err := w.Write([]byte("\xff\xfe")); err != nil || buf.String() != "\xff\xfe" {
		t.Errorf("utf-8 pass-through: %q, %v", buf.String(), err)
	}
}

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	utf8e := mustLookup(t, "utf-8")
	gbk := mustLookup(t, "gbk")
	latin1 := mustLookup(t, "latin1")
	u16 := mustLookup(t, "utf-16le")
	text := []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
	gbkText, _ := gbk.Append(nil, "你好，世界 hello\n")
	dst := make([]byte, 0, 4096)
	checks := []struct {
		name string
		f    func()
	}{
		{"utf-8 display", func() { dst = utf8e.AppendDisplay(dst[:0], text) }},
		{"latin1 display", func() { dst = latin1.AppendDisplay(dst[:0], text) }},
		{"gbk display", func() { dst = gbk.AppendDisplay(dst[:0], gbkText) }},
		{"gbk boundary", func() { gbk.Boundary(gbkText[:len(gbkText)-2]) }},
		{"utf-8 append", func() { dst, _ = utf8e.Append(dst[:0], "hello 你好") }},
		{"gbk append ascii", func() { dst, _ = gbk.Append(dst[:0], "hello") }},
		{"utf-16 append", func() { dst, _ = u16.Append(dst[:0], "hello 你好") }},
		{"hex", func() { dst = AppendHexSpaced(dst[:0], text) }},
		{"dump", func() { dst = AppendDump(dst[:0], text, 0) }},
	}
	for _, c := range checks {
		if n := testing.AllocsPerRun(100, c.f); n != 0 {
			t.Errorf("%s: %v allocations", c.name, n)
		}
	}
}

func BenchmarkAppendDisplayASCII(b *testing.B) {
	e := mustLookup(b, "utf-8")
	src := bytes.Repeat([]byte("The quick brown fox jumps over the lazy dog. "), 100)
	dst := make([]byte, 0, 2*len(src))
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		dst = e.AppendDisplay(dst[:0], src)
	}
}

func BenchmarkAppendDisplayUTF8Mixed(b *testing.B) {
	e := mustLookup(b, "utf-8")
	src := bytes.Repeat([]byte("你好, world!\r\n\x00\x01"), 200)
	dst := make([]byte, 0, 4*len(src))
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		dst = e.AppendDisplay(dst[:0], src)
	}
}

func BenchmarkAppendDisplayGBK(b *testing.B) {
	e := mustLookup(b, "gbk")
	src, _ := e.Append(nil, strings.Repeat("你好，世界。Hello!\n", 200))
	dst := make([]byte, 0, 4*len(src))
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		dst = e.AppendDisplay(dst[:0], src)
	}
}

func BenchmarkAppendGBK(b *testing.B) {
	e := mustLookup(b, "gbk")
	s := strings.Repeat("你好，世界。Hello!\n", 200)
	dst := make([]byte, 0, 4*len(s))
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		dst, _ = e.Append(dst[:0], s)
	}
}

func BenchmarkParseHex(b *testing.B) {
	s := string(AppendHexSpaced(nil, bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 256)))
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		if _, err := ParseHex(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendDisplayGBKRandom(b *testing.B) {
	e := mustLookup(b, "gbk")
	src := make([]byte, 4096)
	for i := range src {
		src[i] = byte(i*7919 + i>>3)
	}
	dst := make([]byte, 0, 8*len(src))
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		dst = e.AppendDisplay(dst[:0], src)
	}
}

// Encodings are shared between connections: every method must be safe to
// call from many goroutines at once (run with -race).
func TestConcurrent(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"gbk", "shift_jis", "utf-16", "latin1", "iso-2022-jp"} {
		e := mustLookup(t, name)
		text := samples[name][0]
		b, err := e.Append(nil, text)
		if err != nil {
			t.Fatal(err)
		}
		bad := append(append([]byte{0xff}, b...), 0x80)
		done := make(chan struct{})
		for range 4 {
			go func() {
				defer func() { done <- struct{}{} }()
				for range 200 {
					if got, _ := e.Append(nil, text); !bytes.Equal(got, b) {
						t.Errorf("%s Append = % x", name, got)
						return
					}
					if got, _ := e.Decode(b); got != text {
						t.Errorf("%s Decode = %q", name, got)
						return
					}
					e.AppendDisplay(nil, bad)
					e.Boundary(bad)
				}
			}()
		}
		for range 4 {
			<-done
		}
	}
}

package codec

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzEncodings are the encodings the fuzz targets pick from by index.
var fuzzEncodings = []string{
	"utf-8", "latin1", "ascii", "windows-1252", "gbk", "gb18030", "big5",
	"shift_jis", "euc-jp", "euc-kr", "utf-16le", "utf-16be", "utf-16",
	"iso-2022-jp", "koi8-r", "ibm037",
}

func fuzzEncoding(t *testing.T, which uint8) *Encoding {
	return mustLookup(t, fuzzEncodings[int(which)%len(fuzzEncodings)])
}

func FuzzParseHex(f *testing.F) {
	for _, s := range []string{"", "48 65 6c", "48656c", "0x48,0x65", `\x48\x65`, "48:65-6c", "486", "0x", "zz", "DE AD\nBE EF"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseHex(s)
		if err == nil {
			again, err := ParseHex(string(AppendHexSpaced(nil, b)))
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("ParseHex(AppendHexSpaced(%x)) = %x, %v", b, again, err)
			}
		}
		// Any bytes survive the round trip, spaced or not.
		data := []byte(s)
		for _, text := range []string{string(AppendHexSpaced(nil, data)), string(AppendHex(nil, data))} {
			got, err := ParseHex(text)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("ParseHex(%q) = %x, %v; want %x", text, got, err, data)
			}
		}
	})
}

func FuzzAppendText(f *testing.F) {
	f.Add(`你好\x80\r\n`, uint8(4), true)
	f.Add(`plain text`, uint8(0), false)
	f.Add(`\u20ac \U0001F600 \q`, uint8(1), true)
	f.Add("\xff\\", uint8(10), true)
	f.Fuzz(func(t *testing.T, s string, which uint8, escapes bool) {
		e := fuzzEncoding(t, which)
		out, err := e.AppendText([]byte("prefix"), s, escapes)
		if !bytes.HasPrefix(out, []byte("prefix")) {
			t.Fatalf("AppendText lost dst: %q", out)
		}
		if err != nil {
			usageError(t, err)
			if len(out) != len("prefix") {
				t.Fatalf("AppendText error with output %q", out)
			}
			return
		}
		if e.IsUTF8() && !escapes && string(out[len("prefix"):]) != s {
			t.Fatalf("utf-8 AppendText(%q) = %q", s, out)
		}
		if !escapes && utf8.ValidString(s) && e.kind != kindMulti {
			// What encodes decodes back (stateful encodings aside).
			if got, ok := e.Decode(out[len("prefix"):]); !ok || got != s {
				t.Fatalf("%s Decode(AppendText(%q)) = %q, %v", e.Name(), s, got, ok)
			}
		}
	})
}

func FuzzDisplay(f *testing.F) {
	f.Add([]byte("hello\r\n"), uint8(0))
	f.Add([]byte("\xc4\xe3\xba\xc3\xff\x41"), uint8(4))
	f.Add([]byte("\x00\x01\x1b[2J\x7f\xc2\x85\xe2\x80\x8b\\"), uint8(0))
	f.Add([]byte("\x85\xa0\xe9"), uint8(1))
	f.Add([]byte("\x3d\xd8\x00\xde\x41"), uint8(10))
	f.Add([]byte("\x84\x31\xa4\x37\x81\x30"), uint8(5))
	f.Add([]byte("\x1b$B$3\x1b(B"), uint8(13))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		e := fuzzEncoding(t, which)
		out := e.AppendDisplay(nil, data)
		if !utf8.Valid(out) {
			t.Fatalf("%s AppendDisplay(% x) is not UTF-8: %q", e.Name(), data, out)
		}
		for _, r := range string(out) {
			if r < 0x20 || (r >= 0x7f && r < 0xa0) {
				t.Fatalf("%s AppendDisplay(% x) = %q holds control U+%04X", e.Name(), data, out, r)
			}
		}
		if e.kind != kindUTF16 && (e.kind != kindMulti || e.stateless) {
			back, err := unescapeDisplay(e, string(out))
			if err != nil || !bytes.Equal(back, data) {
				t.Fatalf("%s display %q of % x unescapes to % x, %v", e.Name(), out, data, back, err)
			}
		}

		b := e.Boundary(data)
		if b < 0 || b > len(data) || len(data)-b > 4 {
			t.Fatalf("%s Boundary(% x) = %d", e.Name(), data, b)
		}
		if e.stateless || e.kind == kindUTF8 || e.kind == kindSingle || (e.kind == kindUTF16 && !e.bom) {
			whole, _ := e.Decode(data)
			head, _ := e.Decode(data[:b])
			tail, _ := e.Decode(data[b:])
			if head+tail != whole {
				t.Fatalf("%s Boundary(% x) = %d splits a character: %q + %q != %q", e.Name(), data, b, head, tail, whole)
			}
		}
	})
}

// FuzzDecodeWriter checks that decoding through the writer, cut anywhere,
// matches decoding the whole at once.
func FuzzDecodeWriter(f *testing.F) {
	f.Add([]byte("\xc4\xe3\xba\xc3\xff\x41"), uint8(4), uint8(3))
	f.Add([]byte("\x83\x65\x83\x58\x83"), uint8(7), uint8(1))
	f.Add([]byte("\x3d\xd8\x00\xde\x41"), uint8(10), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, which, step uint8) {
		e := fuzzEncoding(t, which)
		if e.IsUTF8() || !(e.stateless || e.kind != kindMulti) {
			return
		}
		n := int(step)%7 + 1
		var buf bytes.Buffer
		w := e.NewDecodeWriter(&buf)
		for i := 0; i < len(data); i += n {
			if _, err := w.Write(data[i:min(i+n, len(data))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if want, _ := e.Decode(data); buf.String() != want {
			t.Fatalf("%s writer(% x, step %d) = %q, Decode = %q", e.Name(), data, n, buf.String(), want)
		}
	})
}

// unescapeDisplay inverts AppendDisplay for encodings where that is
// possible: \xNN are bytes, other escapes and characters are encoded in e.
func unescapeDisplay(e *Encoding, s string) ([]byte, error) {
	var out []byte
	var err error
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '\\')
		if j < 0 {
			return e.Append(out, s[i:])
		}
		if out, err = e.Append(out, s[i:i+j]); err != nil {
			return nil, err
		}
		i += j
		switch s[i+1] {
		case 'x':
			v, _ := hexValue(s, i+2, 2)
			out = append(out, byte(v))
			i += 4
		case 'u', 'U':
			width := 4
			if s[i+1] == 'U' {
				width = 8
			}
			v, _ := hexValue(s, i+2, width)
			if out, err = e.Append(out, string(rune(v))); err != nil {
				return nil, err
			}
			i += 2 + width
		default:
			ch := map[byte]string{'\\': `\`, 'n': "\n", 'r': "\r", 't': "\t", '0': "\x00"}[s[i+1]]
			if out, err = e.Append(out, ch); err != nil {
				return nil, err
			}
			i += 2
		}
	}
	return out, nil
}

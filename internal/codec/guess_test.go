package codec

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

func TestGuess(t *testing.T) {
	enc := func(name, s string) string {
		b, err := mustLookup(t, name).Append(nil, s)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bytes.Repeat([]byte("sockit "), 100))
	zw.Close()
	ints := binary.LittleEndian.AppendUint32(nil, 1)
	ints = binary.LittleEndian.AppendUint32(ints, 2)
	ints = binary.LittleEndian.AppendUint32(ints, 300)

	for _, c := range []struct {
		name, in, want string
	}{
		// The tutorial's GBK client.
		{"gbk greeting", enc("gbk", "你好，服务器！\n"), "gbk"},
		{"gbk with ascii", enc("gbk", "hello 你好 world\r\n"), "gbk"},
		{"gbk two characters", enc("gbk", "你好"), "gbk"},
		{"gbk cut inside a character", enc("gbk", "你好世界")[:7], "gbk"},
		{"gb18030 four-byte", enc("gb18030", "你好€𠀀"), "gb18030"},
		{"utf-16le ascii", enc("utf-16le", "hello\r\n"), "utf-16le"},
		{"utf-16be ascii", enc("utf-16be", "hello world"), "utf-16be"},
		{"utf-16le chinese with bom", "\xff\xfe" + enc("utf-16le", "你好"), "utf-16le"},
		{"utf-16le mixed", enc("utf-16le", "id=42 名字"), "utf-16le"},

		// Nothing to say.
		{"valid utf-8", "你好，世界\n", ""},
		{"ascii", "hello\n", ""},
		{"utf-8 cut inside a character", "你好"[:5], ""},
		{"too short", "\xc4\xe3", ""},
		{"one gbk character", enc("gbk", "好 ok"), ""},
		{"latin-1 text", enc("latin1", "naïve café, Ärger über Öl\n"), ""},
		{"windows-1252 text", enc("windows-1252", "“quoted” — résumé\n"), ""},
		{"gzip", gz.String(), ""},
		{"little-endian integers", string(ints), ""},
		{"png header", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ""},
		{"control bytes", "\x01\x02\x03\x04\xc4\xe3\xba\xc3", ""},
		{"modbus frame", "\x01\x03\x00\x00\x00\x0a\xc5\xcd", ""},
		{"all 0xff", "\xff\xff\xff\xff\xff\xff", ""},
	} {
		if got := Guess([]byte(c.in)); got != c.want {
			t.Errorf("%s: Guess(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

// TestGuessRandomBytes: random data must (almost) never be called text.
// Seeded, so a failure repeats.
func TestGuessRandomBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	named := 0
	const n = 20000
	for i := range n {
		b := make([]byte, 4+r.IntN(512))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		if i%2 == 1 {
			// Only high bytes, the region where GBK lives. Four of them
			// can be two common characters (that is what 你好 is), so
			// these samples are 8 bytes or longer.
			b = append(b, 1, 2, 3, 4)
			for j := range b {
				b[j] |= 0x80
			}
		}
		if g := Guess(b); g != "" {
			named++
			t.Logf("random %x named %s", b, g)
		}
	}
	if named > 0 {
		t.Errorf("%d of %d random samples were named an encoding", named, n)
	}
}

func FuzzGuess(f *testing.F) {
	for _, s := range []string{
		"\xc4\xe3\xba\xc3", "\xc4\xe3\xba\xc3\n", "h\x00i\x00!\x00", "\xff\xfeh\x00i\x00!\x00",
		"\x00h\x00i\x00!", "hello", "你好", "\x81\x30\x81\x30\x81\x30\x81\x30", "\x89PNG\r\n\x1a\n",
		"caf\xe9 na\xefve", "\xa1\xa1\xa1\xa1",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		g := Guess(p)
		if g == "" {
			return
		}
		if utf8.Valid(p) && bytes.IndexByte(p, 0) < 0 {
			t.Fatalf("Guess(%q) = %q for valid UTF-8 text", p, g)
		}
		e, err := Lookup(g)
		if err != nil {
			t.Fatalf("Guess(%q) = %q, which Lookup refuses: %v", p, g, err)
		}
		// What was named decodes cleanly (after a BOM and a cut tail).
		q := p
		if len(q) >= 2 && (q[0] == 0xff && q[1] == 0xfe || q[0] == 0xfe && q[1] == 0xff) {
			q = q[2:]
		}
		q = q[:e.Boundary(q)]
		if _, ok := e.Decode(q); !ok {
			t.Fatalf("Guess(%q) = %q, but it does not decode as that", p, g)
		}
	})
}

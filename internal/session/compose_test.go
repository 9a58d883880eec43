package session

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/exitcode"
)

// encodingsUnderTest are every encoding sockit names in its help, plus
// the UTF-16 forms whose line ends are two bytes a character.
func encodingsUnderTest() []string {
	return append(codec.CommonNames(), "utf-16le", "utf-16be", "utf-16", "euc-jp", "iso-2022-jp", "windows-1252")
}

// TestComposeEOLEncodedWithMessage: the line end is text, encoded with
// the message in the encoding in force at each Message (issue 10: after
// /enc utf-16le with -C the message was 68 00 69 00 0d 0a).
func TestComposeEOLEncodedWithMessage(t *testing.T) {
	for _, name := range encodingsUnderTest() {
		enc, err := codec.Lookup(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, eol := range []string{"\r\n", "\n", "\r", ""} {
			for _, hex := range []bool{false, true} {
				in, body := "hi", "hi"
				if hex {
					in, body = "68 69", "\x68\x69"
				}
				utf8 := &Compose{EOL: eol, KeepEOL: true, Hex: hex}
				// Start in UTF-8 and switch, as /enc does at the prompt.
				if _, err := utf8.Message(nil, []byte(in+"\n"), ""); err != nil {
					t.Fatal(err)
				}
				utf8.SetEncoding(enc)
				got, err := utf8.Message(nil, []byte(in+"\n"), "")
				if err != nil {
					t.Fatalf("%s eol %q: %v", name, eol, err)
				}
				wantBody := []byte(body)
				if !hex {
					wantBody, _ = enc.Append(nil, body)
				}
				wantEOL, _ := enc.Append(nil, eol)
				want := append(append([]byte(nil), wantBody...), wantEOL...)
				if !bytes.Equal(got, want) {
					t.Errorf("%s, eol %q, hex %v: % x, want % x", name, eol, hex, got, want)
				}
				if enc.Name() == "utf-16le" && !hex && len(got)%2 != 0 {
					t.Errorf("utf-16le message of odd length % x", got)
				}
			}
		}
		// Without a chosen line end, text keeps its "\n", encoded.
		def := &Compose{}
		def.SetEncoding(enc)
		got, _ := def.Message(nil, []byte("hi\n"), "")
		want, _ := enc.Append(nil, "hi\n")
		if !bytes.Equal(got, want) {
			t.Errorf("%s default line end: % x, want % x", name, got, want)
		}
	}
}

func TestComposeTemplateCap(t *testing.T) {
	huge := strings.Repeat("{{rand:65536}}", 300) // 19.7 MB if expanded
	c := &Compose{Template: true}
	if _, err := c.Message(nil, []byte(huge), ""); exitcode.Code(err) != exitcode.Usage || !strings.Contains(err.Error(), "--max-message") {
		t.Fatalf("Message = %v, want a usage error naming --max-message", err)
	}
	if err := c.Check([]byte(huge)); exitcode.Code(err) != exitcode.Usage {
		t.Fatalf("Check = %v, want the same refusal before connecting", err)
	}
	c.Max = 32 << 20
	msg, err := c.Message(nil, []byte(huge), "")
	if err != nil || len(msg) != 300*65536 {
		t.Fatalf("with --max-message 32M: %d bytes, %v", len(msg), err)
	}
	small := &Compose{Template: true, Max: 100}
	if _, err := small.Message(nil, []byte("{{seq}} {{peer}}"), "127.0.0.1:5000"); err != nil {
		t.Fatalf("a short template refused: %v", err)
	}
	if _, err := small.Message(nil, []byte("{{randhex:60}}"), ""); err == nil {
		t.Fatal("120 hex digits allowed by Max 100")
	}
}

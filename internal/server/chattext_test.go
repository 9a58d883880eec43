package server

import (
	"bufio"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/session"
)

func TestEscapeText(t *testing.T) {
	gbk, err := codec.Lookup("gbk")
	if err != nil {
		t.Fatal(err)
	}
	u16, err := codec.Lookup("utf-16le")
	if err != nil {
		t.Fatal(err)
	}
	enc := func(e *codec.Encoding, s string) string {
		b, err := e.Append(nil, s)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, c := range []struct {
		name       string
		recv, send *codec.Encoding
		in, want   string
	}{
		{"plain", nil, nil, "hello\n", "hello\n"},
		{"tabs and backslashes", nil, nil, "a\tb\\c\r\n", "a\tb\\c\r\n"},
		{"ESC sequences", nil, nil, "\x1b[2J\x1b[31mred\x07\n", `\x1b[2J\x1b[31mred\x07` + "\n"},
		{"lone CR", nil, nil, "fake\rreal\n", `fake\rreal` + "\n"},
		{"NUL and DEL", nil, nil, "a\x00b\x7f", `a\0b\x7f`},
		{"C1 control", nil, nil, "a\u009bb", `a\xc2\x9bb`},
		{"bad UTF-8", nil, nil, "a\xffb\n", `a\xffb` + "\n"},
		{"bidi override", nil, nil, "abc\u202edef", `abc\u202edef`},
		{"Chinese", nil, nil, "你好\n", "你好\n"},
		{"newline inside a datagram", nil, nil, "a\nb", `a\nb`},
		// GBK: the escaping is on the decoded text; GBK bytes pass whole.
		{"gbk", gbk, gbk, enc(gbk, "你好\x1b[0m\n"), enc(gbk, `你好\x1b[0m`+"\n")},
		// UTF-16: the bytes of "\n" are 0a 00; ESC is 1b 00.
		{"utf-16le", u16, u16, enc(u16, "hi\x1b[0m\n"), enc(u16, `hi\x1b[0m`+"\n")},
		// Received in GBK, sent on in UTF-8.
		{"gbk to utf-8", gbk, nil, enc(gbk, "你好\x07"), `你好\x07`},
		// A character the send encoding cannot carry.
		{"utf-8 to gbk", nil, gbk, "ok \U0001F600\n", enc(gbk, `ok \U0001f600`+"\n")},
	} {
		got := string(EscapeText(c.recv, c.send)(nil, []byte(c.in)))
		if got != c.want {
			t.Errorf("%s: EscapeText(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

// TestChatEscapesAndAnnounces talks to a text chat over loopback: an ESC
// sequence from one client reaches another escaped, and joins and leaves
// are announced to the others.
func TestChatEscapesAndAnnounces(t *testing.T) {
	t.Parallel()
	ch := &Chat{Escape: EscapeText(nil, nil), Announce: true}
	addr := serveTCP(t, &Server{Handler: ch.Handle}, "tcp")
	a := dial(t, addr)
	waitMembers(t, ch, 1)
	b := dial(t, addr)
	br := bufio.NewReader(a)
	a.SetReadDeadline(time.Now().Add(30 * time.Second))
	line := func(r *bufio.Reader) string {
		t.Helper()
		s, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v (so far %q)", err, s)
		}
		return s
	}
	if got, want := line(br), "* "+b.LocalAddr().String()+" joined (2 here)\n"; got != want {
		t.Fatalf("a got %q, want %q", got, want)
	}
	b.Write([]byte("\x1b]0;owned\x07\x1b[2Jhi\n"))
	if got, want := line(br), "["+b.LocalAddr().String()+`] \x1b]0;owned\x07\x1b[2Jhi`+"\n"; got != want {
		t.Fatalf("a got %q, want %q", got, want)
	}
	bAddr := b.LocalAddr().String()
	b.Close()
	if got, want := line(br), "* "+bAddr+" left (1 here)\n"; got != want {
		t.Fatalf("a got %q, want %q", got, want)
	}
}

// Without Escape (binary framing) the bytes pass as they came.
func TestChatWithoutEscapeKeepsBytes(t *testing.T) {
	t.Parallel()
	ch := &Chat{}
	addr := serveTCP(t, &Server{Handler: ch.Handle, Conn: session.Options{}}, "tcp")
	a, b := dial(t, addr), dial(t, addr)
	waitMembers(t, ch, 2)
	b.Write([]byte("\x1b[0m\n"))
	want := "[" + b.LocalAddr().String() + "] \x1b[0m\n"
	if got := readN(t, a, len(want)); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

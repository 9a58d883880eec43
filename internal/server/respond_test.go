package server

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/checksum"
	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/session"
	"github.com/sockit/sockit/internal/sockittest"
)

func TestParseReply(t *testing.T) {
	gbk, _ := codec.Lookup("gbk")
	crc, _ := checksum.Lookup("crc16-modbus")
	file := filepath.Join(t.TempDir(), "reply.txt")
	os.WriteFile(file, []byte("from a file\n"), 0o644)
	for _, tc := range []struct {
		in   string
		opt  ReplyOptions
		want string
	}{
		{"PONG", ReplyOptions{}, "PONG"},
		{`PONG\r\n`, ReplyOptions{}, `PONG\r\n`},
		{`PONG\r\n`, ReplyOptions{Escapes: true}, "PONG\r\n"},
		{"hex:01 03 02", ReplyOptions{}, "\x01\x03\x02"},
		{"hex:0x4f,0x4b", ReplyOptions{Escapes: true}, "OK"},
		{"4f 4b", ReplyOptions{Hex: true}, "OK"},
		{"@" + file, ReplyOptions{}, "from a file\n"},
		{"你好", ReplyOptions{Encoding: gbk}, "\xc4\xe3\xba\xc3"},
		{"{{hex:0102}}x", ReplyOptions{Template: true}, "\x01\x02x"},
		{"{{seq}}", ReplyOptions{}, "{{seq}}"}, // templates only when asked
		{"hex:01 03 00 00 00 0a", ReplyOptions{Checksum: crc}, "\x01\x03\x00\x00\x00\x0a\xc5\xcd"},
		{"", ReplyOptions{}, ""},
	} {
		r, err := ParseReply(OptReply, tc.in, tc.opt)
		if err != nil {
			t.Errorf("ParseReply(%q): %v", tc.in, err)
			continue
		}
		got, err := r.Append(nil, 1, "127.0.0.1:9")
		if err != nil || string(got) != tc.want {
			t.Errorf("ParseReply(%q) sends %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"hex:zz", "--reply"},
		{"@/nonexistent/file", "no such file"},
		{`bad\q`, "offset"},
	} {
		_, err := ParseReply(OptReply, tc.in, ReplyOptions{Escapes: true})
		if u, ok := sockittest.AsUsage(err); !ok || !strings.Contains(u.Msg, tc.want) {
			t.Errorf("ParseReply(%q) = %v, want a usage error with %q", tc.in, err, tc.want)
		}
	}
	if _, err := ParseReply(OptReply, "{{nope}}", ReplyOptions{Template: true}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown placeholder: %v", err)
	}
}

func TestParseRule(t *testing.T) {
	r := mustRule(t, `^GET (\S+)=>HTTP/1.0 200 OK\r\n\r\n`, ReplyOptions{Escapes: true})
	if !r.Pattern.MatchString("GET /x HTTP/1.0") {
		t.Error("pattern does not match")
	}
	if b, _ := r.Reply.Append(nil, 1, ""); string(b) != "HTTP/1.0 200 OK\r\n\r\n" {
		t.Errorf("reply %q", b)
	}
	// Split at the first "=>": the reply may contain one.
	r = mustRule(t, "a=>b=>c", ReplyOptions{})
	if b, _ := r.Reply.Append(nil, 1, ""); string(b) != "b=>c" || r.Pattern.String() != "a" {
		t.Errorf("split: %q %q", r.Pattern, b)
	}
	if r := mustRule(t, "^QUIET=>", ReplyOptions{}); !r.Reply.Empty() {
		t.Error("empty reply should be empty")
	}
	for _, bad := range []string{"no arrow", "=>x", "([=>x", "a=>hex:0"} {
		if _, err := ParseRule(bad, ReplyOptions{}); err == nil {
			t.Errorf("ParseRule(%q) accepted", bad)
		} else if _, ok := sockittest.AsUsage(err); !ok {
			t.Errorf("ParseRule(%q): %T %v, want a usage error", bad, err, err)
		}
	}
}

func TestRespondFirstMatchWinsAndDefault(t *testing.T) {
	t.Parallel()
	opt := ReplyOptions{Escapes: true, Template: true}
	r := &Responder{
		Rules: []Rule{
			mustRule(t, `^PING=>PONG`, opt),
			mustRule(t, `^P=>never, PING matched first`, opt),
			mustRule(t, `^SEQ=>n={{seq}}`, opt),
			mustRule(t, `^QUIET=>`, opt),
			mustRule(t, `^WHO=>{{peer}}`, opt),
		},
		Default: mustReply(t, "?", opt),
	}
	addr := serveTCP(t, &Server{Handler: r.Handle, Conn: lineFrame()}, "tcp")
	for range 2 { // {{seq}} counts per conversation
		c := dial(t, addr)
		br := bufio.NewReader(c)
		c.Write([]byte("PING\nPOKE\nSEQ\nQUIET\nSEQ\nWHO\n"))
		for _, want := range []string{"PONG\n", "never, PING matched first\n", "n=3\n", "n=4\n", c.LocalAddr().String() + "\n"} {
			if got := readLine(t, br, c); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
		c.Write([]byte("anything\n"))
		if got := readLine(t, br, c); got != "?\n" {
			t.Fatalf("default: got %q", got)
		}
	}
}

func TestRespondNoDefaultStaysQuiet(t *testing.T) {
	t.Parallel()
	r := &Responder{Rules: []Rule{mustRule(t, "^PING=>PONG", ReplyOptions{})}}
	addr := serveTCP(t, &Server{Handler: r.Handle, Conn: lineFrame()}, "tcp")
	c := dial(t, addr)
	c.Write([]byte("hello\n"))
	expectQuiet(t, c, 200*time.Millisecond)
	c.Write([]byte("PING\n"))
	if got := readN(t, c, 5); got != "PONG\n" {
		t.Fatalf("got %q", got)
	}
}

func TestRespondBinaryWithLatin1(t *testing.T) {
	t.Parallel()
	latin1, _ := codec.Lookup("latin1")
	crc, _ := checksum.Lookup("crc16-modbus")
	opt := ReplyOptions{Checksum: crc}
	// A Modbus read of holding registers gets a canned answer.
	r := &Responder{
		Rules:  []Rule{{Pattern: regexp.MustCompile(`^\x01\x03`), Reply: mustReply(t, "hex:01 03 02 00 2a", opt)}},
		Decode: func(p []byte) string { s, _ := latin1.Decode(p); return s },
	}
	addr := serveTCP(t, &Server{Handler: r.Handle}, "tcp")
	c := dial(t, addr)
	c.Write([]byte("\x01\x03\x00\x00\x00\x01\x84\x0a"))
	want := string(crc.Append(nil, []byte("\x01\x03\x02\x00\x2a")))
	if got := readN(t, c, len(want)); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	c.Write([]byte("\xff\x03"))
	expectQuiet(t, c, 200*time.Millisecond)
}

func TestRespondUDPRepliesToEachSender(t *testing.T) {
	t.Parallel()
	r := &Responder{Default: mustReply(t, "to {{peer}} #{{seq}}", ReplyOptions{Template: true})}
	addr := serveUDP(t, &Server{Handler: r.Handle, Conn: session.Options{IdleTimeout: 10 * time.Second}})
	var clients []net.PacketConn
	for range 4 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		clients = append(clients, pc)
	}
	ua, _ := net.ResolveUDPAddr("udp", addr)
	for round := 1; round <= 2; round++ {
		for _, pc := range clients {
			pc.WriteTo([]byte("hi"), ua)
		}
		for _, pc := range clients {
			pc.SetReadDeadline(time.Now().Add(10 * time.Second))
			b := make([]byte, 100)
			n, from, err := pc.ReadFrom(b)
			if err != nil {
				t.Fatal(err)
			}
			want := "to " + pc.LocalAddr().String() + " #" + string(rune('0'+round))
			if string(b[:n]) != want || from.String() != addr {
				t.Errorf("got %q from %s, want %q from %s", b[:n], from, want, addr)
			}
		}
	}
}

func TestRespondIgnoresLineEnd(t *testing.T) {
	rule, err := ParseRule("^PING$=>PONG", ReplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := &Responder{Rules: []Rule{rule}}
	for _, msg := range []string{"PING", "PING\n", "PING\r\n"} {
		if r.Answer([]byte(msg)) == nil {
			t.Errorf("%q: no reply; ^PING$ should match a line with its line end", msg)
		}
	}
	if r.Answer([]byte("PING\nX")) != nil {
		t.Error(`"PING\nX" matched ^PING$`)
	}
}

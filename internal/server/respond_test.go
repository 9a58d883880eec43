package server

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/session"
)

func TestRulesReply(t *testing.T) {
	gbk, err := codec.Lookup("gbk")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rules []string
		enc   *codec.Encoding
		msg   string
		want  string
		ok    bool
	}{
		{[]string{`^PING$=>PONG\r\n`}, nil, "PING\r\n", "PONG\r\n", true},
		{[]string{`^PING$=>PONG`}, nil, "PING\n", "PONG", true},
		{[]string{`^PING$=>PONG`}, nil, "PINGS", "", false},
		{[]string{`A=>first`, `A=>second`}, nil, "xAx", "first", true},
		{[]string{`^B=>b`, `A=>a`}, nil, "A", "a", true},
		{[]string{`^AT$=>hex:4f 4b 0d 0a`}, nil, "AT", "OK\r\n", true},
		{[]string{`=>always`}, nil, "", "always", true},
		{[]string{`你好=>再见`}, gbk, "\xc4\xe3\xba\xc3", "\xd4\xd9\xbc\xfb", true},
		{[]string{`x=>\x00\xff`}, nil, "x", "\x00\xff", true},
		{[]string{`a=>b=>c`}, nil, "a", "b=>c", true},
	}
	for _, tt := range tests {
		rs, err := ParseRules(tt.rules, tt.enc)
		if err != nil {
			t.Fatalf("%q: %v", tt.rules, err)
		}
		got, ok := rs.Reply([]byte(tt.msg))
		if ok != tt.ok || string(got) != tt.want {
			t.Errorf("%q on %q = %q, %v; want %q, %v", tt.rules, tt.msg, got, ok, tt.want, tt.ok)
		}
	}
	var none *Rules
	if _, ok := none.Reply([]byte("x")); ok || none.Len() != 0 {
		t.Error("nil rules answered")
	}
}

func TestParseRulesErrors(t *testing.T) {
	for _, spec := range []string{"no arrow", "(=>x", `a=>\q`, "a=>hex:zz"} {
		_, err := ParseRules([]string{spec}, nil)
		var u *exitcode.UsageError
		if !errors.As(err, &u) {
			t.Errorf("%q: error %v, want a usage error", spec, err)
			continue
		}
		if !strings.Contains(err.Error(), strconv.Quote(spec)) {
			t.Errorf("%q: error %q does not name the rule", spec, err)
		}
	}
}

// TestRespond runs the behaviour on a real listener, with the rules
// changed while the client stays connected.
func TestRespond(t *testing.T) {
	first, err := ParseRules([]string{`^hello$=>world\n`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	current := first
	srv := &Server{
		Handler: Respond(func() *Rules { mu.Lock(); defer mu.Unlock(); return current }),
		Conn:    session.Options{Frame: frame.Spec{Kind: frame.Line}},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	c.Write([]byte("nothing\nhello\n"))
	if line, err := r.ReadString('\n'); err != nil || line != "world\n" {
		t.Fatalf("got %q, %v; want world", line, err)
	}
	second, _ := ParseRules([]string{`^hello$=>bye\n`}, nil)
	mu.Lock()
	current = second
	mu.Unlock()
	c.Write([]byte("hello\n"))
	if line, err := r.ReadString('\n'); err != nil || line != "bye\n" {
		t.Fatalf("after the change got %q, %v; want bye", line, err)
	}
}

func FuzzParseRules(f *testing.F) {
	f.Add(`^PING$=>PONG\r\n`, "PING\r\n")
	f.Add(`^AT$=>hex:4f4b`, "AT")
	f.Add(`(=>x`, "")
	f.Fuzz(func(t *testing.T, spec, msg string) {
		rs, err := ParseRules([]string{spec}, nil)
		if err != nil {
			return
		}
		if rs.Len() != 1 || rs.Specs()[0] != spec {
			t.Fatalf("parsed %q into %q", spec, rs.Specs())
		}
		rs.Reply([]byte(msg))
	})
}

package web

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// TestSendTemplateCap: a page cannot make sockit expand a template into
// gigabytes (issue 9: {{rand:65536}} × 70,000 in one send pushed sockit ui
// past 2.5 GB). One message is capped at --max-message's default, before
// anything is expanded or sent. The page says so in the engine's words,
// naming the option, not the command line's flag.
func TestSendTemplateCap(t *testing.T) {
	u := startUI(t)
	w := dialWS(t, u)
	w.until(func(m message) bool { return m.Type == "hello" })
	sid := w.ok(map[string]any{"op": "open", "kind": "tcp-server", "local": "127.0.0.1:0"}).SID
	st := w.until(func(m message) bool { return m.Type == "state" && m.SID == sid && m.Session.State == "listening" }).Session
	c, err := net.Dial("tcp", strings.TrimPrefix(st.Status, "listening on "))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w.event(sid, func(e wireEvent) bool { return e.Kind == "connect" })

	huge := strings.Repeat("{{rand:65536}}", 1000) // 65 MB expanded: over the cap, yet safe should a regression expand it
	m := w.do(map[string]any{"op": "send", "sid": sid, "data": huge, "template": true, "eol": "none"})
	if m.Type != "error" || !strings.Contains(m.Error, "max-message") || strings.Contains(m.Error, "--") {
		t.Fatalf("send of a 65 MB template: %s %q, want an error naming max-message (and no flag)", m.Type, m.Error)
	}
	// A template within the cap still goes out.
	w.ok(map[string]any{"op": "send", "sid": sid, "data": "{{hex:6f6b}}", "template": true, "eol": "lf"})
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	b := make([]byte, 3)
	if _, err := c.Read(b); err != nil || string(b) != "ok\n" {
		t.Fatalf("client read %q, %v; want only the small message", b, err)
	}
}

// TestSendToAllDropsSlowReader: a client of a server session that stops
// reading holds up the page's sends to every client for the hub's write
// timeout at most (server.Hub, as listen -k's stdin), then is dropped,
// and the others still get what is sent. The page's own copy of the
// broadcast had no deadline: one such client stalled every send.
func TestSendToAllDropsSlowReader(t *testing.T) {
	u := startUI(t)
	w := dialWS(t, u)
	w.until(func(m message) bool { return m.Type == "hello" })
	sid := w.ok(map[string]any{"op": "open", "kind": "tcp-server", "local": "127.0.0.1:0"}).SID
	st := w.until(func(m message) bool { return m.Type == "state" && m.SID == sid && m.Session.State == "listening" }).Session
	addr := strings.TrimPrefix(st.Status, "listening on ")
	slow, err := net.Dial("tcp", addr) // never reads
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	w.event(sid, func(e wireEvent) bool { return e.Kind == "connect" && e.Peer == slow.LocalAddr().String() })
	fast, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	w.event(sid, func(e wireEvent) bool { return e.Kind == "connect" && e.Peer == fast.LocalAddr().String() })
	var got atomic.Int64
	go func() {
		b := make([]byte, 64<<10)
		for {
			n, err := fast.Read(b)
			got.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()

	data := strings.Repeat("{{rand:65536}}", 16) // 1 MiB once expanded; short in a failure's message
	dropped := false
	// Enough to fill the slow client's buffers many times over; each send
	// must be answered, within do's 20s.
	for i := 0; i < 64 && !dropped; i++ {
		m := w.do(map[string]any{"op": "send", "sid": sid, "data": data, "template": true, "eol": "none"})
		if m.Type == "error" {
			if !strings.Contains(m.Error, slow.LocalAddr().String()) {
				t.Fatalf("send %d: %q, want an error naming the slow client", i, m.Error)
			}
			dropped = true
		}
	}
	if !dropped {
		t.Fatal("64 MiB went to a client that does not read, and no send failed")
	}
	w.event(sid, func(e wireEvent) bool {
		return e.Kind == "close" && e.Peer == slow.LocalAddr().String() && strings.Contains(e.Text, "not reading")
	})
	before := got.Load()
	w.ok(map[string]any{"op": "send", "sid": sid, "data": "after", "eol": "lf"})
	sockittest.Eventually(t, "the reading client gets the next send", func() bool { return got.Load() >= before+6 })
}

package web

import (
	"net"
	"strings"
	"testing"
	"time"
)

// TestSendTemplateCap: a page cannot make sockit expand a template into
// gigabytes (issue 9: {{rand:65536}} × 70,000 in one send pushed sockit ui
// past 2.5 GB). One message is capped at --max-message's default, before
// anything is expanded or sent.
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
	if m.Type != "error" || !strings.Contains(m.Error, "--max-message") {
		t.Fatalf("send of a 65 MB template: %s %q, want an error naming --max-message", m.Type, m.Error)
	}
	// A template within the cap still goes out.
	w.ok(map[string]any{"op": "send", "sid": sid, "data": "{{hex:6f6b}}", "template": true, "eol": "lf"})
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	b := make([]byte, 3)
	if _, err := c.Read(b); err != nil || string(b) != "ok\n" {
		t.Fatalf("client read %q, %v; want only the small message", b, err)
	}
}

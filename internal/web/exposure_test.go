package web

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sockit/sockit/internal/endpoint"
)

func TestExposure(t *testing.T) {
	for _, tt := range []struct {
		kind        kind
		local, want string // want: in the description; "" for none
	}{
		{kindServer, "127.0.0.1:8888", ""},
		{kindServer, "[::1]:8888", ""},
		{kindServer, "localhost:8888", ""},
		{kindServer, "127.3.4.5:0", ""},
		{kindServer, "0.0.0.0:8888", "every network interface"},
		{kindServer, "[::]:8888", "every network interface"},
		{kindServer, ":8888", "every network interface"},
		{kindServer, "8888", "every network interface"},
		{kindServer, "192.0.2.7:8888", "other machines can reach"},
		{kindServer, "myhost.example:8888", "a name"},
		{kindServer, "unix:///tmp/s.sock", "Unix socket /tmp/s.sock"},
		{kindServer, "unix://@sockit", "abstract Unix socket"},
		{kindUDP, "udp://127.0.0.1:0", ""},
		{kindUDP, "udp://:0", "every network interface"},
		{kindUDP, "udp://[::]:5353", "every network interface"},
		{kindClient, "0.0.0.0:0", ""}, // a client's source address listens for nothing
	} {
		ep, err := endpoint.Parse(tt.local, endpoint.Options{Listen: true})
		if err != nil {
			t.Fatal(err)
		}
		got := exposure(tt.kind, ep)
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("exposure(%s, %s) = %q, want %q", tt.kind, tt.local, got, tt.want)
		}
	}
}

// TestOpenExposedNeedsConfirm (issue 9): the server refuses to open a
// server on every interface, on another address or on a Unix path unless
// the command says the page confirmed it, so a script cannot skip the
// question; a confirmed open is logged. Loopback needs nothing.
func TestOpenExposedNeedsConfirm(t *testing.T) {
	u := startUI(t)
	w := dialWS(t, u)
	sock := filepath.Join(t.TempDir(), "ui.sock")
	for _, tc := range []struct {
		kind        kind
		local, want string
	}{
		{kindServer, "0.0.0.0:0", "every network interface"},
		{kindServer, "[::]:0", "every network interface"},
		{kindServer, "unix://" + sock, "Unix socket " + sock},
		{kindUDP, "", "every network interface"}, // UDP's default bind
		{kindUDP, "udp://0.0.0.0:0", "every network interface"},
	} {
		open := map[string]any{"op": "open", "kind": tc.kind, "local": tc.local}
		m := w.do(open)
		if m.Type != "error" || !strings.Contains(m.Confirm, tc.want) || !strings.Contains(m.Error, "confirmation") {
			t.Fatalf("%s %q without confirm: %+v; want an error asking about %q", tc.kind, tc.local, m, tc.want)
		}
		if tc.kind == kindServer && !strings.HasPrefix(tc.local, "unix") {
			// Nothing listens: the port the page would get is not bound.
			if n := len(u.mgr.list()); n != 0 {
				t.Fatalf("%d sessions open after a refused open", n)
			}
		}
		open["confirm"] = true
		sid := w.ok(open).SID
		if !strings.Contains(u.log.String(), "confirmed in the page") || !strings.Contains(u.log.String(), tc.want) {
			t.Errorf("the confirmed open of %s %q was not logged:\n%s", tc.kind, tc.local, u.log)
		}
		w.ok(map[string]any{"op": "close", "sid": sid})
	}
	before := u.log.String()
	for _, open := range []map[string]any{
		{"op": "open", "kind": kindServer, "local": "127.0.0.1:0"},
		{"op": "open", "kind": kindServer, "local": "localhost:0"},
		{"op": "open", "kind": kindUDP, "local": "127.0.0.1:0"},
		{"op": "open", "kind": kindClient, "remote": "127.0.0.1:9", "local": "0.0.0.0:0"},
	} {
		sid := w.ok(open).SID
		w.ok(map[string]any{"op": "close", "sid": sid})
	}
	if u.log.String() != before {
		t.Errorf("loopback opens were logged as exposed:\n%s", strings.TrimPrefix(u.log.String(), before))
	}
}

// TestBrowserConfirmExposedServer: in the page, opening a TCP server on
// 0.0.0.0 shows the confirmation; Cancel opens nothing, "Open it" opens
// it, and the session's log and sockit's stderr say it was confirmed.
func TestBrowserConfirmExposedServer(t *testing.T) {
	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.run(chromedp.Navigate(u.url))
	p.wait(`window.sockit && window.sockit.connected`)
	if !p.visible("#new-form") {
		p.click("#new-session")
	}
	p.click("#kind-tcp-server")
	p.set("#new-local", "0.0.0.0:0")
	p.click("#new-open")
	p.wait(`document.querySelector('#confirm').open`)
	if q := p.text("#confirm-question"); !strings.Contains(q, "every network interface") {
		t.Fatalf("the confirmation asks %q", q)
	}
	p.click("#confirm-no")
	p.wait(`!document.querySelector('#confirm').open && ` + has("#new-error", "Not opened"))
	var n int
	p.eval(`window.sockit.sessions.size`, &n)
	if n != 0 || len(u.mgr.list()) != 0 {
		t.Fatalf("Cancel opened a session (page %d, server %d)", n, len(u.mgr.list()))
	}

	p.click("#new-open")
	p.wait(`document.querySelector('#confirm').open`)
	p.click("#confirm-yes")
	p.wait(`window.sockit.sessions.size === 1 && !!document.querySelector('.panel.active')`)
	p.wait(has(active(".log"), "confirmed in the page"))
	if len(u.mgr.list()) != 1 {
		t.Fatalf("%d sessions open", len(u.mgr.list()))
	}
	if !strings.Contains(u.log.String(), "ui: opened a TCP server on every network interface") {
		t.Errorf("not logged:\n%s", u.log)
	}
	// It does listen on every interface, loopback included.
	var local string
	p.eval(`window.sockit.sessions.values().next().value.st.local || ''`, &local)
	_, port, err := net.SplitHostPort(local)
	if err != nil {
		t.Fatalf("the page shows local address %q: %v", local, err)
	}
	c, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatalf("dial the confirmed server on %s: %v", local, err)
	}
	c.Close()
}

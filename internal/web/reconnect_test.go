package web

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/sockit/sockit/internal/sockittest"
)

// freePort is a loopback address nothing listens on (yet).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func (w *wsClient) state(sid int, f func(*sessState) bool) *sessState {
	w.t.Helper()
	return w.until(func(m message) bool { return m.Type == "state" && m.SID == sid && f(m.Session) }).Session
}

// TestAutoReconnect: a client with auto-reconnect waits longer after each
// failed attempt and says so, connects once the server is up, connects
// again when the server drops it, and a repeat started before all that
// (while nobody was there) goes on sending on each new connection.
// Disconnect ends it.
func TestAutoReconnect(t *testing.T) {
	u := startUI(t)
	w := dialWS(t, u)
	addr := freePort(t)
	sid := w.ok(map[string]any{"op": "open", "kind": "tcp-client", "remote": addr, "frame": "line", "autoReconnect": true}).SID
	st := w.state(sid, func(s *sessState) bool { return s.Retry != nil && s.Retry.Attempt == 2 })
	if st.Retry.Delay != 2*reconnectFirst.Milliseconds() || !st.AutoReconnect || st.State != stateFailed {
		t.Fatalf("second wait: %+v (state %s), want %v", st.Retry, st.State, 2*reconnectFirst)
	}
	// A repeat while not connected: it starts, and misses.
	w.ok(map[string]any{"op": "send", "sid": sid, "data": "tick {{seq}}", "template": true, "every": 20, "count": 0})
	w.state(sid, func(s *sessState) bool { return s.Repeat != nil && s.Repeat.Missed > 0 && s.Repeat.Active })

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the port was taken meanwhile: %v", err)
	}
	defer ln.Close()
	w.ok(map[string]any{"op": "reconnect", "sid": sid}) // no need to wait out the back-off
	for round := 1; round <= 2; round++ {
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "tick ") {
			t.Fatalf("round %d: the server got %q, %v", round, line, err)
		}
		c.Close() // the server drops the client: it comes back
	}
	st = w.state(sid, func(s *sessState) bool { return s.Repeat != nil && s.Repeat.Sent > 2 })
	if !st.Repeat.Active {
		t.Errorf("the repeat stopped: %+v", st.Repeat)
	}
	// Disconnect stops the reconnecting.
	w.state(sid, func(s *sessState) bool { return s.State == stateConnected })
	w.ok(map[string]any{"op": "kick", "sid": sid, "peer": "connection"})
	w.state(sid, func(s *sessState) bool { return s.State == stateClosed && s.Retry == nil })
	w.ok(map[string]any{"op": "stop", "sid": sid})
	ln.Close()
	s, _ := u.mgr.get(sid)
	sockittest.Eventually(t, "the session to stop dialling", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return !s.dialing })
}

// TestAutoReconnectOff: turning auto-reconnect off ends a wait; on again
// connects.
func TestAutoReconnectOff(t *testing.T) {
	u := startUI(t)
	w := dialWS(t, u)
	sid := w.ok(map[string]any{"op": "open", "kind": "tcp-client", "remote": freePort(t), "autoReconnect": true}).SID
	w.state(sid, func(s *sessState) bool { return s.Retry != nil })
	w.ok(map[string]any{"op": "autoreconnect", "sid": sid})
	w.state(sid, func(s *sessState) bool { return s.Retry == nil && !s.AutoReconnect && s.State == stateFailed })
	s, _ := u.mgr.get(sid)
	sockittest.Eventually(t, "the session to stop dialling", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return !s.dialing })
	w.ok(map[string]any{"op": "autoreconnect", "sid": sid, "autoReconnect": true})
	w.state(sid, func(s *sessState) bool { return s.Retry != nil && s.AutoReconnect })
}

// TestRepeatWithoutClients: a server's repeat runs while no client is
// connected, counting what it missed, and the client that comes gets the
// rest.
func TestRepeatWithoutClients(t *testing.T) {
	u := startUI(t)
	w := dialWS(t, u)
	m := w.ok(map[string]any{"op": "open", "kind": "tcp-server", "local": "127.0.0.1:0", "frame": "line"})
	st := w.state(m.SID, func(s *sessState) bool { return s.Local != "" })
	w.ok(map[string]any{"op": "send", "sid": m.SID, "data": "hello", "every": 20, "count": 0})
	w.state(m.SID, func(s *sessState) bool { return s.Repeat != nil && s.Repeat.Missed >= 2 })
	c, err := net.Dial("tcp", st.Local)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "hello\n" {
		t.Fatalf("the client got %q, %v", line, err)
	}
	// A single send still says nobody is there.
	c.Close()
	w.ok(map[string]any{"op": "stop", "sid": m.SID})
	sockittest.Eventually(t, "the session to have no peers", func() bool { return len(u.mgr.list()[0].peers()) == 0 })
	if r := w.do(map[string]any{"op": "send", "sid": m.SID, "data": "x"}); r.Type != "error" {
		t.Errorf("a send to nobody: %+v", r)
	}
}

// TestBrowserAutoReconnect: in the page, a client opened with
// Auto-reconnect shows its back-off, connects when the server comes, and
// comes back when the server drops it, with its repeat going on; a bad
// interval is refused next to the field.
func TestBrowserAutoReconnect(t *testing.T) {
	for _, lang := range []string{"en", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			u := startUI(t)
			p := newPage(t, 1280, 800)
			if lang == "zh-CN" {
				p.browserLanguage("zh-CN,zh;q=0.9")
			}
			p.run(chromedp.Navigate(u.url))
			addr := freePort(t)
			p.wait(`window.sockit && window.sockit.connected`)
			p.click("#kind-tcp-client")
			p.check("#new-autoreconnect", true)
			p.open(kindClient, map[string]string{"remote": addr, "frame": "line"})
			p.wait(`+document.querySelector('.panel.active .retry-info').dataset.attempt >= 2`)
			want := map[string]string{"en": "reconnecting in", "zh-CN": "秒后重连"}[lang]
			p.wait(has(active(".retry-info"), want))
			if !p.visible(active(".auto-reconnect")) {
				t.Error("no Auto-reconnect box in the client's status bar")
			}

			// A bad interval is refused where it is typed.
			p.set(active(".send-text"), "ping")
			p.set(active(".every"), "0")
			p.click(active(".start-repeat"))
			p.wait(`document.querySelector('.panel.active .repeat-error').textContent !== '' && document.querySelector('.panel.active .every').classList.contains('bad')`)
			p.set(active(".every"), "30")
			p.set(active(".count"), "0")
			p.click(active(".start-repeat"))
			p.wait(`+document.querySelector('.panel.active .repeat-info').dataset.missed > 0 && document.querySelector('.panel.active .repeat-error').textContent === ''`)

			ln, err := net.Listen("tcp", addr)
			if err != nil {
				t.Skipf("the port was taken meanwhile: %v", err)
			}
			defer ln.Close()
			for round := 1; round <= 2; round++ {
				c, err := ln.Accept()
				if err != nil {
					t.Fatal(err)
				}
				c.SetDeadline(time.Now().Add(30 * time.Second))
				if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "ping\n" {
					t.Fatalf("round %d: %q %v", round, line, err)
				}
				p.wait(`window.sockit.sessions.get(1).st.state === 'connected'`)
				c.Close()
			}
			p.wait(`!document.querySelector('.panel.active .stop-repeat').hidden`)
			p.click(active(".stop-repeat"))
			p.click(active(".auto-reconnect"))
			p.wait(`!window.sockit.sessions.get(1).st.autoReconnect`)
		})
	}
}

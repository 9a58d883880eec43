package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestParseCommand(t *testing.T) {
	good := []string{
		`{"op":"open","req":"1","kind":"tcp-server","local":"127.0.0.1:0","encoding":"gbk","frame":"line"}`,
		`{"op":"open","kind":"tcp-client","remote":"127.0.0.1:1","tls":{"on":true,"insecure":true}}`,
		`{"op":"send","sid":1,"data":"hi","eol":"crlf","to":"#2","every":100,"count":10}`,
		`{"op":"send","sid":1,"data":"","every":5}`,
		`{"op":"save","name":"x","data":"01 02","hex":true}`,
		`{"op":"rules","sid":3,"rules":["a=>b"]}`,
		`  {"op":"close","sid":1}  `,
	}
	for _, s := range good {
		if _, err := parseCommand([]byte(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	bad := map[string]string{
		`{"op":"launch"}`:                               "unknown command",
		`{"op":"close"}`:                                "needs a session",
		`{"op":"close","sid":-1}`:                       "needs a session",
		`{"op":"open","kind":"sctp"}`:                   "unknown session kind",
		`{"op":"open","kind":"udp","exec":"sh"}`:        "unknown field",
		`{"op":"send","sid":1,"every":-1}`:              "out of range",
		`{"op":"send","sid":1,"count":3}`:               "needs an interval",
		`{"op":"send","sid":1,"every":3600001}`:         "out of range",
		`{"op":"kick","sid":1}`:                         "needs a peer",
		`{"op":"save"}`:                                 "needs a name",
		`{"op":"close","sid":1}{"op":"close"}`:          "more than one",
		`{"op":"close","sid":"1"}`:                      "bad command",
		`[1,2]`:                                         "bad command",
		``:                                              "bad command",
		"{\"op\":\"send\",\"sid\":1,\"data\":\"\xff\"}": "UTF-8",
		`{"op":"open","kind":"udp","local":"` + strings.Repeat("a", maxField+1) + `"}`: "too long",
		`{"op":"send","sid":1,"data":"` + strings.Repeat("a", maxData+1) + `"}`:        "too long",
		`{"op":"rules","sid":1,"rules":[` + strings.Repeat(`"a",`, maxRules) + `"a"]}`: "too many",
	}
	for s, want := range bad {
		_, err := parseCommand([]byte(s))
		if err == nil || !strings.Contains(err.Error(), want) {
			short := s
			if len(short) > 80 {
				short = short[:80] + "…"
			}
			t.Errorf("%s: error %v, want one saying %q", short, err, want)
		}
	}
}

// FuzzParseCommand: whatever the page (or anyone holding the token) sends,
// parsing never panics, and what it accepts is within the limits and
// survives a round trip.
func FuzzParseCommand(f *testing.F) {
	f.Add([]byte(`{"op":"open","req":"1","kind":"tcp-server","local":"127.0.0.1:0","encoding":"gbk","frame":"line"}`))
	f.Add([]byte(`{"op":"send","sid":1,"data":"hi\\r\\n","hex":false,"eol":"crlf","to":"all","every":100,"count":10}`))
	f.Add([]byte(`{"op":"rules","sid":2,"rules":["^PING$=>PONG"]}`))
	f.Add([]byte(`{"op":"open","kind":"tcp-client","remote":"x:1","tls":{"on":true,"pin":"AB"}}`))
	f.Add([]byte(`{"op":"open","kind":"tcp-server","local":"0.0.0.0:8888","confirm":true}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseCommand(b)
		if err != nil {
			return
		}
		if _, ok := ops[c.Op]; !ok {
			t.Fatalf("accepted op %q", c.Op)
		}
		if len(c.Data) > maxData || len(c.Rules) > maxRules || c.Every < 0 || c.Count < 0 || c.SID < 0 {
			t.Fatalf("accepted out-of-range command %+v", c)
		}
		again, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := parseCommand(again)
		if err != nil {
			t.Fatalf("re-encoded command %s refused: %v", again, err)
		}
		// "rules":[] and no rules mean the same (omitempty drops the
		// empty list): compare them as equal.
		if len(c.Rules) == 0 {
			c.Rules = nil
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip changed %+v into %+v", c, c2)
		}
	})
}

// wsClient is the page's side of the protocol, in Go, for tests that need
// no browser.
type wsClient struct {
	t    *testing.T
	c    *websocket.Conn
	ctx  context.Context
	req  int
	msgs chan message
	seen []message // read but not yet wanted by until
}

func dialWS(t *testing.T, u *testUI) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	hdr := http.Header{"Cookie": {cookieName(addrOf(t, u.addr)) + "=" + u.Token()}, "Origin": {"http://" + u.addr}}
	c, _, err := websocket.Dial(ctx, "ws://"+u.addr+"/ws", &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(16 << 20)
	w := &wsClient{t: t, c: c, ctx: ctx, msgs: make(chan message, 4096)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(w.msgs)
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			var m message
			if err := json.Unmarshal(b, &m); err != nil {
				t.Errorf("bad message %s: %v", b, err)
				return
			}
			w.msgs <- m
		}
	}()
	t.Cleanup(func() { c.CloseNow(); <-done })
	return w
}

// do sends a command and returns its reply, passing other messages to
// seen.
func (w *wsClient) do(fields map[string]any) message {
	w.t.Helper()
	w.req++
	fields["req"] = fmt.Sprint(w.req)
	b, _ := json.Marshal(fields)
	if err := w.c.Write(w.ctx, websocket.MessageText, b); err != nil {
		w.t.Fatal(err)
	}
	req := fmt.Sprint(w.req)
	// Keep what comes before the reply: the state of a session just
	// opened may come first.
	for i, m := range w.seen {
		if m.Req == req {
			w.seen = append(w.seen[:i:i], w.seen[i+1:]...)
			return m
		}
	}
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m, ok := <-w.msgs:
			if !ok {
				w.t.Fatal("websocket closed")
			}
			if m.Req == req && (m.Type == "ok" || m.Type == "error") {
				return m
			}
			w.seen = append(w.seen, m)
		case <-timeout:
			w.t.Fatalf("no reply to %v", fields)
		}
	}
}

func (w *wsClient) ok(fields map[string]any) message {
	w.t.Helper()
	m := w.do(fields)
	if m.Type != "ok" {
		w.t.Fatalf("%v: %s", fields, m.Error)
	}
	return m
}

// until returns the first message, in the order they came, that f
// accepts, reading more as needed. Messages before it are dropped; later
// ones are kept for the next call.
func (w *wsClient) until(f func(message) bool) message {
	w.t.Helper()
	for i, m := range w.seen {
		if f(m) {
			w.seen = w.seen[i+1:]
			return m
		}
	}
	w.seen = w.seen[:0]
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m, ok := <-w.msgs:
			if !ok {
				w.t.Fatal("websocket closed")
			}
			if f(m) {
				return m
			}
		case <-timeout:
			w.t.Fatal("timed out waiting for a message")
		}
	}
}

// event waits for an event of session sid that f accepts.
func (w *wsClient) event(sid int, f func(wireEvent) bool) wireEvent {
	w.t.Helper()
	var found wireEvent
	w.until(func(m message) bool {
		if m.Type != "events" || m.SID != sid {
			return false
		}
		for _, e := range m.Events {
			if f(e) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// TestProtocol drives sessions over the WebSocket without a browser: the
// errors a form shows, repeat and stop, peers and kick, a live encoding
// change, clear and reset.
func TestProtocol(t *testing.T) {
	u := startUI(t)
	w := dialWS(t, u)
	w.until(func(m message) bool { return m.Type == "hello" })

	for fields, want := range map[*map[string]any]string{
		{"op": "open", "kind": "tcp-server", "local": "127.0.0.1:99999"}:                         "out of range",
		{"op": "open", "kind": "tcp-server", "local": "udp://127.0.0.1:0"}:                       "UDP session",
		{"op": "open", "kind": "tcp-client", "remote": ""}:                                       "needs a remote",
		{"op": "open", "kind": "tcp-client", "remote": "127.0.0.1:1", "encoding": "gbkk"}:        "unknown encoding",
		{"op": "open", "kind": "tcp-client", "remote": "127.0.0.1:1", "frame": "lines:3"}:        "frame",
		{"op": "open", "kind": "udp", "local": "127.0.0.1:0", "frame": "len16"}:                  "frame len16 is for streams, not udp",
		{"op": "open", "kind": "udp", "local": "127.0.0.1:0", "tls": map[string]any{"on": true}}: "tls needs a TCP or ws:// endpoint, not udp",
		{"op": "send", "sid": 42, "data": "x"}:                                                   "no session 42",
	} {
		m := w.do(*fields)
		if m.Type != "error" || !strings.Contains(m.Error, want) {
			t.Errorf("%v: %s %q, want an error saying %q", *fields, m.Type, m.Error, want)
		}
	}

	// Line framing on datagrams is what the command line takes too: each
	// line one datagram (the rules are talk's, the same for both).
	w.ok(map[string]any{"op": "open", "kind": "udp", "local": "127.0.0.1:0", "frame": "line"})

	m := w.ok(map[string]any{"op": "open", "kind": "tcp-server", "local": "127.0.0.1:0", "frame": "line"})
	sid := m.SID
	st := w.until(func(m message) bool { return m.Type == "state" && m.SID == sid && m.Session.State == "listening" }).Session
	addr := strings.TrimPrefix(st.Status, "listening on ")

	// Sending with no client is an error, not a silent nothing.
	if m := w.do(map[string]any{"op": "send", "sid": sid, "data": "x"}); m.Type != "error" || !strings.Contains(m.Error, "no peer") {
		t.Errorf("send to nobody: %s %q", m.Type, m.Error)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	w.event(sid, func(e wireEvent) bool { return e.Kind == "connect" })

	// Repeat with a template: numbered messages, then stop.
	w.ok(map[string]any{"op": "send", "sid": sid, "data": "tick {{seq}}", "template": true, "eol": "lf", "every": 5, "count": 0})
	for i := 1; i <= 3; i++ {
		if line, _ := r.ReadString('\n'); line != fmt.Sprintf("tick %d\n", i) {
			t.Fatalf("repeat %d: %q", i, line)
		}
	}
	w.ok(map[string]any{"op": "stop", "sid": sid})
	w.until(func(m message) bool {
		return m.Type == "state" && m.SID == sid && m.Session.Repeat != nil && !m.Session.Repeat.Active
	})

	// A counted repeat ends by itself.
	w.ok(map[string]any{"op": "clear", "sid": sid})
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	for { // drain ticks sent before the stop took effect
		if _, err := r.ReadString('\n'); err != nil {
			break
		}
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	w.ok(map[string]any{"op": "send", "sid": sid, "data": "AB", "hex": false, "eol": "none", "every": 1, "count": 4})
	for i := 0; i < 4; i++ {
		if line, _ := r.ReadString('\n'); line != "AB\n" {
			t.Fatalf("counted repeat %d: %q", i, line)
		}
	}
	st = w.until(func(m message) bool {
		return m.Type == "state" && m.SID == sid && m.Session.Repeat != nil && m.Session.Repeat.Sent == 4 && !m.Session.Repeat.Active
	}).Session
	if len(st.History) == 0 || st.History[len(st.History)-1] != "AB" {
		t.Errorf("history %q", st.History)
	}

	// A live encoding change re-sends the log in the new encoding.
	c.Write([]byte("\xc4\xe3\xba\xc3\n"))
	e := w.event(sid, func(e wireEvent) bool { return e.Dir == "in" })
	if e.Text != `\xc4\xe3\xba\xc3` {
		t.Errorf("GBK bytes shown as UTF-8: %q", e.Text)
	}
	w.ok(map[string]any{"op": "setenc", "sid": sid, "encoding": "gbk"})
	w.until(func(m message) bool { return m.Type == "reset" && m.SID == sid })
	e = w.event(sid, func(e wireEvent) bool { return e.Dir == "in" })
	if e.Text != "你好" {
		t.Errorf("after setenc gbk: %q", e.Text)
	}

	// Reset zeroes the counters; kick disconnects the client.
	w.ok(map[string]any{"op": "reset", "sid": sid})
	w.until(func(m message) bool {
		return m.Type == "state" && m.SID == sid && m.Session.Stats == counters{}
	})
	w.ok(map[string]any{"op": "kick", "sid": sid, "peer": "#1"})
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := r.ReadString('\n'); err == nil {
		t.Error("the kicked client can still read")
	}
	w.event(sid, func(e wireEvent) bool { return e.Kind == "close" && strings.Contains(e.Text, "disconnected by you") })

	w.ok(map[string]any{"op": "close", "sid": sid})
	w.until(func(m message) bool { return m.Type == "closed" && m.SID == sid })
}

// TestFlood streams into a session at about 16 MiB/s in small writes: the
// page gets at most a batch per session every 50 ms, each bounded in
// events and bytes, and the counters still count every byte.
func TestFlood(t *testing.T) {
	u := startUI(t)
	w := dialWS(t, u)
	sid := w.ok(map[string]any{"op": "open", "kind": "tcp-server", "local": "127.0.0.1:0"}).SID
	st := w.until(func(m message) bool { return m.Type == "state" && m.SID == sid && m.Session.State == "listening" }).Session
	c, err := net.Dial("tcp", strings.TrimPrefix(st.Status, "listening on "))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const (
		total = 16 << 20
		tick  = 5 * time.Millisecond
		per   = total / 200 // 200 ticks: about a second
	)
	go func() {
		chunk := make([]byte, 1<<10)
		for i := range chunk {
			chunk[i] = 'a' + byte(i%26)
		}
		tk := time.NewTicker(tick)
		defer tk.Stop()
		for sent := 0; sent < total; {
			<-tk.C
			for n := 0; n < per && sent < total; n += len(chunk) {
				if _, err := c.Write(chunk); err != nil {
					return
				}
				sent += len(chunk)
			}
		}
	}()
	start := time.Now()
	var batches, biggest, events, maxBytes int
	w.until(func(m message) bool {
		if m.SID != sid {
			return false
		}
		if m.Type == "events" {
			batches++
			events += len(m.Events)
			biggest = max(biggest, len(m.Events))
			size := 0
			for _, e := range m.Events {
				size += len(e.Raw)
			}
			maxBytes = max(maxBytes, size)
		}
		return m.Stats != nil && m.Stats.BytesIn == total || m.Session != nil && m.Session.Stats.BytesIn == total
	})
	elapsed := time.Since(start)
	t.Logf("%d MiB in %v reached the page as %d events in %d batches (largest: %d events, %d KiB of data)",
		total>>20, elapsed.Round(time.Millisecond), events, batches, biggest, maxBytes>>10)
	if limit := int(elapsed/batchEvery) + 3; batches > limit {
		t.Errorf("%d batches in %v: more than one per %v", batches, elapsed, batchEvery)
	}
	if biggest > batchMax || maxBytes > batchBytes+previewBytes {
		t.Errorf("a batch of %d events, %d bytes (limits %d, %d)", biggest, maxBytes, batchMax, batchBytes)
	}
}

// TestProtocolTLS opens a TLS server with a throwaway certificate and TLS
// client sessions to it: pinned to its fingerprint (talks), pinned to
// another (refused with the reason), and with verification off.
func TestProtocolTLS(t *testing.T) {
	u := startUI(t)
	w := dialWS(t, u)
	srv := w.ok(map[string]any{"op": "open", "kind": "tcp-server", "local": "127.0.0.1:0", "frame": "line", "tls": map[string]any{"on": true}}).SID
	st := w.until(func(m message) bool { return m.Type == "state" && m.SID == srv && m.Session.State == "listening" }).Session
	if !st.TLS || st.Fingerprint == "" || !strings.Contains(st.Status, st.Fingerprint) {
		t.Fatalf("TLS server state: %+v", st)
	}
	addr := listeningRE.FindStringSubmatch(st.Status)[1]

	cli := w.ok(map[string]any{"op": "open", "kind": "tcp-client", "remote": addr, "frame": "line", "tls": map[string]any{"on": true, "pin": st.Fingerprint}}).SID
	w.until(func(m message) bool { return m.Type == "state" && m.SID == cli && m.Session.State == "connected" })
	w.ok(map[string]any{"op": "send", "sid": cli, "data": "over tls", "eol": "lf"})
	e := w.event(srv, func(e wireEvent) bool { return e.Dir == "in" })
	if e.Text != "over tls" {
		t.Errorf("the TLS server got %q", e.Text)
	}
	if e.Peer == "" {
		t.Error("no peer on the event")
	}

	wrongPin := strings.Repeat("AB:", 31) + "AB"
	bad := w.ok(map[string]any{"op": "open", "kind": "tcp-client", "remote": addr, "tls": map[string]any{"on": true, "pin": wrongPin}}).SID
	st = w.until(func(m message) bool { return m.Type == "state" && m.SID == bad && m.Session.State == "failed" }).Session
	if !strings.Contains(st.Status, "pin mismatch") {
		t.Errorf("wrong pin: status %q", st.Status)
	}
	// The log's error names no flag; the option (pin) rides beside it for
	// the page to name by its field's label.
	w.event(bad, func(e wireEvent) bool {
		return e.Kind == "error" && strings.Contains(e.Text, "the pin given is "+wrongPin) && e.Option == "pin" && !strings.Contains(e.Text, "--")
	})
	unverified := w.ok(map[string]any{"op": "open", "kind": "tcp-client", "remote": addr, "tls": map[string]any{"on": true}}).SID
	st = w.until(func(m message) bool { return m.Type == "state" && m.SID == unverified && m.Session.State == "failed" }).Session
	if !strings.Contains(st.Status, "certificate") {
		t.Errorf("self-signed certificate without a pin: status %q", st.Status)
	}
	insecure := w.ok(map[string]any{"op": "open", "kind": "tcp-client", "remote": addr, "tls": map[string]any{"on": true, "insecure": true}}).SID
	w.until(func(m message) bool { return m.Type == "state" && m.SID == insecure && m.Session.State == "connected" })

	if m := w.do(map[string]any{"op": "open", "kind": "tcp-server", "local": "127.0.0.1:0", "tls": map[string]any{"on": true, "cert": "/nonexistent.pem", "key": "/nonexistent.key"}}); m.Type != "error" {
		t.Errorf("missing certificate files: %s", m.Type)
	}
}

// TestProtocolBlockedSend: a client that never reads fills its socket's
// buffers and blocks the sends to it; the page can still stop the repeat
// and close the session, which ends the blocked sends.
func TestProtocolBlockedSend(t *testing.T) {
	u := startUI(t)
	w := dialWS(t, u)
	sid := w.ok(map[string]any{"op": "open", "kind": "tcp-server", "local": "127.0.0.1:0"}).SID
	st := w.until(func(m message) bool { return m.Type == "state" && m.SID == sid && m.Session.State == "listening" }).Session
	c, err := net.Dial("tcp", strings.TrimPrefix(st.Status, "listening on "))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w.event(sid, func(e wireEvent) bool { return e.Kind == "connect" })
	big := strings.Repeat("x", maxData)
	w.ok(map[string]any{"op": "send", "sid": sid, "data": big, "every": 1, "count": 0})
	// Once the buffers are full, this send blocks: its reply waits…
	w.req++
	b, _ := json.Marshal(map[string]any{"op": "send", "sid": sid, "data": big, "req": "blocked"})
	w.c.Write(w.ctx, websocket.MessageText, b)
	// …but other commands are still answered.
	w.ok(map[string]any{"op": "stop", "sid": sid})
	start := time.Now()
	w.ok(map[string]any{"op": "close", "sid": sid})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("closing took %v", d)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Errorf("reading what was sent before the close: %v", err)
	}
}

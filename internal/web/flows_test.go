package web

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/sockittest"
)

// GBK bytes of the Chinese text the tests send.
const (
	gbkHello    = "\xc4\xe3\xba\xc3\xa3\xac\xca\xc0\xbd\xe7" // 你好，世界
	gbkReceived = "\xca\xd5\xb5\xbd"                         // 收到
)

var listeningRE = regexp.MustCompile(`listening on (\S+)`)

// TestBrowserTCPServer is the assistant's main use: a TCP server session in
// GBK with line framing, a real client connecting to it, its message shown
// as text and as hex, an answer typed in the page (sent with Ctrl+Enter)
// reaching the client, the counters, and the log downloads.
func TestBrowserTCPServer(t *testing.T) {
	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.run(chromedp.Navigate(u.url))
	p.open(kindServer, map[string]string{"local": "127.0.0.1:0", "encoding": "gbk", "frame": "line"})
	p.wait(has(active(".status"), "listening on 127.0.0.1:"))
	m := listeningRE.FindStringSubmatch(p.text(active(".status")))
	if m == nil {
		t.Fatalf("no address in the status %q", p.text(active(".status")))
	}

	c, err := net.Dial("tcp", m[1])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write([]byte(gbkHello + "\n")); err != nil {
		t.Fatal(err)
	}
	p.wait(has(active(".log"), "你好，世界"))
	p.wait(has(active(".peer-list"), c.LocalAddr().String()))

	// Answer from the page: Ctrl+Enter in the send box.
	p.set(active(".send-text"), "收到")
	p.run(chromedp.Focus(active(".send-text"), chromedp.ByQuery), chromedp.KeyEvent("\r", chromedp.KeyModifiers(input.ModifierCtrl)))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("the client got %q, %v", line, err)
	}
	if line != gbkReceived+"\n" {
		t.Fatalf("the client got % x, want % x (收到 in GBK, then LF)", line, gbkReceived+"\n")
	}
	p.wait(has(active(".log"), "收到"))

	// Hex shows the bytes as they crossed the wire, for what is already
	// in the log; text comes back the same.
	p.click(active(`.view button[data-view="hex"]`))
	p.wait(has(active(".log"), "c4 e3 ba c3 a3 ac ca c0  bd e7"))
	p.wait(has(active(".log"), "ca d5 b5 bd  |"))
	if strings.Contains(p.text(active(".log")), "你好") {
		t.Error("the hex view still shows text")
	}
	p.click(active(`.view button[data-view="text"]`))
	p.wait(has(active(".log"), "你好，世界"))

	// Counters: line framing makes one message each way, counted as it
	// crossed the wire, with the LF that frames it: 11 bytes in, 5 out.
	p.wait(`(() => { const n = (c) => document.querySelector('.panel.active .' + c).dataset.n;
		return n('b-in') === '11' && n('m-in') === '1' && n('b-out') === '5' && n('m-out') === '1' })()`)

	// The JSON lines download is the --record format.
	var body string
	p.eval(`fetch(document.querySelector('.panel.active .dl-jsonl').href).then(r => r.text())`, &body)
	recs, err := event.ReadAll(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the download does not parse as JSON lines: %v\n%s", err, body)
	}
	var in, out []byte
	var text string
	kinds := map[event.Kind]int{}
	for _, r := range recs {
		kinds[r.Event]++
		if r.Event != event.Data {
			continue
		}
		if r.Data == "" {
			t.Errorf("data event without base64 data: %+v", r)
		}
		b, _ := r.Bytes()
		if r.Dir == event.In {
			in = append(in, b...)
			text = *r.Text
		} else {
			out = append(out, b...)
		}
	}
	if kinds[event.Listen] != 1 || kinds[event.Connect] != 1 {
		t.Errorf("events in the download: %v, want a listen and a connect", kinds)
	}
	if string(in) != gbkHello || text != "你好，世界" || string(out) != gbkReceived {
		t.Errorf("download: in % x (text %q), out % x", in, text, out)
	}

	var txt string
	p.eval(`fetch(document.querySelector('.panel.active .dl-text').href).then(r => r.text())`, &txt)
	if !strings.Contains(txt, "<- "+c.LocalAddr().String()+"  10 B  你好，世界") {
		t.Errorf("text download:\n%s", txt)
	}

	// Closing the session closes its sockets: the client sees EOF.
	p.click(active(".close-session"))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 16)); err != io.EOF {
		t.Errorf("after closing the session the client read %d bytes, %v; want EOF", n, err)
	}
	// The listener closes too: it may close a moment after the client's
	// connection did, so wait for a refusal.
	sockittest.Eventually(t, "the listener to close after the session closed", func() bool {
		l, err := net.DialTimeout("tcp", m[1], time.Second)
		if err == nil {
			l.Close()
		}
		return err != nil
	})
	p.wait(`!document.querySelector('.panel') && !document.querySelector('#new-form').hidden`)
}

// TestBrowserTCPClient connects a client session to a test server: the
// server's greeting shows, a line sent from the page with CRLF reaches it,
// and when the server closes the page says so and can reconnect.
func TestBrowserTCPClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 2)
	go func() {
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(30 * time.Second))
			fmt.Fprintf(c, "welcome #%d\r\n", i+1)
			line, _ := bufio.NewReader(c).ReadString('\n')
			got <- line
			c.Close()
		}
	}()

	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.run(chromedp.Navigate(u.url))
	p.open(kindClient, map[string]string{"remote": ln.Addr().String()})
	p.wait(has(active(".status"), "connected to "+ln.Addr().String()))
	p.wait(has(active(".log"), `welcome #1\r\n`))

	p.set(active(".send-text"), "hi there")
	p.set(active(".eol"), "crlf")
	p.click(active(".send"))
	if line := <-got; line != "hi there\r\n" {
		t.Fatalf("the server got %q", line)
	}
	p.wait(has(active(".status"), "closed"))
	p.wait(has(active(".log"), "closed: peer closed"))

	// History: Ctrl+↑ brings back what was sent.
	p.set(active(".send-text"), "")
	p.wait(has(active(".history"), "hi there"))
	p.run(chromedp.Focus(active(".send-text"), chromedp.ByQuery), chromedp.KeyEvent(kb.ArrowUp, chromedp.KeyModifiers(input.ModifierCtrl)))
	p.wait(`document.querySelector('.panel.active .send-text').value === 'hi there'`)

	p.click(active(".reconnect"))
	p.wait(has(active(".log"), `welcome #2\r\n`))
	p.click(active(".send"))
	if line := <-got; line != "hi there\r\n" {
		t.Fatalf("after reconnecting the server got %q", line)
	}
	p.wait(`document.querySelector('.panel.active .m-in').dataset.n === '2' && document.querySelector('.panel.active .m-out').dataset.n === '2'`)
}

// TestBrowserUDP binds a UDP session with a default remote: what the page
// sends reaches the remote from the session's port, and datagrams from two
// senders show each with its own address, each on its own line.
func TestBrowserUDP(t *testing.T) {
	remote, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	other, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.run(chromedp.Navigate(u.url))
	p.open(kindUDP, map[string]string{"local": "127.0.0.1:0", "remote": remote.LocalAddr().String()})
	p.wait(has(active(".status"), "bound to 127.0.0.1:"))

	p.set(active(".send-text"), "ping")
	p.set(active(".eol"), "none")
	p.click(active(".send"))
	remote.SetReadDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 2048)
	n, from, err := remote.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("the remote got %q, %v", buf[:n], err)
	}
	remote.WriteTo([]byte("pong"), from)
	other.WriteTo([]byte("from the other one"), from)
	other.WriteTo([]byte("and again"), from)

	p.wait(has(active(".log"), "pong"))
	p.wait(has(active(".log"), "and again"))
	// Each datagram on its own row with its sender. Different senders are
	// served concurrently, so only each sender's own order is fixed.
	var rows []string
	p.eval(`Array.from(document.querySelectorAll('.panel.active .row.in')).map(r => r.querySelector('.p').textContent + ' ' + r.querySelector('.x').textContent)`, &rows)
	bySender := map[string][]string{}
	for _, r := range rows {
		addr, text, _ := strings.Cut(r, " ")
		bySender[addr] = append(bySender[addr], text)
	}
	if got := strings.Join(bySender[remote.LocalAddr().String()], "|"); got != "pong" || len(rows) != 3 {
		t.Errorf("rows in: %q", rows)
	}
	if got := strings.Join(bySender[other.LocalAddr().String()], "|"); got != "from the other one|and again" {
		t.Errorf("rows in: %q", rows)
	}
	p.wait(has(active(".peer-list"), other.LocalAddr().String()))

	// Reply to one peer only, picked in the peer list.
	p.eval(fmt.Sprintf(`document.querySelector('.panel.active .peer-list li[data-peer=%s] .to-peer').click()`, js(other.LocalAddr().String())), nil)
	p.set(active(".send-text"), "just you")
	p.click(active(".send"))
	other.SetReadDeadline(time.Now().Add(20 * time.Second))
	n, _, err = other.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "just you" {
		t.Fatalf("the other peer got %q, %v", buf[:n], err)
	}
	p.wait(`(() => { const n = (c) => document.querySelector('.panel.active .' + c).dataset.n;
		return n('m-in') === '3' && n('m-out') === '2' && n('b-out') === '12' })()`)
}

// TestBrowserSavedAndRules saves a message (it lands in the config file and
// survives a reload), sends it with one click, and answers a client by a
// response rule.
func TestBrowserSavedAndRules(t *testing.T) {
	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.run(chromedp.Navigate(u.url))
	p.open(kindServer, map[string]string{"local": "127.0.0.1:0", "frame": "line"})
	p.wait(has(active(".status"), "listening on"))
	addr := listeningRE.FindStringSubmatch(p.text(active(".status")))[1]

	p.set(active(".rules-text"), `^PING$=>PONG\n`+"\n"+`^AT$=>hex:4f4b0a`)
	p.click(active(".apply-rules"))
	p.wait(has(active(".rules-info"), "2 rules active"))

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	c.Write([]byte("PING\nAT\n"))
	for _, want := range []string{"PONG\n", "OK\n"} {
		if line, err := r.ReadString('\n'); err != nil || line != want {
			t.Fatalf("rule answer %q, %v; want %q", line, err, want)
		}
	}

	// Pause holds new messages back (and says how many); Resume shows
	// them; Ctrl+K clears the log.
	p.wait(`document.querySelectorAll('.panel.active .row.out').length === 2`)
	p.click(active(".pause"))
	c.Write([]byte("while paused\n"))
	p.wait(`document.querySelector('.panel.active .m-in').dataset.n === '3'`)
	p.wait(has(active(".loginfo"), "paused, 1 new"))
	if strings.Contains(p.text(active(".log")), "while paused") {
		t.Error("a paused log shows new messages")
	}
	p.click(active(".pause"))
	p.wait(has(active(".log"), "while paused"))
	p.run(chromedp.KeyEvent("k", chromedp.KeyModifiers(input.ModifierCtrl)))
	p.wait(`document.querySelectorAll('.panel.active .log .row').length === 0`)
	p.wait(has(active(".loginfo"), "0 events"))

	// Save a hex message, reload the page, send it with one click.
	p.click(active(`.mode button[data-mode="hex"]`))
	p.set(active(".send-text"), "01 02 03 0a")
	p.set(active(".save-name"), "bytes")
	p.click(active(".save"))
	p.wait(has(active(".saved-list"), "bytes"))
	saved, err := loadSavedFile(u.dir)
	if err != nil || len(saved) != 1 || saved[0].Name != "bytes" || !saved[0].Hex || saved[0].Data != "01 02 03 0a" {
		t.Fatalf("saved.json has %+v, %v", saved, err)
	}
	p.run(chromedp.Reload())
	p.wait(has(active(".saved-list"), "bytes"))
	p.click(active(`.saved-list li[data-name="bytes"] .go`))
	b := make([]byte, 4)
	if _, err := io.ReadFull(r, b); err != nil || !bytes.Equal(b, []byte{1, 2, 3, '\n'}) {
		t.Fatalf("saved message arrived as % x, %v", b, err)
	}
}

// TestBrowserManyMessages puts 10,000 messages into a session: the page
// keeps them all but draws only the rows in sight, scrolling shows the
// oldest and any in between, and it still answers at once.
func TestBrowserManyMessages(t *testing.T) {
	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.run(chromedp.Navigate(u.url))
	c := p.lineServerClient()
	// The page has the listening and connected events before the 10,000
	// messages come: a page more than 10,000 events behind skips ahead.
	p.wait(has(active(".loginfo"), "2 events"))
	var all bytes.Buffer
	for i := 1; i <= 10000; i++ {
		fmt.Fprintf(&all, "message number %05d with some padding to make it a line\n", i)
	}
	if _, err := c.Write(all.Bytes()); err != nil {
		t.Fatal(err)
	}
	p.wait(`document.querySelector('.panel.active .m-in').dataset.n === '10000'`)
	p.wait(has(active(".log"), "message number 10000"))
	var rows int
	p.eval(`document.querySelectorAll('.panel.active .log .row').length`, &rows)
	if rows > 100 {
		t.Errorf("%d rows drawn; the page should draw only those in sight", rows)
	}
	p.wait(has(active(".loginfo"), "10,002 events")) // and "listening", "connected"
	// Scrolling up reads back: to the top, then to the middle.
	p.eval(`(() => { const l = document.querySelector('.panel.active .log'); l.scrollTop = 0; return true })()`, nil)
	p.wait(has(active(".log"), "message number 00001 "))
	p.wait(`!document.querySelector('.panel.active .autoscroll').checked`)
	p.eval(`(() => { const l = document.querySelector('.panel.active .log'); l.scrollTop = l.scrollHeight / 2; return true })()`, nil)
	p.wait(has(active(".log"), "message number 050"))
	p.eval(`document.querySelectorAll('.panel.active .log .row').length`, &rows)
	if rows > 100 {
		t.Errorf("%d rows drawn after scrolling", rows)
	}
	// Rows sit one under the other, none overlapping: each row's top is the
	// previous row's bottom.
	var gaps string
	p.eval(`(() => { const r = Array.from(document.querySelectorAll('.panel.active .log .row')).map(e => e.getBoundingClientRect()).sort((a, b) => a.top - b.top);
		const bad = []; for (let i = 1; i < r.length; i++) if (Math.abs(r[i].top - r[i-1].bottom) > 0.5) bad.push(r[i-1].bottom + '→' + r[i].top); return bad.join(' ') })()`, &gaps)
	if gaps != "" {
		t.Errorf("rows overlap or leave gaps: %s", gaps)
	}
	p.click(active(".autoscroll"))
	p.wait(has(active(".log"), "message number 10000"))

	// Responsive: switching to hex redraws every row; time it in the page.
	var ms float64
	p.eval(`(() => { const t0 = performance.now(); document.querySelector('.panel.active .view button[data-view="hex"]').click(); return performance.now() - t0 })()`, &ms)
	t.Logf("hex redraw of the log with 10,000 messages: %.0f ms", ms)
	if ms > 3000 {
		t.Errorf("redrawing took %.0f ms", ms)
	}
	// Filtering runs over every message the page keeps.
	p.run(chromedp.SendKeys(active(".filter"), "09999", chromedp.ByQuery))
	p.wait(`document.querySelectorAll('.panel.active .log .row').length === 1`)
	if !strings.Contains(p.text(active(".log")), "39 39 39 39 20 77 69 74") {
		t.Errorf("filtered hex row: %s", p.text(active(".log")))
	}
}

// TestBrowserFlood streams 10 MB/s of short lines (some 300,000 messages
// a second) into a session for two seconds while the page is open: its
// main thread must keep running (no long gaps between timer ticks) and the
// counters must count every message.
func TestBrowserFlood(t *testing.T) {
	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.run(chromedp.Navigate(u.url))
	c := p.lineServerClient()

	// A probe in the page: the longest gap between 20 ms timer ticks.
	p.eval(`window.longtasks = []; new PerformanceObserver((l) => { for (const e of l.getEntries()) longtasks.push(Math.round(e.duration)); }).observe({ entryTypes: ['longtask'] }); true`, nil)
	p.eval(`window.probe = { last: performance.now(), worst: 0 };
		window.probeTimer = setInterval(() => { const now = performance.now();
			probe.worst = Math.max(probe.worst, now - probe.last); probe.last = now; }, 20); true`, nil)

	const (
		total = 35 * 600_000 // 21 MB of 35-byte lines: 10 MB/s for two seconds
		tick  = 10 * time.Millisecond
		per   = total / 200
	)
	done := make(chan error, 1)
	go func() {
		chunk := bytes.Repeat([]byte("0123456789abcdef sockit flood line\n"), 128)
		tk := time.NewTicker(tick)
		defer tk.Stop()
		sent := 0
		for sent < total {
			<-tk.C
			for n := 0; n < per && sent < total; {
				k := min(len(chunk), total-sent)
				if _, err := c.Write(chunk[:k]); err != nil {
					done <- err
					return
				}
				n += k
				sent += k
			}
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Line framing: the payload counted is the bytes without the newlines.
	const lines = total / 35
	p.wait(fmt.Sprintf(`document.querySelector('.panel.active .m-in').dataset.n === '%d'`, lines))
	var worst float64
	p.eval(`clearInterval(window.probeTimer), probe.worst`, &worst)
	var rows int
	var long []int
	p.eval(`longtasks`, &long)
	t.Logf("long tasks (ms): %v", long)
	p.eval(`document.querySelectorAll('.panel.active .log .row').length`, &rows)
	t.Logf("10 MB/s for 2 s: the page's longest pause was %.0f ms; %d rows drawn; %s", worst, rows, p.text(active(".loginfo")))
	// Drawing every message would take the page many seconds (and far
	// more than the test allows); a few hundred milliseconds at worst is
	// normal on a busy two-core machine.
	if worst > 3000 {
		t.Errorf("the page froze for %.0f ms during the stream", worst)
	}
	if rows > 1000 {
		t.Errorf("%d rows drawn", rows)
	}
}

// TestBrowserCrossSite: a page from another origin in the same browser,
// which already holds the UI's cookie, cannot open the UI's WebSocket nor
// read its pages.
func TestBrowserCrossSite(t *testing.T) {
	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.run(chromedp.Navigate(u.url))
	p.wait(`window.sockit && window.sockit.connected`)

	evil := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><script>
window.result = {ws: 'pending', fetch: 'pending'};
const ws = new WebSocket('ws://%[1]s/ws');
ws.onopen = () => { result.ws = 'open'; };
ws.onerror = () => { if (result.ws === 'pending') result.ws = 'refused'; };
ws.onclose = () => { if (result.ws === 'pending') result.ws = 'refused'; };
fetch('http://%[1]s/', {credentials: 'include'}).then(r => r.text()).then(() => { result.fetch = 'read'; }, () => { result.fetch = 'refused'; });
</script>`, u.addr)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go evil.Serve(ln)
	defer evil.Close()

	p.run(chromedp.Navigate("http://" + ln.Addr().String() + "/"))
	p.wait(`window.result && result.ws !== 'pending' && result.fetch !== 'pending'`)
	var res map[string]string
	p.eval(`result`, &res)
	if res["ws"] != "refused" || res["fetch"] != "refused" {
		t.Errorf("another origin got: %v", res)
	}
	p.mu.Lock()
	p.errors = nil // the refusals are logged as errors in the other page, as they should be
	p.mu.Unlock()
}

// TestBrowserReadingWhileOldestGo: a reader scrolled up in a log that is
// full (100,000 events kept) keeps reading the same rows when the oldest
// are forgotten to make room: every row drawn sits where the layout says
// at the end of the very task that forgot them (not a frame or, during a
// flood, 200 ms later), and the row at the top of the view stays there.
// The same with the log paused.
func TestBrowserReadingWhileOldestGo(t *testing.T) {
	for _, paused := range []bool{false, true} {
		t.Run(map[bool]string{false: "live", true: "paused"}[paused], func(t *testing.T) { readingWhileOldestGo(t, paused) })
	}
}

func readingWhileOldestGo(t *testing.T, paused bool) {
	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.run(chromedp.Navigate(u.url))
	c := p.lineServerClient()
	p.wait(has(active(".loginfo"), "2 events"))
	const chunk = 5000
	n := 0
	send := func() {
		var b bytes.Buffer
		for range chunk {
			n++
			fmt.Fprintf(&b, "kept line %06d\n", n)
		}
		if _, err := c.Write(b.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	// Chunks the page takes whole (one far past its backlog would be
	// skipped ahead), up to 100,002 events kept.
	for range 20 {
		send()
		p.wait(fmt.Sprintf(`window.sockit.sessions.get(window.sockit.active).items.length === %d`, n+2))
	}
	p.eval(`(() => { const l = document.querySelector('.panel.active .log'); l.scrollTop = l.scrollHeight / 2; return true })()`, nil)
	p.wait(`!document.querySelector('.panel.active .autoscroll').checked`)
	p.wait(`(() => { const s = window.sockit.sessions.get(window.sockit.active); return !s.follow && !s.stale })()`)
	if paused {
		p.click(active(".pause"))
		p.wait(`window.sockit.sessions.get(window.sockit.active).paused`)
	}
	// The row at the top of the view, and a check after each message from
	// sockit: do the rows drawn sit where the layout says?
	var before struct {
		Seq float64
		Top float64
	}
	p.eval(`(() => {
		const s = window.sockit.sessions.get(window.sockit.active);
		const log = document.querySelector('.panel.active .log'), box = log.getBoundingClientRect();
		let best = null;
		for (const [seq, el] of s.drawn) { const r = el.getBoundingClientRect(); if (r.top >= box.top && (!best || r.top < best.top)) best = { seq: seq, top: r.top }; }
		window.trimCheck = { dropped: s.dropped, bad: [], trims: 0 };
		window.sockit.ws.addEventListener('message', () => {
			const c = window.trimCheck;
			if (s.dropped === c.dropped) return;
			c.dropped = s.dropped;
			c.trims++;
			for (const [seq, el] of s.drawn) {
				let lo = 0, hi = s.rows.length - 1, i = -1;
				while (lo <= hi) { const m = (lo + hi) >> 1; if (s.rows[m].seq === seq) { i = m; break; } if (s.rows[m].seq < seq) lo = m + 1; else hi = m - 1; }
				const want = i < 0 ? 'gone' : ((s.starts[i] - s.base) * 19) + 'px';
				if (el.style.top !== want) c.bad.push(seq + ': ' + el.style.top + ' want ' + want);
			}
		});
		return best ? { Seq: best.seq, Top: best.top } : { Seq: -1, Top: 0 };
	})()`, &before)
	if before.Seq < 0 {
		t.Fatal("no row in view")
	}
	send() // past 105,000 events: the oldest 5,002 go
	p.wait(`window.trimCheck.trims > 0`)
	var bad []string
	p.eval(`window.trimCheck.bad`, &bad)
	if len(bad) > 0 {
		t.Errorf("rows drawn out of place right after the oldest went: %v", bad[:min(len(bad), 5)])
	}
	var after float64
	p.eval(fmt.Sprintf(`(() => { const el = window.sockit.sessions.get(window.sockit.active).drawn.get(%d); return el ? el.getBoundingClientRect().top : -1 })()`, int(before.Seq)), &after)
	if d := after - before.Top; d < -1 || d > 1 {
		t.Errorf("the row read at the top of the view moved by %.0f px when the oldest went", d)
	}
}

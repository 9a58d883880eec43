package web

import (
	"bufio"
	"fmt"
	"net"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserDisplayOptions, in Chinese and English: the time column goes
// and comes back, with the date when asked; unticking received, sent or
// events hides those rows (what is left is a filter by direction); each
// peer shows its message counts besides its bytes.
func TestBrowserDisplayOptions(t *testing.T) {
	for _, c := range []struct{ lang, listening, perPeer string }{
		{"zh-CN", "正在监听", "收 2 条 / 12 B · 发 1 条 / 4 B"},
		{"en", "listening on", "in 2 msg, 12 B · out 1 msg, 4 B"},
	} {
		t.Run(c.lang, func(t *testing.T) {
			u := startUI(t)
			p := newPage(t, 1280, 800)
			p.browserLanguage(c.lang)
			p.run(chromedp.Navigate(u.url))
			p.open(kindServer, map[string]string{"local": "127.0.0.1:0", "frame": "line"})
			p.wait(has(active(".status"), c.listening))
			var addr string
			p.eval(`document.querySelector('.panel.active .status').textContent.match(/127\.0\.0\.1:\d+/)[0]`, &addr)
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			fmt.Fprint(conn, "alpha\nbravo\n")
			p.wait(`document.querySelector('.panel.active .m-in').dataset.n === '2'`)
			p.set(active(".send-text"), "ack")
			p.set(active(".eol"), "lf")
			p.click(active(".send"))
			if l, err := bufio.NewReader(conn).ReadString('\n'); err != nil || l != "ack\n" {
				t.Fatalf("the client got %q, %v", l, err)
			}
			p.wait(`document.querySelectorAll('.panel.active .log .row.out').length === 1`)

			// Per-peer message counts.
			p.wait(`(() => { const li = document.querySelector('.panel.active .peer-list li[data-peer]'); return li && li.dataset.mi === '2' && li.dataset.mo === '1' })()`)
			p.wait(has(active(".peer-list .meta"), c.perPeer))

			rows := func(sel string) int {
				var n int
				p.eval(fmt.Sprintf(`document.querySelectorAll('.panel.active .log .row%s').length`, sel), &n)
				return n
			}
			visibleTime := func() bool {
				var v bool
				p.eval(`(() => { const e = document.querySelector('.panel.active .log .row .t'); return !!e && e.offsetWidth > 0 })()`, &v)
				return v
			}
			if !visibleTime() {
				t.Error("no time column at first")
			}
			timeRE := regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3}$`)
			if s := p.text(active(".log .row .t")); !timeRE.MatchString(s) {
				t.Errorf("time %q", s)
			}
			// The date, then no time at all, then the time again.
			p.click(active(".show-date"))
			p.wait(`/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/.test(document.querySelector('.panel.active .log .row .t').textContent)`)
			p.click(active(".show-time"))
			p.wait(`document.querySelector('.panel.active .log .row .t').offsetWidth === 0`)
			p.click(active(".show-time"))
			p.wait(`document.querySelector('.panel.active .log .row .t').offsetWidth > 0`)

			// Directions.
			events := rows(".ev")
			if events < 2 || rows(".in") != 2 || rows(".out") != 1 {
				t.Fatalf("rows: %d events, %d in, %d out", events, rows(".in"), rows(".out"))
			}
			p.click(active(".show-in"))
			p.wait(`document.querySelectorAll('.panel.active .log .row.in').length === 0`)
			if rows(".out") != 1 || rows(".ev") != events {
				t.Errorf("hiding received hid more: %d out, %d events", rows(".out"), rows(".ev"))
			}
			p.click(active(".show-ev"))
			p.wait(`document.querySelectorAll('.panel.active .log .row.ev').length === 0`)
			if rows("") != 1 || rows(".out") != 1 {
				t.Errorf("sent only: %d rows", rows(""))
			}
			p.click(active(".show-out"))
			p.click(active(".show-in"))
			p.wait(`document.querySelectorAll('.panel.active .log .row.in').length === 2`)
			if rows("") != 2 {
				t.Errorf("received only: %d rows", rows(""))
			}
			// New messages follow the choice.
			fmt.Fprint(conn, "charlie\n")
			p.wait(`document.querySelectorAll('.panel.active .log .row.in').length === 3`)
			if rows(".out")+rows(".ev") != 0 {
				t.Error("hidden kinds of rows came back with a new message")
			}
			p.click(active(".show-out"))
			p.click(active(".show-ev"))
			p.wait(fmt.Sprintf(`document.querySelectorAll('.panel.active .log .row').length === %d`, events+4))
		})
	}
}

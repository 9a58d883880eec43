package web

import (
	"bytes"
	"fmt"
	"net"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserLogCap: a session's log in sockit is bounded by --max-log
// (here 1 MiB). 30,000 lines arrive; the page says how much the log holds
// of its bound and how many of the oldest events were dropped, the
// counters still count every message, and Clear gives it all back.
func TestBrowserLogCap(t *testing.T) {
	for _, lang := range []string{"en", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			u := startUIAt(t, t.TempDir(), "127.0.0.1:0", defaultLimits, func(o *Options) { o.MaxLog = 1 << 20 })
			p := newPage(t, 1280, 800)
			if lang == "zh-CN" {
				p.browserLanguage("zh-CN,zh;q=0.9")
			}
			p.run(chromedp.Navigate(u.url))
			p.open(kindServer, map[string]string{"local": "127.0.0.1:0", "frame": "line"})
			p.wait(`!!window.sockit.sessions.get(1) && !!window.sockit.sessions.get(1).st.local`)
			var addr string
			p.eval(`window.sockit.sessions.get(1).st.local`, &addr)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var all bytes.Buffer
			for i := 1; i <= 30000; i++ {
				fmt.Fprintf(&all, "line %05d\n", i)
			}
			if _, err := c.Write(all.Bytes()); err != nil {
				t.Fatal(err)
			}
			p.wait(`document.querySelector('.panel.active .m-in').dataset.n === '30000'`)
			p.wait(`+document.querySelector('.panel.active .log-dropped').dataset.n > 0`)
			var held, dropped int
			p.eval(`+document.querySelector('.panel.active .log-held').dataset.n`, &held)
			p.eval(`+document.querySelector('.panel.active .log-dropped').dataset.n`, &dropped)
			if held > 1<<20 || held < 1<<19 || dropped < 10000 {
				t.Errorf("log holds %d bytes with %d events dropped; want at most 1 MiB, most of 30,000 dropped", held, dropped)
			}
			want := map[string][2]string{"en": {"of 1.00 MiB", "oldest events dropped"}, "zh-CN": {"/ 1.00 MiB", "已丢弃最早的"}}[lang]
			p.wait(has(active(".log-held"), want[0]))
			p.wait(has(active(".log-dropped"), want[1]))

			p.click(active(".clear"))
			p.wait(`document.querySelector('.panel.active .log-held').dataset.n === '0' &&
				document.querySelector('.panel.active .log-dropped').textContent === ''`)
		})
	}
}

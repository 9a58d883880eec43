package web

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserTemplateSeqCountsOn: with the template box ticked, {{seq}}
// in messages sent one by one from the send box counts on through the
// session (1, 2, 3 …) as a person numbering messages by hand expects,
// also after a reload of the page; a repeat numbers its own messages
// from 1, as it always did, and the single sends go on where they were.
func TestBrowserTemplateSeqCountsOn(t *testing.T) {
	addr, got := device(t)
	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.run(chromedp.Navigate(u.url))
	p.open(kindClient, map[string]string{"remote": addr})
	p.wait(has(active(".status"), "connected"))
	p.set(active(".send-text"), "n={{seq}}")
	p.set(active(".eol"), "lf")
	p.check(active(".template"), true)

	p.click(active(".send"))
	expect(t, got, []byte("n=1\n"), "the first send")
	p.click(active(".send"))
	expect(t, got, []byte("n=2\n"), "the second send")
	p.set(active(".send-text"), "m={{seq:3}}")
	p.click(active(".send"))
	expect(t, got, []byte("m=003\n"), "the third send, another message")

	p.run(chromedp.Reload())
	p.wait(`window.sockit && window.sockit.connected && !!document.querySelector('.panel.active .send-text')`)
	p.set(active(".send-text"), "n={{seq}}")
	p.set(active(".eol"), "lf")
	p.check(active(".template"), true)
	p.click(active(".send"))
	expect(t, got, []byte("n=4\n"), "a send after a reload")

	p.set(active(".every"), "10")
	p.set(active(".count"), "2")
	p.set(active(".send-text"), "r={{seq}}")
	p.click(active(".start-repeat"))
	expect(t, got, []byte("r=1\nr=2\n"), "the repeat")
	p.wait(`document.querySelector('.panel.active .m-out').dataset.n === '6'`)
	p.set(active(".send-text"), "n={{seq}}")
	p.click(active(".send"))
	expect(t, got, []byte("n=5\n"), "a send after the repeat")
}

// TestSendTemplateSeqCountsOn: the same through the page's protocol,
// with no browser: single sends of a session count {{seq}} on, whatever
// the message; a repeat counts its own from 1; single sends go on after.
func TestSendTemplateSeqCountsOn(t *testing.T) {
	addr, got := device(t)
	u := startUI(t)
	w := dialWS(t, u)
	w.until(func(m message) bool { return m.Type == "hello" })
	sid := w.ok(map[string]any{"op": "open", "kind": "tcp-client", "remote": addr}).SID
	w.until(func(m message) bool { return m.Type == "state" && m.SID == sid && m.Session.State == "connected" })
	send := func(data string) {
		w.ok(map[string]any{"op": "send", "sid": sid, "data": data, "template": true, "eol": "lf"})
	}
	send("a{{seq}}")
	expect(t, got, []byte("a1\n"), "the first send")
	send("b{{seq}}")
	expect(t, got, []byte("b2\n"), "the second send")
	w.ok(map[string]any{"op": "send", "sid": sid, "data": "r{{seq}}", "template": true, "eol": "lf", "every": 5, "count": 2})
	expect(t, got, []byte("r1\nr2\n"), "the repeat")
	send("c{{seq}}")
	expect(t, got, []byte("c3\n"), "a send after the repeat")
}

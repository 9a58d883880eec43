package web

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/sockit/sockit/internal/sockittest"
)

// TestBrowserRestart is a restart as the user meets it: two sessions, the
// first one's tab shown in hex with a filter and a rule; sockit ui stops
// and starts again on the same address. The open tab reconnects by
// itself, offers the sessions, reopens them on a click, and is back on
// the same tab, view and filter.
func TestBrowserRestart(t *testing.T) {
	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.run(chromedp.Navigate(u.url))
	p.open(kindServer, map[string]string{"local": "127.0.0.1:0", "name": "devices", "frame": "line"})
	p.set(active(".rules-text"), "^PING$=>PONG")
	p.click(active(".apply-rules"))
	p.wait(has(active(".rules-info"), "1 rule active"))
	p.click(active(`.view button[data-view="hex"]`))
	p.set(active(".filter"), "beef")
	p.open(kindUDP, map[string]string{"local": "127.0.0.1:0", "name": "udp side"})
	// Back to the first tab: the one to come back to.
	p.click(`.tab[data-sid="1"]`)
	p.wait(`document.querySelector('.panel.active').dataset.sid === '1'`)
	// Every command the page sent (the view, the tab shown) has its reply:
	// sockit has it.
	p.wait(`window.sockit.reqs.size === 0`)
	sockittest.Eventually(t, "the workspace file to hold both sessions, the first active", func() bool {
		f := readWorkspaceQuiet(u.dir)
		return f != nil && len(f.Sessions) == 2 && f.Active == f.Sessions[0].Key && f.Sessions[0].View.Filter == "beef"
	})

	u.stop()
	p.wait(`document.querySelector('#link').classList.contains('bad')`)
	startUIAt(t, u.dir, u.addr, defaultLimits)
	p.wait(`window.sockit.connected && !document.querySelector('#restore').hidden`)
	p.wait(has("#restore-text", "2 sessions from last time: devices, udp side"))
	p.click("#restore-open")
	p.wait(`window.sockit.sessions.size === 2 && document.querySelector('#restore').hidden`)
	p.wait(`(() => { const a = document.querySelector('.panel.active'); return !!a &&
		a.querySelector('.filter').value === 'beef' &&
		a.querySelector('.view button[data-view="hex"]').classList.contains('on') &&
		a.querySelector('.rules-text').value === '^PING$=>PONG' })()`)
	p.wait(has(".tab.active .title", "devices"))
}

// TestBrowserRestartForget, in Chinese: the offer can be declined; it
// does not come back.
func TestBrowserRestartForget(t *testing.T) {
	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.browserLanguage("zh-CN,zh;q=0.9")
	p.run(chromedp.Navigate(u.url))
	p.open(kindServer, map[string]string{"local": "127.0.0.1:0", "name": "old"})
	u.stop()
	u2 := startUIAt(t, u.dir, u.addr, defaultLimits)
	p.wait(`window.sockit.connected && !document.querySelector('#restore').hidden`)
	p.wait(has("#restore-text", "上次的 1 个会话：old"))
	p.wait(has("#restore-forget", "丢弃"))
	p.click("#restore-forget")
	p.wait(`document.querySelector('#restore').hidden && !document.querySelector('#new-form').hidden`)
	u2.stop()
	if f := readWorkspaceQuiet(u.dir); f == nil || len(f.Sessions) != 0 {
		t.Fatalf("forgotten sessions still kept: %+v", f)
	}
}

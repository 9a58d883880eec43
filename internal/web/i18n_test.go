package web

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// zhListeningRE finds the address in a server's status in Chinese.
var zhListeningRE = regexp.MustCompile(`正在监听 (\S+)`)

// browserLanguage makes the tab's browser say it prefers langs (an
// Accept-Language list, as navigator.languages shows it), before the page
// loads.
func (p *page) browserLanguage(langs string) {
	p.t.Helper()
	var ua string
	p.run(chromedp.Evaluate(`navigator.userAgent`, &ua))
	p.run(chromedp.ActionFunc(func(ctx context.Context) error {
		return emulation.SetUserAgentOverride(ua).WithAcceptLanguage(langs).Do(ctx)
	}))
}

// english lists the words of English left in what the page shows: the
// text, placeholders and tooltips of the visible elements, leaving out
// names that are the same in every language (protocols, keys, encodings,
// addresses, what the user typed).
const englishLeft = `(() => {
	const allowed = new Set(['sockit', 'tcp', 'udp', 'tls', 'sni', 'pem', 'sha', 'json', 'lines', 'record', 'replay',
		'ctrl', 'enter', 'alt', 'lf', 'crlf', 'cr', 'eol', 'hex', 'ping', 'pong', 'time', 'seq', 'unix_ms', 'rand', 'peer',
		'be', 'le', 'len8', 'len16', 'len16le', 'len32', 'len32le', 'ssl', 'ca', 'kib', 'mib', 'gib', 'ui', 'gbk', 'utf', 'raw', 'delim', 'line',
		'fixed', 'ms', 'at', 'reply', 'pattern', 'txt', 'len', 'xnn',
		'unix', 'unixgram', 'socks', 'http', 'alpn']);
	const bad = [];
	const look = (where, s) => {
		for (const w of (s || '').match(/[A-Za-z_]{2,}/g) || []) {
			if (!allowed.has(w.toLowerCase())) bad.push(where + ': ' + w + ' in ' + JSON.stringify(s.slice(0, 80)));
		}
	};
	for (const e of document.querySelectorAll('body *')) {
		if (e.closest('[hidden]') || e.offsetParent === null && getComputedStyle(e).position !== 'fixed') continue;
		if (e.closest('.hint, .log, .chips, select.enc, select.send-enc, select.checksum, #new-encoding, .addr, .pv, .name, .history, #lang, .to, .status')) continue;
		for (const n of e.childNodes) if (n.nodeType === 3) look(e.tagName.toLowerCase() + '.' + e.className, n.nodeValue);
		if (e.placeholder && !/^\d/.test(e.placeholder)) look('placeholder of .' + e.className, e.placeholder);
		if (e.title) look('title of .' + e.className, e.title);
		if (e.getAttribute('aria-label')) look('aria-label of .' + e.className, e.getAttribute('aria-label'));
	}
	return bad;
})()`

// TestBrowserLanguage: a browser that prefers Chinese gets the page in
// Chinese from the first load, with nothing left in English in the form or
// in a session's panel; switching to English in the page redraws every
// text, including the ones the page writes (status, counters' labels,
// rules), and the choice survives a reload; sockit's own messages read in
// Chinese too.
func TestBrowserLanguage(t *testing.T) {
	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.browserLanguage("zh-CN,zh;q=0.9,en;q=0.5")
	p.run(chromedp.Navigate(u.url))
	p.wait(`window.sockit && window.sockit.connected`)
	p.wait(has("#new-session", "新建会话"))
	p.wait(has("#link", "已连接"))
	var lang string
	p.eval(`document.documentElement.lang`, &lang)
	if lang != "zh-CN" {
		t.Errorf("html lang %q, want zh-CN", lang)
	}
	var missing []string
	p.eval(`window.sockitI18n.missing()`, &missing)
	if len(missing) > 0 {
		t.Errorf("keys without a translation: %v", missing)
	}
	var left []string
	p.eval(englishLeft, &left)
	if len(left) > 0 {
		t.Errorf("English in the Chinese new-session form:\n%s", strings.Join(left, "\n"))
	}
	p.click("#kind-tcp-server")
	p.wait(has("#kind-help", "监听"))
	if got := p.text("#lbl-local"); got != "监听地址" {
		t.Errorf("the local address is labelled %q in a Chinese server form", got)
	}

	p.open(kindServer, map[string]string{"local": "127.0.0.1:0", "frame": "line"})
	p.wait(has(active(".status"), "正在监听 127.0.0.1:"))
	if zhListeningRE.FindStringSubmatch(p.text(active(".status"))) == nil {
		t.Errorf("status %q", p.text(active(".status")))
	}
	p.set(active(".rules-text"), `^PING$=>PONG\n`)
	p.click(active(".apply-rules"))
	p.wait(has(active(".rules-info"), "1 条规则已生效"))
	p.wait(has(active(".peer-list"), "没有客户端连接"))
	p.wait(has(active(".loginfo"), "条事件"))
	p.eval(englishLeft, &left)
	if len(left) > 0 {
		t.Errorf("English in the Chinese session panel:\n%s", strings.Join(left, "\n"))
	}
	p.click(active(".pause"))
	p.wait(has(active(".pause"), "继续"))
	p.click(active(".pause"))
	p.wait(has(active(".pause"), "暂停"))

	// Switch to English: everything follows, at once.
	p.set("#lang", "en")
	p.wait(has("#new-session", "+ New session"))
	p.wait(has(active(".status"), "listening on 127.0.0.1:"))
	p.wait(has(active(".rules-info"), "1 rule active"))
	p.wait(has(active(".counters"), "messages"))
	p.wait(has(active(".peer-list"), "No clients connected."))
	p.wait(has(active(".send"), "Send"))
	var ph string
	p.eval(`document.querySelector('.panel.active .send-text').placeholder`, &ph)
	if ph != "Message · Ctrl+Enter sends" {
		t.Errorf("send box placeholder %q after switching to English", ph)
	}
	// Remembered: a reload stays in English although the browser prefers
	// Chinese.
	p.run(chromedp.Reload())
	p.wait(`window.sockit && window.sockit.connected && !!document.querySelector('.panel.active')`)
	p.wait(has(active(".status"), "listening on"))
	p.wait(has("#new-session", "+ New session"))
	p.eval(`document.querySelector('#lang').value`, &lang)
	if lang != "en" {
		t.Errorf("the language list shows %q after a reload", lang)
	}
	// And back to Chinese, remembered as well.
	p.set("#lang", "zh-CN")
	p.wait(has(active(".status"), "正在监听"))
	p.run(chromedp.Reload())
	p.wait(`window.sockit && window.sockit.connected && !!document.querySelector('.panel.active')`)
	p.wait(has(active(".close-session"), "关闭会话"))
}

// TestBrowserLanguageEnglish: a browser that prefers English (or a
// language the page does not have) gets English, with no Chinese in it.
func TestBrowserLanguageEnglish(t *testing.T) {
	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.browserLanguage("de-DE,de;q=0.9")
	p.run(chromedp.Navigate(u.url))
	p.wait(`window.sockit && window.sockit.connected`)
	p.wait(has("#new-session", "+ New session"))
	p.open(kindServer, map[string]string{"local": "127.0.0.1:0"})
	p.wait(has(active(".status"), "listening on"))
	var han bool
	p.eval(`/[\u4e00-\u9fff]/.test(document.querySelector('header').innerText.replace('中文', '') + document.querySelector('#main').innerText)`, &han)
	if han {
		t.Error("Chinese characters in the English page")
	}
	// One takes the singular whether the count comes as a number or
	// formatted for display, as the page passes most counts.
	for _, c := range []struct{ n, want string }{
		{"1", "1 event"}, {"'1'", "1 event"}, {"'1,024'", "1,024 events"}, {"0", "0 events"}, {"'11'", "11 events"},
	} {
		var got string
		p.eval(`sockitI18n.t('info.events', { n: `+c.n+` })`, &got)
		if got != c.want {
			t.Errorf("t('info.events', {n: %s}) = %q, want %q", c.n, got, c.want)
		}
	}
}

// TestBrowserGBKFirstInChinese: with the page in Chinese, GBK heads the
// encoding lists and is the new-session form's default; in English the
// list is as sockit gives it (UTF-8 first). A session opened with the
// default in Chinese decodes a GBK device's text.
func TestBrowserGBKFirstInChinese(t *testing.T) {
	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.browserLanguage("zh-CN")
	p.run(chromedp.Navigate(u.url))
	p.wait(`window.sockit && window.sockit.connected && window.sockit.encodings.length > 1`)
	first := func(sel string) string {
		var s string
		p.eval(fmt.Sprintf(`(() => { const o = document.querySelector(%s).options; for (const x of o) if (x.value) return x.value; return '' })()`, js(sel)), &s)
		return s
	}
	p.wait(`document.querySelector('#new-encoding').value === 'gbk'`)
	if f := first("#new-encoding"); f != "gbk" {
		t.Errorf("Chinese page: the encoding list starts with %q", f)
	}
	p.open(kindServer, map[string]string{"local": "127.0.0.1:0", "frame": "line", "encoding": "gbk"})
	if f := first(active(".enc")); f != "gbk" {
		t.Errorf("Chinese page: the session's encoding list starts with %q", f)
	}
	if f := first(active(".send-enc")); f != "gbk" {
		t.Errorf("Chinese page: the send encoding list starts with %q", f)
	}
	p.wait(has(active(".status"), "正在监听"))
	addr := zhListeningRE.FindStringSubmatch(p.text(active(".status")))[1]
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(gbkHello + "\r\n"))
	p.wait(has(active(".log"), "你好，世界"))

	// English: UTF-8 first again, at once.
	p.set("#lang", "en")
	p.wait(`document.querySelector('#new-encoding').options[0].value === 'utf-8'`)
	if f := first("#new-encoding"); f != "utf-8" {
		t.Errorf("English page: the encoding list starts with %q", f)
	}
	if f := first(active(".enc")); f != "utf-8" {
		t.Errorf("English page: the session's encoding list starts with %q", f)
	}
	var v string
	p.eval(`document.querySelector('.panel.active .enc').value`, &v)
	if v != "gbk" {
		t.Errorf("the session's encoding shows %q after switching language, want gbk", v)
	}
}

// TestBrowserTheme: the page follows the system's light or dark scheme,
// the choice in the page overrides it and is remembered over a reload.
func TestBrowserTheme(t *testing.T) {
	u := startUI(t)
	p := newPage(t, 1280, 800)
	scheme := func(v string) {
		p.run(chromedp.ActionFunc(func(ctx context.Context) error {
			return emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}).Do(ctx)
		}))
	}
	bg := `getComputedStyle(document.body).backgroundColor`
	scheme("light")
	p.run(chromedp.Navigate(u.url))
	p.wait(`window.sockit && window.sockit.connected`)
	p.wait(`document.documentElement.dataset.theme === 'light'`)
	p.wait(bg + ` === 'rgb(255, 255, 255)'`)
	scheme("dark")
	p.wait(`document.documentElement.dataset.theme === 'dark'`)
	p.wait(bg + ` === 'rgb(14, 17, 22)'`)
	scheme("light")
	p.wait(`document.documentElement.dataset.theme === 'light'`)

	// Chosen in the page: dark although the system is light, after a
	// reload too; back to the system's with "system".
	p.set("#theme", "dark")
	p.wait(`document.documentElement.dataset.theme === 'dark'`)
	p.run(chromedp.Reload())
	p.wait(`window.sockit && window.sockit.connected`)
	p.wait(`document.documentElement.dataset.theme === 'dark' && document.querySelector('#theme').value === 'dark'`)
	p.set("#theme", "auto")
	p.wait(`document.documentElement.dataset.theme === 'light'`)
	p.run(chromedp.Reload())
	p.wait(`window.sockit && window.sockit.connected`)
	p.wait(`document.documentElement.dataset.theme === 'light' && document.querySelector('#theme').value === 'auto'`)
}

// TestBrowserEventsInChinese: what sockit says about connections (a client
// connecting and closing) reads in Chinese in a Chinese page.
func TestBrowserEventsInChinese(t *testing.T) {
	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.browserLanguage("zh-CN")
	p.run(chromedp.Navigate(u.url))
	p.open(kindServer, map[string]string{"local": "127.0.0.1:0"})
	p.wait(has(active(".status"), "正在监听"))
	addr := zhListeningRE.FindStringSubmatch(p.text(active(".status")))[1]
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p.wait(has(active(".log"), "已连接（#1，tcp）"))
	c.Close()
	p.wait(has(active(".log"), "已断开：对方关闭了连接（收 0 B，发 0 B）"))
	if log := p.text(active(".log")); strings.Contains(log, "connected") || strings.Contains(log, "closed") {
		t.Errorf("English left in the log: %s", log)
	}
	// Refusals a one-client server logs, TCP and UDP.
	for in, want := range map[string]string{
		"127.0.0.1:5 refused: serving one client only": "127.0.0.1:5 被拒绝：只服务一个客户端",
		"127.0.0.1:5 refused: serving one peer only":   "127.0.0.1:5 被拒绝：只服务一个对端",
	} {
		var got string
		p.eval(fmt.Sprintf(`sockitI18n.tr(%q)`, in), &got)
		if got != want {
			t.Errorf("tr(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBrowserChecksumErrorInChinese: a message whose checksum is wrong,
// with "Verify checksum" on, is an error line in the log; in a Chinese
// page it reads in Chinese like the connection events around it.
func TestBrowserChecksumErrorInChinese(t *testing.T) {
	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.browserLanguage("zh-CN")
	p.run(chromedp.Navigate(u.url))
	p.open(kindServer, map[string]string{"local": "127.0.0.1:0", "verify": "crc16-modbus"})
	p.wait(has(active(".status"), "正在监听"))
	addr := zhListeningRE.FindStringSubmatch(p.text(active(".status")))[1]
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{0x01, 0x03, 0x02, 0x00, 0x2a, 0x00, 0x00}) // the CRC should be 39 9b
	p.wait(has(active(".log"), "校验错误：消息末尾的 crc16-modbus 校验值不正确"))
	if log := p.text(active(".log")); strings.Contains(log, "checksum mismatch") {
		t.Errorf("English left in the log: %s", log)
	}
}

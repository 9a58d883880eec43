package web

import (
	"bytes"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserRepeatRejectsBadValues, in Chinese and English: an interval
// or count out of range (or not a whole number) is refused with a message
// next to the fields, nothing is sent and the value stays as typed; once
// right, the message goes and the repeat sends as asked.
func TestBrowserRepeatRejectsBadValues(t *testing.T) {
	for _, c := range []struct{ lang, connected, badEvery, badCount string }{
		{"zh-CN", "已连接", "间隔：请输入 1 到 3,600,000 之间的整数", "次数：请输入 0"},
		{"en", "connected", "Interval: a whole number of milliseconds from 1 to 3,600,000", "Count: a whole number from 0"},
	} {
		t.Run(c.lang, func(t *testing.T) {
			addr, got := device(t)
			u := startUI(t)
			p := newPage(t, 1280, 800)
			p.browserLanguage(c.lang)
			p.run(chromedp.Navigate(u.url))
			p.open(kindClient, map[string]string{"remote": addr})
			p.wait(has(active(".status"), c.connected))
			p.set(active(".send-text"), "tick")
			p.set(active(".eol"), "lf")

			for _, bad := range []struct{ every, count, msg string }{
				{"0", "3", c.badEvery},
				{"3600001", "3", c.badEvery},
				{"1.5", "3", c.badEvery},
				{"", "3", c.badEvery},
				{"10", "-1", c.badCount},
				{"10", "2.5", c.badCount},
				{"10", "1000000001", c.badCount},
			} {
				p.set(active(".every"), bad.every)
				p.set(active(".count"), bad.count)
				p.click(active(".start-repeat"))
				p.wait(has(active(".repeat-error"), bad.msg))
				var v struct {
					Every, Count string
					Bad          int
				}
				p.eval(`(() => { const p = document.querySelector('.panel.active');
					return { Every: p.querySelector('.every').value, Count: p.querySelector('.count').value, Bad: p.querySelectorAll('.repeat input.bad').length } })()`, &v)
				if v.Bad != 1 {
					t.Errorf("every %q count %q: %d fields marked", bad.every, bad.count, v.Bad)
				}
				if v.Every != bad.every && !(bad.every == "" && v.Every == "") || v.Count != bad.count {
					t.Errorf("the fields were changed to %q, %q", v.Every, v.Count)
				}
			}
			if n := p.text(active(".m-out")); n != "0" {
				t.Fatalf("%s messages went out with bad repeat values", n)
			}

			// Right values: the message goes away as they are typed, and
			// the repeat sends twice.
			p.set(active(".count"), "2")
			p.wait(`document.querySelector('.panel.active .repeat-error').textContent === ''`)
			p.wait(`document.querySelectorAll('.panel.active .repeat input.bad').length === 0`)
			p.click(active(".start-repeat"))
			expect(t, got, bytes.Repeat([]byte("tick\n"), 2), "the repeat")
			p.wait(`document.querySelector('.panel.active .m-out').dataset.n === '2'`)
		})
	}
}

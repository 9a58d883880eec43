package web

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserLineEnds, in English and in Chinese: a line-framed server
// session reads CRLF and LF devices alike (no trailing \r shown), counts
// the bytes that crossed the wire (delimiters included), refuses an empty
// send with a message instead of sending a bare LF, and sends the line
// end chosen.
func TestBrowserLineEnds(t *testing.T) {
	for _, c := range []struct {
		lang, listening, empty string
	}{
		{"en", "listening on", "nothing to send: the message is empty"},
		{"zh-CN", "正在监听", "没有可发送的内容：消息为空"},
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
			r := bufio.NewReader(conn)

			io.WriteString(conn, "OK\r\nREADY\n")
			p.wait(`document.querySelector('.panel.active .m-in').dataset.n === '2'`)
			if got := p.text(active(".b-in")); got != "10" {
				t.Errorf("bytes in %q, want 10 (OK\\r\\n READY\\n on the wire)", got)
			}
			// The rows are drawn at the next frame: wait for them.
			rowsAre := `Array.from(document.querySelectorAll('.panel.active .log .row.in .x')).map(e => e.textContent).join('|') === 'OK|READY'`
			p.wait(rowsAre)

			// An empty box sends nothing and says so.
			p.set(active(".send-text"), "")
			p.click(active(".send"))
			p.wait(has(active(".send-error"), c.empty))

			// CRLF chosen: CRLF on the wire, counted; the log shows the line.
			p.set(active(".eol"), "crlf")
			p.set(active(".send-text"), "hello")
			p.click(active(".send"))
			line, err := r.ReadString('\n')
			if err != nil || line != "hello\r\n" {
				t.Fatalf("the device got %q, %v; want hello\\r\\n and nothing before it", line, err)
			}
			p.wait(`document.querySelector('.panel.active .b-out').dataset.n === '7'`)
			p.wait(`document.querySelector('.panel.active .send-error').textContent === ''`)
			p.wait(`Array.from(document.querySelectorAll('.panel.active .log .row.out .x')).map(e => e.textContent).join('|') === 'hello'`)
		})
	}
}

// TestBrowserATAutoCR: with "AT: auto CR" ticked, a message that begins
// with AT goes out with CR whatever the line end chosen, others with it;
// over raw framing the device sees exactly that. The label reads in
// Chinese as the assistants say it.
func TestBrowserATAutoCR(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		var all []byte
		buf := make([]byte, 64)
		for len(all) < len("AT+GMR\rhello\n") {
			n, err := c.Read(buf)
			all = append(all, buf[:n]...)
			if err != nil {
				break
			}
		}
		got <- all
	}()
	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.browserLanguage("zh-CN")
	p.run(chromedp.Navigate(u.url))
	p.open(kindClient, map[string]string{"remote": ln.Addr().String()})
	p.wait(has(active(".status"), "已连接"))
	p.wait(has(active(".sendopts"), "AT 指令自动回车"))
	p.check(active(".atcr"), true)
	p.set(active(".eol"), "lf")
	p.set(active(".send-text"), "AT+GMR")
	p.click(active(".send"))
	p.wait(`document.querySelector('.panel.active .m-out').dataset.n === '1'`)
	p.set(active(".send-text"), "hello")
	p.click(active(".send"))
	select {
	case b := <-got:
		if string(b) != "AT+GMR\rhello\n" {
			t.Errorf("the device got %q, want %q", b, "AT+GMR\rhello\n")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the device got nothing")
	}
	p.set("#lang", "en")
	p.wait(has(active(".sendopts"), "AT: auto CR"))
}

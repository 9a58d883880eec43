package web

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"image/png"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var update = flag.Bool("update", false, "write the screenshots to docs/ui.png and docs/ui-zh-CN.png")

// TestBrowserScreenshot stages the main screen as a person uses it (a GBK
// TCP server with two clients, an auto-reply rule, saved messages, more
// sessions in tabs) and takes a 1280x800 screenshot: a test artifact
// ($SOCKIT_ARTIFACTS/ui.png), and docs/ui.png with -update.
func TestBrowserScreenshot(t *testing.T) { screenshot(t, "en", "ui") }

// TestBrowserScreenshotChinese is the same screen in Chinese, in the light
// theme (docs/ui-zh-CN.png, for README.zh-CN.md).
func TestBrowserScreenshotChinese(t *testing.T) { screenshot(t, "zh-CN", "ui-zh-CN") }

func screenshot(t *testing.T, lang, name string) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fmt.Fprintf(c, "+OK device ready\r\n")
				bufio.NewReader(c).ReadString('\n')
			}()
		}
	}()
	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.browserLanguage(lang)
	p.run(chromedp.Navigate(u.url))
	// One picture in each theme: English dark, Chinese light.
	p.wait(`window.sockit && window.sockit.connected`)
	if lang == "en" {
		p.set("#theme", "dark")
	} else {
		p.set("#theme", "light")
	}

	names := map[string]string{"console": "Device console", "greeting": "greeting", "modbus read": "modbus read", "reset": "reset"}
	if lang == "zh-CN" {
		names = map[string]string{"console": "设备控制台", "greeting": "问候", "modbus read": "读寄存器", "reset": "复位"}
	}
	p.open(kindClient, map[string]string{"remote": echo.Addr().String(), "name": names["console"]})
	p.wait(has(active(".log"), "+OK device ready"))
	p.open(kindUDP, map[string]string{"local": "127.0.0.1:0", "remote": "127.0.0.1:9"})
	p.open(kindServer, map[string]string{"local": "127.0.0.1:0", "encoding": "gbk", "frame": "line"})
	p.wait(`/127\.0\.0\.1:\d+/.test(document.querySelector('.panel.active .status').textContent)`)
	var addr string
	p.eval(`document.querySelector('.panel.active .status').textContent.match(/127\.0\.0\.1:\d+/)[0]`, &addr)

	p.set(active(".rules-text"), `^PING$=>PONG\n`)
	p.click(active(".apply-rules"))
	p.wait(`/1/.test(document.querySelector('.panel.active .rules-info').textContent)`)

	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(30 * time.Second))
		return c, bufio.NewReader(c)
	}
	a, ar := dial()
	b, br := dial()
	step := func(c net.Conn, msg string) {
		c.Write([]byte(msg + "\n"))
		time.Sleep(15 * time.Millisecond) // distinct timestamps in the picture
	}
	step(a, gbkHello)
	step(b, "temp=21.5C hum=40%\r")
	step(a, "GET /status")
	step(b, "PING")
	br.ReadString('\n')
	step(b, "\x01\x03\x02\x00\x2a\x38\x5b")
	p.wait(has(active(".log"), "PONG"))

	for _, m := range []struct{ name, data, mode string }{
		{names["greeting"], "你好，设备", "text"},
		{names["modbus read"], "01 03 00 00 00 0a c5 cd", "hex"},
		{names["reset"], "RESET", "text"},
	} {
		p.click(active(`.mode button[data-mode="` + m.mode + `"]`))
		p.set(active(".send-text"), m.data)
		p.set(active(".save-name"), m.name)
		p.click(active(".save"))
		p.wait(has(active(".saved-list"), m.name))
	}
	p.click(active(`.mode button[data-mode="text"]`))
	p.set(active(".send-text"), "收到")
	p.click(active(".send"))
	ar.ReadString('\n')
	br.ReadString('\n')
	p.set(active(".send-text"), "收到，谢谢")
	p.wait(`document.querySelector('.panel.active .m-out').dataset.n === '3'`)
	p.wait(`document.querySelectorAll('.panel.active .peer-list li[data-peer]').length === 2`)

	var shot []byte
	p.run(chromedp.CaptureScreenshot(&shot))
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 800 {
		t.Errorf("screenshot is %dx%d, want 1280x800", b.Dx(), b.Dy())
	}
	saveArtifact(t, name+".png", shot)
	if *update {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", name+".png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// More views, for people to look at: hex, the new-session form.
	p.click(active(`.view button[data-view="hex"]`))
	p.run(chromedp.CaptureScreenshot(&shot))
	saveArtifact(t, name+"-hex.png", shot)
	p.click(active(`.view button[data-view="text"]`))
	p.click("#new-session")
	p.click("#kind-tcp-server")
	p.check("#new-tls", true)
	p.run(chromedp.CaptureScreenshot(&shot))
	saveArtifact(t, name+"-new.png", shot)
	p.run(chromedp.KeyEvent("\x1b"))
	p.wait(`document.querySelector('#new-form').hidden`)

	// The same screen in a narrow window: nothing sticks out sideways and
	// the send box is still there.
	p.run(chromedp.EmulateViewport(420, 800))
	var overflow bool
	p.eval(`document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow)
	if overflow {
		var w int
		p.eval(`document.documentElement.scrollWidth`, &w)
		t.Errorf("at 420px the page is %dpx wide", w)
	}
	p.eval(`document.querySelector('.panel.active .send').scrollIntoView(), true`, nil)
	if !p.visible(active(".send")) {
		t.Error("no send button in a narrow window")
	}
	p.run(chromedp.CaptureScreenshot(&shot))
	saveArtifact(t, name+"-narrow-send.png", shot)
	p.eval(`window.scrollTo(0, 0), document.querySelector('.panel.active .log').scrollIntoView(), true`, nil)
	p.run(chromedp.CaptureScreenshot(&shot))
	saveArtifact(t, name+"-narrow.png", shot)
}

// saveArtifact keeps a file for people to look at when $SOCKIT_ARTIFACTS
// names a directory.
func saveArtifact(t *testing.T, name string, b []byte) {
	dir := os.Getenv("SOCKIT_ARTIFACTS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

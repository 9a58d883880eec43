package web

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/sockit/sockit/internal/sockittest"
)

// ptyPair is a connected pseudo-terminal pair made by socat, as a user
// without hardware makes one: a is the port sockit opens, the returned
// file is the device's side.
func ptyPair(t *testing.T) (a string, dev *os.File) {
	t.Helper()
	bin := sockittest.Need(t, "socat")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	p := sockittest.StartCmd(t, exec.Command(bin, "-d", "-d", "pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+b))
	p.WaitStderr("starting data transfer loop", 30*time.Second)
	f, err := os.OpenFile(b, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return a, f
}

// TestBrowserSerial: a serial session on one end of a pty pair, the
// "device" on the other: text from the device shows in the log, and a
// Modbus request typed as hex with CRC16-Modbus reaches it byte for byte.
func TestBrowserSerial(t *testing.T) {
	for _, lang := range []string{"en", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			port, dev := ptyPair(t)
			u := startUI(t)
			p := newPage(t, 1280, 800)
			if lang == "zh-CN" {
				p.browserLanguage("zh-CN,zh;q=0.9")
			}
			p.run(chromedp.Navigate(u.url))
			p.open(kindClient, map[string]string{"remote": "serial://" + port + "?baud=115200"})
			p.wait(`window.sockit.sessions.get(1).st.state === 'connected'`)
			p.wait(has(".tab.active .title", "serial "+port))
			if _, err := dev.Write([]byte("TEMP=21.5\r\n")); err != nil {
				t.Fatal(err)
			}
			p.wait(has(active(".log"), "TEMP=21.5"))

			p.click(active(`.mode button[data-mode="hex"]`))
			p.set(active(".send-text"), "01 03 00 00 00 0A")
			p.set(active(".checksum"), "crc16-modbus")
			p.click(active(".send"))
			want := []byte{0x01, 0x03, 0x00, 0x00, 0x00, 0x0a, 0xc5, 0xcd}
			got := make([]byte, 0, len(want))
			buf := make([]byte, 64)
			deadline := time.Now().Add(30 * time.Second)
			for len(got) < len(want) && time.Now().Before(deadline) {
				dev.SetReadDeadline(deadline)
				n, err := dev.Read(buf)
				if err != nil {
					t.Fatalf("device read: %v", err)
				}
				got = append(got, buf[:n]...)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("the device got % x, want % x", got, want)
			}
		})
	}
}

// TestBrowserWebSocket: a ws:// client session to a WebSocket echo server
// (coder/websocket, not sockit), and a ws:// server session that a
// WebSocket client reaches: each message one message both ways.
func TestBrowserWebSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, b, err := c.Read(r.Context())
			if err != nil {
				return
			}
			c.Write(r.Context(), typ, append([]byte("echo: "), b...))
		}
	})}
	go hs.Serve(ln)
	defer hs.Close()

	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.run(chromedp.Navigate(u.url))
	p.open(kindClient, map[string]string{"remote": "ws://" + ln.Addr().String() + "/echo"})
	p.wait(`window.sockit.sessions.get(1).st.state === 'connected'`)
	p.set(active(".send-text"), "hello ws")
	p.set(active(".eol"), "none")
	p.click(active(".send"))
	p.wait(`window.sockit.sessions.get(1).items.some((e) => e.kind === 'data' && e.dir === 'in' && e.text === 'echo: hello ws')`)

	// A ws:// server session, and a WebSocket client of it.
	p.click("#new-session")
	p.open(kindServer, map[string]string{"local": "ws://127.0.0.1:0/feed"})
	p.wait(`!!window.sockit.sessions.get(2) && !!window.sockit.sessions.get(2).st.local`)
	var local string
	p.eval(`window.sockit.sessions.get(2).st.local`, &local)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+local+"/feed", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte("from a browser client")); err != nil {
		t.Fatal(err)
	}
	p.wait(`window.sockit.sessions.get(2).items.some((e) => e.kind === 'data' && e.dir === 'in' && e.text === 'from a browser client')`)
	p.wait(`window.sockit.sessions.get(2).st.peers.length === 1`)
	p.set(active(".send-text"), "to the client")
	p.set(active(".eol"), "none")
	p.click(active(".send"))
	typ, b, err := c.Read(ctx)
	if err != nil || typ != websocket.MessageText || string(b) != "to the client" {
		t.Fatalf("the WebSocket client got %v %q %v", typ, b, err)
	}
}

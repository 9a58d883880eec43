package web

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestRecvAndSendFile over the protocol: what a server receives goes to a
// file byte for byte (not over an existing one), and a file sent in
// chunks with a pause arrives whole, with progress and a last count.
func TestRecvAndSendFile(t *testing.T) {
	u := startUI(t)
	w := dialWS(t, u)
	dir := t.TempDir()
	sid := w.ok(map[string]any{"op": "open", "kind": "tcp-server", "local": "127.0.0.1:0"}).SID
	st := w.state(sid, func(s *sessState) bool { return s.Local != "" })

	exists := filepath.Join(dir, "exists.bin")
	os.WriteFile(exists, []byte("keep"), 0o644)
	if m := w.do(map[string]any{"op": "recvfile", "sid": sid, "path": exists}); m.Type != "error" || !strings.Contains(m.Error, "exists already") {
		t.Fatalf("receive over an existing file: %+v", m)
	}
	out := filepath.Join(dir, "recv.bin")
	w.ok(map[string]any{"op": "recvfile", "sid": sid, "path": out})

	c, err := net.Dial("tcp", st.Local)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	data := make([]byte, 200_000)
	rand.Read(data)
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	// The file's growth comes with the counters.
	w.until(func(m message) bool {
		return m.Type == "stats" && m.SID == sid && m.RecvFile != nil && m.RecvFile.Bytes == int64(len(data))
	})
	w.ok(map[string]any{"op": "stoprecv", "sid": sid})
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
		t.Fatalf("the file has %d bytes, want the %d received", len(got), len(data))
	}

	// Send a file to the client, 4 KiB at a time, 1 ms apart.
	in := filepath.Join(dir, "send.bin")
	rand.Read(data)
	os.WriteFile(in, data, 0o644)
	w.ok(map[string]any{"op": "sendfile", "sid": sid, "path": in, "chunk": 4096, "delay": 1})
	got := make([]byte, len(data))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the client got a different file: %v", err)
	}
	st = w.state(sid, func(s *sessState) bool { return s.SendFile != nil && !s.SendFile.Active })
	if f := st.SendFile; f.Bytes != int64(len(data)) || f.Total != int64(len(data)) || f.Error != "" {
		t.Errorf("send file: %+v", f)
	}
	for _, bad := range []map[string]any{
		{"op": "sendfile", "sid": sid, "path": filepath.Join(dir, "missing")},
		{"op": "sendfile", "sid": sid, "path": in, "chunk": 2 << 20},
		{"op": "sendfile", "sid": sid, "path": in, "delay": -1},
		{"op": "stopfile", "sid": sid},
		{"op": "stoprecv", "sid": sid},
	} {
		if m := w.do(bad); m.Type != "error" {
			t.Errorf("%v: %+v, want an error", bad, m)
		}
	}
}

// TestBrowserFiles: receive to a file and send a file from the page, with
// the progress bar, in English and Chinese.
func TestBrowserFiles(t *testing.T) {
	for _, lang := range []string{"en", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			u := startUI(t)
			p := newPage(t, 1280, 900)
			if lang == "zh-CN" {
				p.browserLanguage("zh-CN,zh;q=0.9")
			}
			p.run(chromedp.Navigate(u.url))
			dir := t.TempDir()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			p.open(kindClient, map[string]string{"remote": ln.Addr().String()})
			c, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			p.wait(`window.sockit.sessions.get(1).st.state === 'connected'`)

			want := map[string]string{"en": "Receive to file", "zh-CN": "接收保存到文件"}[lang]
			p.wait(has(active(".files"), want))
			out := filepath.Join(dir, "recv.bin")
			p.set(active(".recv-path"), out)
			p.click(active(".recv-start"))
			p.wait(`!document.querySelector('.panel.active .recv-stop').hidden`)
			data := make([]byte, 100_000)
			rand.Read(data)
			c.Write(data)
			p.wait(fmt.Sprintf(`document.querySelector('.panel.active .recv-info').dataset.bytes === '%d'`, len(data)))
			p.click(active(".recv-stop"))
			p.wait(`!document.querySelector('.panel.active .recv-start').hidden`)
			if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
				t.Fatalf("the file has %d bytes, want the %d received", len(got), len(data))
			}
			// The same name again is refused, in the card.
			p.click(active(".recv-start"))
			p.wait(`document.querySelector('.panel.active .file-error').textContent.includes('recv.bin')`)

			in := filepath.Join(dir, "send.bin")
			rand.Read(data)
			os.WriteFile(in, data, 0o644)
			p.set(active(".send-path"), in)
			p.set(active(".file-chunk"), "1000")
			p.set(active(".file-delay"), "2")
			p.click(active(".send-file"))
			// Paced: the progress shows before the end.
			p.wait(`(() => { const pr = document.querySelector('.panel.active .file-progress'); return !pr.hidden && pr.value > 0 && pr.value < 1 })()`)
			got := make([]byte, len(data))
			if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("the peer got a different file: %v", err)
			}
			p.wait(`document.querySelector('.panel.active .file-info').dataset.done === 'ok' && document.querySelector('.panel.active .file-progress').value === 1`)
		})
	}
}

package web

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// 你好 in GBK.
const gbkHelloOnly = "\xc4\xe3\xba\xc3"

// device accepts one connection and hands over every chunk it reads.
func device(t *testing.T) (string, <-chan []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan []byte, 64)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(60 * time.Second))
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				got <- append([]byte(nil), buf[:n]...)
			}
			if err != nil {
				close(got)
				return
			}
		}
	}()
	return ln.Addr().String(), got
}

// expect reads from the device until it has len(want) bytes, and checks
// they are want.
func expect(t *testing.T, got <-chan []byte, want []byte, what string) {
	t.Helper()
	var b []byte
	deadline := time.After(30 * time.Second)
	for len(b) < len(want) {
		select {
		case c, ok := <-got:
			if !ok {
				t.Fatalf("%s: the device got % x, then the connection ended; want % x", what, b, want)
			}
			b = append(b, c...)
		case <-deadline:
			t.Fatalf("%s: the device got % x, want % x", what, b, want)
		}
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("%s: the device got % x, want % x", what, b, want)
	}
}

// TestBrowserSavedKeepsSettings, in Chinese and English: a saved message
// keeps every send setting (hex or text, encoding, line end, escapes,
// template, checksum, AT auto CR) and ▶ sends exactly what it sent when
// saved, whatever the send box says now and after a reload; "edit" puts
// every setting back.
func TestBrowserSavedKeepsSettings(t *testing.T) {
	for _, c := range []struct{ lang, connected, edit string }{
		{"zh-CN", "已连接", "编辑"},
		{"en", "connected", "edit"},
	} {
		t.Run(c.lang, func(t *testing.T) {
			addr, got := device(t)
			u := startUI(t)
			p := newPage(t, 1280, 800)
			p.browserLanguage(c.lang)
			p.run(chromedp.Navigate(u.url))
			p.open(kindClient, map[string]string{"remote": addr, "encoding": "utf-8"})
			p.wait(has(active(".status"), c.connected))

			// A Modbus request in hex with its CRC.
			p.click(active(`.mode button[data-mode="hex"]`))
			p.set(active(".send-text"), "01 03 00 00 00 0A")
			p.set(active(".checksum"), "crc16-modbus")
			p.set(active(".save-name"), "read regs")
			p.click(active(".save"))
			p.wait(has(active(".saved-list"), "read regs"))
			// GBK text with escapes, a template and CRLF.
			p.click(active(`.mode button[data-mode="text"]`))
			p.set(active(".send-text"), `你好{{seq}}\t`)
			p.set(active(".send-enc"), "gbk")
			p.check(active(".escapes"), true)
			p.check(active(".template"), true)
			p.set(active(".checksum"), "")
			p.set(active(".eol"), "crlf")
			p.set(active(".save-name"), "greet")
			p.click(active(".save"))
			p.wait(has(active(".saved-list"), "greet"))
			// An AT command saved with auto CR (and LF chosen).
			p.set(active(".send-text"), "AT+RST")
			p.set(active(".send-enc"), "")
			p.check(active(".escapes"), false)
			p.check(active(".template"), false)
			p.set(active(".eol"), "lf")
			p.check(active(".atcr"), true)
			p.set(active(".save-name"), "reset")
			p.click(active(".save"))
			p.wait(has(active(".saved-list"), "reset"))

			// The send box says something else entirely now.
			p.check(active(".atcr"), false)
			p.set(active(".eol"), "none")
			p.set(active(".send-text"), "zzz")

			modbus := []byte{0x01, 0x03, 0x00, 0x00, 0x00, 0x0a, 0xc5, 0xcd}
			greet := func(seq string) []byte { return append([]byte(gbkHelloOnly+seq+"\t"), '\r', '\n') }
			send := func(name string) {
				p.click(active(`.saved-list li[data-name="` + name + `"] .go`))
			}
			send("read regs")
			expect(t, got, modbus, "read regs")
			send("greet")
			expect(t, got, greet("1"), "greet")
			send("reset")
			expect(t, got, []byte("AT+RST\r"), "reset")

			// After a reload: the same bytes.
			p.run(chromedp.Reload())
			p.wait(`window.sockit && window.sockit.connected && !!document.querySelector('.panel.active .saved-list li[data-name="greet"]')`)
			send("read regs")
			expect(t, got, modbus, "read regs after a reload")
			send("greet")
			expect(t, got, greet("2"), "greet after a reload") // {{seq}} counts on through the session

			// Edit puts every setting back in the send box.
			p.wait(has(active(`.saved-list li[data-name="greet"] .load`), c.edit))
			p.click(active(`.saved-list li[data-name="greet"] .load`))
			var st struct {
				Mode, Data, Enc, EOL, Checksum string
				Escapes, Template, ATCR        bool
			}
			read := func() {
				p.eval(`(() => { const p = document.querySelector('.panel.active'); const v = (c) => p.querySelector(c);
					return { Mode: p.querySelector('.mode button.on').dataset.mode, Data: v('.send-text').value, Enc: v('.send-enc').value,
						EOL: v('.eol').value, Checksum: v('.checksum').value, Escapes: v('.escapes').checked,
						Template: v('.template').checked, ATCR: v('.atcr').checked } })()`, &st)
			}
			read()
			if st.Mode != "text" || st.Data != `你好{{seq}}\t` || st.Enc != "gbk" || st.EOL != "crlf" || st.Checksum != "" || !st.Escapes || !st.Template || st.ATCR {
				t.Errorf("edit of greet restored %+v", st)
			}
			p.click(active(`.saved-list li[data-name="read regs"] .load`))
			read()
			if st.Mode != "hex" || st.Data != "01 03 00 00 00 0A" || st.Checksum != "crc16-modbus" || st.EOL != "none" || st.Template {
				t.Errorf("edit of read regs restored %+v", st)
			}
			// Sent from the box as edited: the same bytes again.
			p.click(active(".send"))
			expect(t, got, modbus, "read regs edited and sent")
			p.click(active(`.saved-list li[data-name="reset"] .load`))
			read()
			if st.Mode != "text" || st.Data != "AT+RST" || !st.ATCR || st.EOL != "lf" {
				t.Errorf("edit of reset restored %+v", st)
			}
		})
	}
}

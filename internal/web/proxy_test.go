package web

import (
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/sockit/sockit/internal/sockittest"
)

// echoServer is a TCP server that answers each chunk with "echo: " and
// the chunk, and hands over the address of each client it accepts.
func echoServer(t *testing.T) (string, <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	from := make(chan string, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			from <- c.RemoteAddr().String()
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(60 * time.Second))
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					c.Write(append([]byte("echo: "), buf[:n]...))
				}
			}()
		}
	}()
	return ln.Addr().String(), from
}

// TestBrowserProxy: a TCP client session opened with the form's Proxy
// field (Advanced) reaches its server through a SOCKS5 proxy (microsocks)
// and through an HTTP CONNECT proxy (ncat --proxy-type http): what the
// send box sends comes back echoed, and the server's client is the proxy,
// not the session's own socket.
func TestBrowserProxy(t *testing.T) {
	for _, c := range []struct {
		name  string
		start func(t *testing.T, port string)
	}{
		{"socks5", func(t *testing.T, port string) {
			bin := sockittest.Need(t, "microsocks")
			sockittest.StartCmd(t, exec.Command(bin, "-i", "127.0.0.1", "-p", port))
			sockittest.WaitPort(t, "127.0.0.1:"+port)
		}},
		{"http", func(t *testing.T, port string) {
			bin := sockittest.Need(t, "ncat")
			p := sockittest.StartCmd(t, exec.Command(bin, "-v", "-l", "--proxy-type", "http", "127.0.0.1", port))
			p.WaitStderr("Listening on", 30*time.Second)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			target, from := echoServer(t)
			port := strconv.Itoa(sockittest.FreePort(t, false))
			c.start(t, port)
			proxy := c.name + "://127.0.0.1:" + port

			u := startUI(t)
			p := newPage(t, 1280, 800)
			p.run(chromedp.Navigate(u.url))
			p.wait(`window.sockit && window.sockit.connected`)
			p.click("#new-session")
			p.click("#kind-" + string(kindClient))
			p.run(chromedp.Evaluate(`document.querySelector('#new-advanced').open = true`, nil))
			p.set("#new-proxy", proxy)
			p.open(kindClient, map[string]string{"remote": target})
			p.wait(`window.sockit.sessions.get(1).st.state === 'connected'`)
			p.set(active(".send-text"), "via "+c.name)
			p.set(active(".eol"), "none")
			p.click(active(".send"))
			p.wait(`window.sockit.sessions.get(1).items.some((e) => e.kind === 'data' && e.dir === 'in' && e.text === 'echo: via ` + c.name + `')`)

			var local string
			p.eval(`window.sockit.sessions.get(1).st.local`, &local)
			var client string
			select {
			case client = <-from:
			case <-time.After(30 * time.Second):
				t.Fatal("the server was never reached")
			}
			if local == "" || client == local {
				t.Errorf("the server's client is %s, the session's socket %q: want the proxy between them", client, local)
			}
		})
	}
}

// TestBrowserWSS: a wss:// client session with the TLS box ticked and
// the server's CA given as a file: the handshake verifies the server
// (a TLS WebSocket echo server, coder/websocket), and messages go both
// ways; without the CA the session fails on the certificate.
func TestBrowserWSS(t *testing.T) {
	got := make(chan string, 4)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
			got <- r.URL.Path + " " + string(b)
			c.Write(r.Context(), typ, append([]byte("echo: "), b...))
		}
	}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake refused below
	ts.StartTLS()
	defer ts.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	remote := "wss://" + strings.TrimPrefix(ts.URL, "https://") + "/echo"

	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.run(chromedp.Navigate(u.url))
	p.wait(`window.sockit && window.sockit.connected`)

	// Without the CA: the certificate is not trusted.
	p.click("#new-session")
	p.click("#kind-" + string(kindClient))
	p.check("#new-tls", true)
	p.set("#new-ca", "")
	p.open(kindClient, map[string]string{"remote": remote})
	p.wait(`window.sockit.sessions.get(1).st.state === 'failed'`)
	p.wait(has(active(".status"), "certificate"))

	p.click("#new-session")
	p.click("#kind-" + string(kindClient))
	p.check("#new-tls", true)
	p.set("#new-ca", ca)
	p.open(kindClient, map[string]string{"remote": remote})
	p.wait(`window.sockit.sessions.get(2).st.state === 'connected'`)
	p.set(active(".send-text"), "hello wss")
	p.set(active(".eol"), "none")
	p.click(active(".send"))
	select {
	case m := <-got:
		if m != "/echo hello wss" {
			t.Fatalf("the server got %q, want one message on /echo", m)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server got nothing")
	}
	p.wait(`window.sockit.sessions.get(2).items.some((e) => e.kind === 'data' && e.dir === 'in' && e.text === 'echo: hello wss')`)
	var isTLS bool
	p.eval(`window.sockit.sessions.get(2).st.tls === true`, &isTLS)
	if !isTLS {
		t.Errorf("the wss session does not say it is TLS")
	}
}

package web

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/sockit/sockit/internal/testpki"
)

// TestAdvancedOptions: what the advanced fold sets does what the command
// line's options of the same name do.
func TestAdvancedOptions(t *testing.T) {
	u := startUI(t)
	w := dialWS(t, u)

	// A client certificate, ALPN and a lowest version, to a TLS server
	// that wants all three.
	ca := testpki.New(t)
	certFile, keyFile := ca.Issue(t, testpki.Leaf{Name: "client", Usage: x509.ExtKeyUsageClientAuth})
	srvCert, srvKey := ca.Issue(t, testpki.Leaf{Name: "server", Usage: x509.ExtKeyUsageServerAuth, Hosts: []string{"127.0.0.1"}})
	cert, err := tls.LoadX509KeyPair(srvCert, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs: ca.Pool(), NextProtos: []string{"x-sockit"}, MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	got := make(chan string, 1)
	go func() {
		c, err := srv.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		tc := c.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			got <- err.Error()
			return
		}
		st := tc.ConnectionState()
		got <- st.NegotiatedProtocol + " " + st.PeerCertificates[0].Subject.CommonName
	}()
	w.ok(map[string]any{"op": "open", "kind": "tcp-client", "remote": srv.Addr().String(),
		"tls": map[string]any{"on": true, "insecure": true, "clientCert": certFile, "clientKey": keyFile, "alpn": "x-sockit", "min": "1.3"}})
	select {
	case s := <-got:
		if s != "x-sockit client" {
			t.Errorf("the TLS server saw %q, want ALPN x-sockit and the client certificate", s)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no TLS connection")
	}

	// A server: allow only 10.0.0.0/8 refuses loopback; max conns 1; an
	// idle timeout; a checksum checked.
	sid := w.ok(map[string]any{"op": "open", "kind": "tcp-server", "local": "127.0.0.1:0", "allow": "10.0.0.0/8"}).SID
	st := w.state(sid, func(s *sessState) bool { return s.Local != "" })
	if c, err := net.Dial("tcp", st.Local); err == nil { // refused: may be reset at once
		c.Close()
	}
	// The refusal names no flag; the option rides beside it for the page
	// to name by its form label.
	w.event(sid, func(e wireEvent) bool {
		return e.Kind == "refused" && strings.HasSuffix(e.Text, " refused: not in the allow list") && e.Option == "allow"
	})

	sid = w.ok(map[string]any{"op": "open", "kind": "tcp-server", "local": "127.0.0.1:0", "maxConns": 1, "idle": 1, "frame": "line", "verify": "sum8"}).SID
	st = w.state(sid, func(s *sessState) bool { return s.Local != "" })
	c1, err := net.Dial("tcp", st.Local)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	w.event(sid, func(e wireEvent) bool { return e.Kind == "connect" })
	c1.Write([]byte("abc\x00\n")) // sum8 of "abc" is 0x26, not 0
	w.event(sid, func(e wireEvent) bool { return e.Kind == "error" && strings.Contains(e.Text, "checksum") })
	if c2, err := net.Dial("tcp", st.Local); err == nil {
		defer c2.Close()
	}
	w.event(sid, func(e wireEvent) bool {
		return e.Kind == "refused" && strings.HasSuffix(e.Text, " refused: connection limit (1) reached") && e.Option == "max-conns"
	})
	// c1 says nothing more: the idle timeout closes it.
	w.event(sid, func(e wireEvent) bool { return e.Kind == "close" && strings.Contains(e.Text, "idle") })

	for _, bad := range []map[string]any{
		{"op": "open", "kind": "tcp-client", "remote": "127.0.0.1:1", "allow": "10.0.0.0/8"},
		{"op": "open", "kind": "tcp-server", "local": "127.0.0.1:0", "proxy": "socks5://127.0.0.1:1"},
		{"op": "open", "kind": "tcp-server", "local": "127.0.0.1:0", "verify": "nosuch"},
		{"op": "open", "kind": "tcp-client", "remote": "127.0.0.1:1", "tls": map[string]any{"on": true, "min": "2.0"}},
	} {
		if m := w.do(bad); m.Type != "error" {
			t.Errorf("%v: %+v, want an error", bad, m)
		}
	}
	for _, bad := range []string{`{"op":"open","kind":"tcp-server","idle":-1}`, `{"op":"open","kind":"tcp-server","maxConns":-2}`} {
		if _, err := parseCommand([]byte(bad)); err == nil {
			t.Errorf("%s parses", bad)
		}
	}
}

// TestUnixSessions: a Unix stream server and a unixgram session, with
// their replies.
func TestUnixSessions(t *testing.T) {
	u := startUI(t)
	w := dialWS(t, u)
	dir, err := os.MkdirTemp("", "skui")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	stream := filepath.Join(dir, "s.sock")
	sid := w.ok(map[string]any{"op": "open", "kind": "tcp-server", "local": "unix://" + stream, "frame": "line", "confirm": true}).SID
	w.ok(map[string]any{"op": "rules", "sid": sid, "rules": []string{"^PING$=>PONG"}})
	c, err := net.Dial("unix", stream)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	c.Write([]byte("PING\n"))
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "PONG\n" {
		t.Fatalf("unix stream reply %q %v", line, err)
	}

	gram, peer := filepath.Join(dir, "g.sock"), filepath.Join(dir, "p.sock")
	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: peer, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pc.SetDeadline(time.Now().Add(30 * time.Second))
	sid = w.ok(map[string]any{"op": "open", "kind": "udp", "local": "unixgram://" + gram, "remote": "unixgram://" + peer, "confirm": true}).SID
	st := w.state(sid, func(s *sessState) bool { return s.State == stateListening })
	if !strings.HasPrefix(st.Title, "unixgram ") {
		t.Errorf("title %q", st.Title)
	}
	w.ok(map[string]any{"op": "send", "sid": sid, "data": "to the peer"})
	buf := make([]byte, 64)
	n, _, err := pc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "to the peer\n" {
		t.Fatalf("unixgram peer got %q %v", buf[:n], err)
	}
	if _, err := pc.WriteTo([]byte("back"), &net.UnixAddr{Name: gram, Net: "unixgram"}); err != nil {
		t.Fatal(err)
	}
	w.event(sid, func(e wireEvent) bool { return e.Dir == "in" && e.Text == "back" })
}

// TestBrowserAdvanced: the advanced fold in the page: a server that
// admits 10.0.0.0/8 only refuses a loopback client, and says so in its
// log; and a unixgram session opens from a path, in English and Chinese.
func TestBrowserAdvanced(t *testing.T) {
	for _, lang := range []string{"en", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			u := startUI(t)
			p := newPage(t, 1280, 1000)
			if lang == "zh-CN" {
				p.browserLanguage("zh-CN,zh;q=0.9")
			}
			p.run(chromedp.Navigate(u.url))
			p.wait(`window.sockit && window.sockit.connected`)
			p.click("#kind-tcp-server")
			p.click("#new-advanced summary")
			p.wait(has("#new-advanced", map[string]string{"en": "Max connections", "zh-CN": "最大连接数"}[lang]))
			p.set("#new-allow", "10.0.0.0/8")
			p.set("#new-max-conns", "5")
			p.open(kindServer, map[string]string{"local": "127.0.0.1:0"})
			p.wait(`!!window.sockit.sessions.get(1).st.local`)
			var addr string
			p.eval(`window.sockit.sessions.get(1).st.local`, &addr)
			if c, err := net.Dial("tcp", addr); err == nil { // refused: may be reset at once
				c.Close()
			}
			p.wait(`window.sockit.sessions.get(1).items.some((e) => e.kind === 'refused')`)
			// The log says why in the page's language, and names the
			// option by the label of its field, never as a flag.
			want := map[string][]string{
				"en":    {"refused: not in the allow list", "(setting: Allow)"},
				"zh-CN": {"被拒绝：不在允许列表中", "（设置：允许）"},
			}[lang]
			p.wait(has(".log .row.refused", want[0]) + " && " + has(".log .row.refused .opt", want[1]) +
				fmt.Sprintf(` && document.querySelector('.log .row.refused .x').title.includes(%s)`, js(want[1])))
			if row := p.text(".log .row.refused"); strings.Contains(row, "--") {
				t.Errorf("the refused row names a flag: %q", row)
			}

			dir, err := os.MkdirTemp("", "skui")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			p.click("#new-session")
			p.click("#kind-udp")
			p.set("#new-allow", "")
			p.set("#new-max-conns", "")
			p.set("#new-local", "unixgram://"+filepath.Join(dir, "g.sock"))
			p.set("#new-remote", "")
			p.click("#new-open")
			p.wait(`document.querySelector('#confirm').open`) // a path other users may reach
			p.click("#confirm-yes")
			p.wait(`window.sockit.sessions.size === 2 && window.sockit.sessions.get(2).st.state === 'listening'`)
			p.wait(has(".tab.active .title", "unixgram "))
		})
	}
}

package endpoints

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/sockittest"
	"github.com/sockit/sockit/internal/testpki"
)

// TestWSClientAgainstNode: sockit's WebSocket client against Node's ws
// server: text and binary messages with their types, path and query,
// subprotocol, extra headers, a large message byte-exact, a close code.
func TestWSClientAgainstNode(t *testing.T) {
	t.Parallel()
	srv := wspeer(t, "server")
	url := "ws://" + srv.addr() + "/some/path?x=1"

	out, errOut, code := sockittest.Run(t, nil, 30*time.Second, "send", url, "héllo", "--ws-protocol", "chat", "-H", "X-Test: 42")
	if code != 0 || out != "héllo" {
		t.Fatalf("send text: exit %d, stdout %q; stderr:\n%s", code, out, errOut)
	}
	c := srv.next("connect")
	if c["protocol"] != "chat" || c["path"] != "/some/path?x=1" {
		t.Errorf("node saw protocol %v, path %v; want chat, /some/path?x=1", c["protocol"], c["path"])
	}
	if h, _ := c["headers"].(map[string]any); h["x-test"] != "42" {
		t.Errorf("node saw headers %v; want x-test: 42", h)
	}
	if b, bin := message(t, srv.next("message")); string(b) != "héllo" || bin {
		t.Errorf("node got %q (binary %v); want the text message héllo", b, bin)
	}

	// Bytes that are not UTF-8 go as a binary message; --ws-binary sends
	// text as binary too.
	out, errOut, code = sockittest.Run(t, nil, 30*time.Second, "send", url, "--send-hex", "00 ff 01 80")
	if code != 0 || out != "\x00\xff\x01\x80" {
		t.Fatalf("send binary: exit %d, stdout %q; stderr:\n%s", code, out, errOut)
	}
	if b, bin := message(t, srv.next("message")); !bytes.Equal(b, []byte{0, 0xff, 1, 0x80}) || !bin {
		t.Errorf("node got %x (binary %v); want the binary message 00ff0180", b, bin)
	}
	if _, errOut, code = sockittest.Run(t, nil, 30*time.Second, "send", url, "--ws-binary", "abc"); code != 0 {
		t.Fatalf("send --ws-binary: exit %d; stderr:\n%s", code, errOut)
	}
	if b, bin := message(t, srv.next("message")); string(b) != "abc" || !bin {
		t.Errorf("node got %q (binary %v); want a binary message abc", b, bin)
	}

	// 4 MiB of random bytes as one message, and back.
	big := make([]byte, 4<<20)
	rand.Read(big)
	file := filepath.Join(t.TempDir(), "big.bin")
	os.WriteFile(file, big, 0o600)
	out, errOut, code = sockittest.Run(t, nil, 60*time.Second, "send", url, "--file", file, "--wait", "5s")
	if code != 0 || sum([]byte(out)) != sum(big) {
		t.Fatalf("send 4 MiB: exit %d, %d bytes back (sha %s, want %s); stderr:\n%s", code, len(out), sum([]byte(out)), sum(big), errOut)
	}
	if b, bin := message(t, srv.next("message")); sum(b) != sum(big) || !bin {
		t.Errorf("node got %d bytes (binary %v), not the 4 MiB sent", len(b), bin)
	}

	// --ws-ping keeps the connection checked: the server sees pings.
	pinger := sockittest.Start(t, "connect", url, "--ws-ping", "100ms")
	srv.next("ping")
	pinger.Interrupt()
	pinger.Wait(30 * time.Second)

	// The server closes with 4001: sockit says so, and the conversation
	// counts as broken by the peer.
	_, errOut, code = sockittest.Run(t, nil, 30*time.Second, "send", url, "close:4001:bye", "-v")
	if !strings.Contains(errOut, "4001") || !strings.Contains(errOut, `"bye"`) {
		t.Errorf("send to a server that closes with 4001: exit %d, stderr does not show the close code and reason:\n%s", code, errOut)
	}
	if code != exitcode.Reset {
		t.Errorf("close 4001: exit %d, want %d", code, exitcode.Reset)
	}
}

// TestWSServerAgainstNode: sockit's WebSocket server (listen --echo)
// against Node's ws client: each message comes back whole with its type,
// pings are answered, and the client's close code is shown.
func TestWSServerAgainstNode(t *testing.T) {
	t.Parallel()
	srv := sockittest.Start(t, "listen", "ws://127.0.0.1:0/echo", "--echo", "-k", "-v", "--ws-protocol", "mqtt,chat")
	addr := srv.Addr()
	cl := wspeer(t, "client", "ws://"+addr+"/echo", "--protocol", "chat")
	if o := cl.next("open"); o["protocol"] != "chat" {
		t.Errorf("subprotocol %v, want chat", o["protocol"])
	}
	cl.send(map[string]any{"text": "héllo"})
	if b, bin := message(t, cl.next("message")); string(b) != "héllo" || bin {
		t.Errorf("echo of a text message: %q (binary %v)", b, bin)
	}
	cl.send(map[string]any{"hex": "00ff0180"})
	if b, bin := message(t, cl.next("message")); hex.EncodeToString(b) != "00ff0180" || !bin {
		t.Errorf("echo of a binary message: %x (binary %v)", b, bin)
	}
	// Messages right after each other stay apart (no stream merging).
	for _, s := range []string{"one", "two", "three"} {
		cl.send(map[string]any{"text": s})
	}
	for _, s := range []string{"one", "two", "three"} {
		if b, _ := message(t, cl.next("message")); string(b) != s {
			t.Errorf("echo %q, want %q", b, s)
		}
	}
	big := make([]byte, 1<<20)
	rand.Read(big)
	cl.send(map[string]any{"hex": hex.EncodeToString(big)})
	if b, bin := message(t, cl.next("message")); sum(b) != sum(big) || !bin {
		t.Errorf("echo of 1 MiB: %d bytes (binary %v), not what was sent", len(b), bin)
	}
	cl.send(map[string]any{"ping": "p1"})
	if p := cl.next("pong"); p["hex"] != hex.EncodeToString([]byte("p1")) {
		t.Errorf("pong %v, want the ping's payload", p)
	}
	cl.send(map[string]any{"close": 4000, "reason": "done"})
	cl.next("close")
	srv.WaitStderr("4000", 30*time.Second)

	// A plain HTTP request is told what the server is.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, _ := io.ReadAll(c)
	if !bytes.Contains(resp, []byte("426")) || !bytes.Contains(resp, []byte("WebSocket server")) {
		t.Errorf("plain HTTP to a ws:// server got %q", resp)
	}
}

// TestWSRelay: relay from WebSocket clients to a TCP server, and from TCP
// clients to a WebSocket server (Node's ws on the WebSocket side).
func TestWSRelay(t *testing.T) {
	t.Parallel()
	t.Run("ws to tcp", func(t *testing.T) {
		t.Parallel()
		echo := sockittest.EchoTCP(t)
		r := sockittest.Start(t, "relay", "ws://127.0.0.1:0/", "tcp://"+echo)
		cl := wspeer(t, "client", "ws://"+r.Addr()+"/")
		cl.next("open")
		for _, m := range []map[string]any{{"text": "first"}, {"hex": "00010203fffe"}, {"text": strings.Repeat("x", 30000)}} {
			cl.send(m)
			b, _ := message(t, cl.next("message"))
			want := []byte(nil)
			if s, ok := m["text"].(string); ok {
				want = []byte(s)
			} else {
				want, _ = hex.DecodeString(m["hex"].(string))
			}
			// The TCP echo may answer in pieces: collect until whole.
			for len(b) < len(want) {
				more, _ := message(t, cl.next("message"))
				b = append(b, more...)
			}
			if !bytes.Equal(b, want) {
				t.Fatalf("through ws→tcp: got %d bytes, want %d (%.20q)", len(b), len(want), want)
			}
		}
	})
	t.Run("tcp to ws", func(t *testing.T) {
		t.Parallel()
		srv := wspeer(t, "server")
		r := sockittest.Start(t, "relay", "tcp://127.0.0.1:0", "ws://"+srv.addr()+"/up")
		c, err := net.Dial("tcp", r.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(sockittest.Patience))
		io.WriteString(c, "first")
		if c := srv.next("connect"); c["path"] != "/up" {
			t.Errorf("node saw path %v", c["path"])
		}
		if b, _ := message(t, srv.next("message")); string(b) != "first" {
			t.Errorf("node got %q, want first", b)
		}
		io.ReadFull(c, make([]byte, 5))
		for _, s := range []string{"hello", "\x00\xffbinary"} {
			io.WriteString(c, s)
			buf := make([]byte, len(s))
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != s {
				t.Fatalf("through tcp→ws: %q, %v; want %q", buf, err, s)
			}
			if b, _ := message(t, srv.next("message")); string(b) != s {
				t.Errorf("node got %q, want %q", b, s)
			}
		}
	})
}

// TestWSS: wss:// both ways against Node's ws over TLS, with the TLS
// options: --ca, --pin, --insecure, client certificates.
func TestWSS(t *testing.T) {
	t.Parallel()
	cf := testpki.Standard(t)
	srv := wspeer(t, "server", "--tls", cf.Cert, cf.Key)
	url := "wss://" + srv.addr() + "/"
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"ca", []string{"--ca", cf.CA}, 0},
		{"pin", []string{"--pin", fingerprint(t, cf.Cert)}, 0},
		{"insecure", []string{"--insecure"}, 0},
		{"unknown authority", nil, exitcode.TLS},
		{"wrong pin", []string{"--pin", strings.Repeat("AB", 32)}, exitcode.TLS},
	} {
		out, errOut, code := sockittest.Run(t, nil, 30*time.Second, append([]string{"send", url, "secret"}, tc.args...)...)
		if code != tc.code || tc.code == 0 && out != "secret" {
			t.Errorf("%s: exit %d (want %d), stdout %q; stderr:\n%s", tc.name, code, tc.code, out, errOut)
		}
		if tc.code != 0 && strings.Count(strings.TrimSpace(errOut), "\n") > 1 {
			t.Errorf("%s: more than two lines on stderr:\n%s", tc.name, errOut)
		}
	}

	t.Run("client certificate", func(t *testing.T) {
		srv := wspeer(t, "server", "--tls", cf.Cert, cf.Key, "--client-ca", cf.CA)
		url := "wss://" + srv.addr() + "/"
		out, errOut, code := sockittest.Run(t, nil, 30*time.Second, "send", url, "x", "--ca", cf.CA, "--client-cert", cf.ClientCert, "--client-key", cf.ClientKey)
		if code != 0 || out != "x" {
			t.Fatalf("with a client certificate: exit %d, %q; stderr:\n%s", code, out, errOut)
		}
		_, errOut, code = sockittest.Run(t, nil, 30*time.Second, "send", url, "x", "--ca", cf.CA)
		if code == 0 || !strings.Contains(errOut, "certificate") {
			t.Errorf("without a client certificate: exit %d; stderr:\n%s", code, errOut)
		}
	})

	t.Run("sockit server", func(t *testing.T) {
		s := sockittest.Start(t, "listen", "wss://127.0.0.1:0/", "--echo", "-k", "--cert", cf.Cert, "--key", cf.Key)
		cl := wspeer(t, "client", "wss://"+s.Addr()+"/", "--ca", cf.CA)
		cl.next("open")
		cl.send(map[string]any{"text": "over tls"})
		if b, _ := message(t, cl.next("message")); string(b) != "over tls" {
			t.Errorf("echo over wss: %q", b)
		}
	})
}

// TestWSBadEndpoints: malformed ws:// endpoints are usage errors that show
// the accepted form, before anything connects.
func TestWSBadEndpoints(t *testing.T) {
	t.Parallel()
	for _, ep := range []string{"ws://", "ws://h:99999/", "ws://h/a b", "wss://u:p@h/"} {
		_, errOut, code := sockittest.Run(t, nil, 30*time.Second, "connect", ep)
		if code != exitcode.Usage || !strings.Contains(errOut, "ws://HOST:PORT/PATH") && !strings.Contains(errOut, "forms") {
			t.Errorf("connect %q: exit %d; stderr:\n%s", ep, code, errOut)
		}
	}
	_, errOut, code := sockittest.Run(t, nil, 30*time.Second, "send", "ws://127.0.0.1:1/", "x", "-H", "no colon")
	if code != exitcode.Usage || !strings.Contains(errOut, "'Name: value'") {
		t.Errorf("bad -H: exit %d; stderr:\n%s", code, errOut)
	}
}

// TestWSReplay: a WebSocket conversation recorded with --record plays
// back with replay against Node's ws server, message for message.
func TestWSReplay(t *testing.T) {
	t.Parallel()
	srv := wspeer(t, "server")
	url := "ws://" + srv.addr() + "/"
	rec := filepath.Join(t.TempDir(), "ws.jsonl")
	_, errOut, code := sockittest.Run(t, []byte("first\nsecond\n"), 30*time.Second, "connect", url, "--frame", "line", "--record", rec)
	if code != 0 {
		t.Fatalf("record: exit %d; stderr:\n%s", code, errOut)
	}
	out, errOut, code := sockittest.Run(t, nil, 30*time.Second, "replay", rec, url, "--as", "client")
	if code != 0 || out != "first\nsecond\n" {
		t.Fatalf("replay: exit %d, stdout %q; stderr:\n%s", code, out, errOut)
	}
	var got []string
	for range 4 {
		b, _ := message(t, srv.next("message"))
		got = append(got, string(b))
	}
	if strings.Join(got, "|") != "first\n|second\n|first\n|second\n" {
		t.Errorf("node got %q: want each line as its own message, twice", got)
	}
}

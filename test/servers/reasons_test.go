package servers

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// A client's close reasons name no flag: --json (and so the web UI and
// transcripts) gets plain words and the option beside them, and the
// command line's log on stderr names the flag to change.
func TestClientReasonsNameTheOptionNotTheFlag(t *testing.T) {
	t.Parallel()
	_, tcp := listen(t, "-k", "--frame", "line", "--respond", "^PING$=>PONG")
	_, udp := listen(t, "-u", "-k", "--echo", "udp://127.0.0.1:0")
	udp = "udp://" + strings.TrimPrefix(udp, "udp://")
	// greets, then shuts down its write side and reads on: a peer that
	// closes first while sockit's stdin is still open.
	_, halfClose := python(t, `
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()
print(s.getsockname()[1])
c, _ = s.accept()
c.sendall(b'hi\n')
c.shutdown(socket.SHUT_WR)
time.sleep(30)
`)
	for _, tc := range []struct {
		name    string
		args    []string
		stdin   string // "" leaves stdin open
		text    string // the close event's reason
		option  string
		flagged string // as stderr's log line says it
	}{
		{"send waits", []string{"send", "--frame", "line", "--wait", "0.5", tcp, "PING"}, "",
			"no more replies within 500ms", "wait", "closed: no more replies within 500ms (see --wait)"},
		{"send --wait 0", []string{"send", "--wait", "0", tcp, "PING"}, "",
			"sent, without waiting for replies", "wait", "closed: sent, without waiting for replies (see --wait)"},
		{"send --expect", []string{"send", "--frame", "line", "--expect", "PONG", tcp, "PING"}, "",
			"what arrived matched the expected pattern", "expect", "closed: what arrived matched the expected pattern (see --expect)"},
		{"connect --expect times out", []string{"connect", "--no-shutdown", "--frame", "line", "--expect", "NOPE", "--wait", "0.3", tcp}, "PING\n",
			"no match for the expected pattern within 300ms after the input ended", "wait",
			"closed: no match for the expected pattern within 300ms after the input ended (see --wait)"},
		{"connect -u waits", []string{"connect", "--wait", "0.3", udp}, "x",
			"no more replies within 300ms", "wait", "closed: no more replies within 300ms (see --wait)"},
		{"connect -q", []string{"connect", "--no-shutdown", "-q", "0.2", tcp}, "PING\n",
			"quit after the input ended", "quit", "closed: quit after the input ended (see -q/--quit)"},
		{"peer closes first", []string{"connect", halfClose}, "",
			"peer closed first, before the input ended", "half-duplex", "closed: peer closed first, before the input ended (see --half-duplex)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{tc.args[0], "--json", "-v"}, tc.args[1:]...)
			p := sockittest.Start(t, args...)
			if tc.stdin != "" {
				// The input ends (--no-shutdown: without a FIN to the peer).
				p.Stdin.Write([]byte(tc.stdin))
				p.Stdin.Close()
			}
			e := waitOptionEvent(t, p, "close", tc.text, tc.option, tc.flagged)
			if e["error"] != nil {
				t.Errorf("close event %v has an error", e)
			}
			p.Stdin.Close()
			p.Wait(30 * time.Second)
		})
	}
}

// A server that serves one client (no -k) turns away the others still
// in their TLS handshakes once one got through, in words that name no
// flag, with keep-open as the event's option; its log on stderr names
// -k/--keep-open.
func TestOneClientRefusalNamesTheOption(t *testing.T) {
	t.Parallel()
	p, addr := listen(t, "--tls", "--json")
	out := runPython(t, 30*time.Second, `
import socket, ssl, sys
host, port = sys.argv[1].rsplit(':', 1)
idle = socket.create_connection((host, int(port)), timeout=20)
print(idle.getsockname()[1], flush=True)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection((host, int(port)), timeout=20))
s.sendall(b'hi\n')
try:
    print(idle.recv(1))
except OSError as e:
    print(type(e).__name__)
`, addr)
	lines := strings.Fields(out)
	if len(lines) != 2 || lines[1] != "ConnectionResetError" {
		t.Fatalf("python: %q; want the idle client's port and its reset", out)
	}
	e := waitOptionEvent(t, p, "refused", "serving one client only", "keep-open", "refused: serving one client only (see -k/--keep-open)")
	if e["peer"] != "127.0.0.1:"+lines[0] {
		t.Errorf("refused %v, want the idle client 127.0.0.1:%s", e["peer"], lines[0])
	}
}

// replay --match-key: a request its key does not match is an error event
// in words that name no flag, with match-key as its option; the log on
// stderr names --match-key.
func TestMatchKeyMissNamesTheOption(t *testing.T) {
	t.Parallel()
	_, addr := listen(t, "-k", "--frame", "line", "--respond", "^GET a$=>A")
	rec := filepath.Join(t.TempDir(), "rec.jsonl")
	if out, stderr, code := runSockit(t, "send", "--frame", "line", "--wait", "0.2", "--record", rec, addr, "GET a"); code != 0 || out != "A\n" {
		t.Fatalf("recording: exit %d, %q, %s", code, out, stderr)
	}
	mock := sockittest.Start(t, "replay", rec, "127.0.0.1:0", "--as", "server", "--match", "--match-key", `^GET (\w+)`, "--count", "1", "--json")
	out, stderr, code := sockittestRun(t, "PUT x\nGET a\n", "send", "--frame", "line", "--wait", "0.5", mock.Addr())
	if code != 0 || out != "A\n" {
		t.Fatalf("client: exit %d, %q, %s", code, out, stderr)
	}
	waitOptionEvent(t, mock, "error", `unmatched request "PUT x": the match key does not match it`, "match-key",
		`unmatched request "PUT x": the match key does not match it (see --match-key)`)
	if code := mock.Wait(30 * time.Second); code != 1 {
		t.Errorf("mock exit %d, want 1 for the unmatched request", code)
	}
}

// A WebSocket endpoint with credentials in it says so without naming a
// flag (the web UI shows the same words); the second line names -H.
func TestWebSocketCredentialsNameTheFlagInTheHint(t *testing.T) {
	t.Parallel()
	_, stderr, code := runSockit(t, "connect", "ws://u:p@127.0.0.1:1/")
	want := "sockit: bad endpoint \"ws://u:p@127.0.0.1:1/\": user:password@ is not supported; send credentials in an Authorization header\n" +
		"Note that -H 'Authorization: …' sends credentials; a WebSocket endpoint is ws://HOST:PORT/PATH or wss://HOST:PORT/PATH (the port defaults to 80 and 443; a server: ws://:PORT/PATH).\n"
	if code != 2 || stderr != want {
		t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, want)
	}
}

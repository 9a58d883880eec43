package servers

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/event"
)

// pyAnswerServer answers each line it reads with argv[1] (Python escapes
// allowed), for any number of clients one after another.
const pyAnswerServer = `
import socket, sys
answer = sys.argv[1].encode().decode('unicode_escape').encode('latin1')
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()
print(s.getsockname()[1])
while True:
    c, _ = s.accept()
    buf = b''
    try:
        while True:
            d = c.recv(4096)
            if not d: break
            buf += d
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                c.sendall(answer)
    except OSError:
        pass  # a client that gave up (a failed replay) resets
    c.close()
`

func TestJSONEveryLineHasTheSchema(t *testing.T) {
	t.Parallel()
	p, addr := listen(t, "-k", "--json", "--respond", "^PING=>PONG", "--frame", "line", "--max-conns", "1", "--deny", "127.0.0.2")
	out, stderr, code := sockittestRun(t, "PING\nPING\n", "connect", "--frame", "line", "--json", addr)
	if code != 0 {
		t.Fatalf("connect: exit %d %q", code, stderr)
	}
	client := jsonLines(t, out)
	kinds := ""
	for _, e := range client {
		kinds += e["event"].(string) + " "
	}
	if kinds != "connect data data data data close " {
		t.Errorf("client events: %s\n%s", kinds, out)
	}
	if outs := dataEvents(client, "out"); len(outs) != 2 || outs[0]["text"] != "PING" || outs[0]["hex"] != "50494e47" {
		t.Errorf("out events %v", outs)
	}
	if ins := dataEvents(client, "in"); len(ins) != 2 || ins[1]["text"] != "PONG" {
		t.Errorf("in events %v", ins)
	}
	srv := jsonLines(t, p.WaitStdout(t, "the close", func(s string) bool { return strings.Contains(s, `"event":"close"`) }))
	if srv[0]["event"] != "listen" || srv[0]["local"] != addr {
		t.Errorf("first server event %v", srv[0])
	}
}

// --json output of a UDP server shows each datagram on its own, with its
// sender, never merged.
func TestJSONUDPDatagramsOnTheirOwn(t *testing.T) {
	t.Parallel()
	p, addr := listen(t, "-u", "--json")
	runPython(t, 20*time.Second, `
import socket, sys
host, port = sys.argv[1].rsplit(':', 1)
for i in range(2):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for m in (b'a', b'bb', b'ccc'):
        s.sendto(m, (host, int(port)))
`, addr)
	out := p.WaitStdout(t, "six datagrams", func(s string) bool { return strings.Count(s, `"event":"data"`) == 6 })
	ins := dataEvents(jsonLines(t, out), "in")
	peers := map[any]string{}
	for _, e := range ins {
		peers[e["peer"]] += e["text"].(string) + ","
	}
	if len(peers) != 2 {
		t.Fatalf("%d peers, want 2: %v", len(peers), peers)
	}
	for peer, texts := range peers {
		if texts != "a,bb,ccc," {
			t.Errorf("%v sent %s", peer, texts)
		}
	}
}

func TestTimestampsOption(t *testing.T) {
	t.Parallel()
	_, addr := listen(t, "--reply", `one\ntwo\n`, "--escapes")
	out, stderr, code := sockittestRun(t, "x", "connect", "-T", addr)
	if code != 0 {
		t.Fatalf("exit %d %q", code, stderr)
	}
	if !regexp.MustCompile(`^\[\d\d:\d\d:\d\d\.\d{3}\] one\ntwo\n$`).MatchString(out) {
		t.Fatalf("-T output %q", out)
	}
}

// Record a session against a Python server; replay it against a fresh one
// (exit 0) and against one that answers differently (exit 1, with a line
// that shows the difference); then replay it as a server that a client
// checks.
func TestRecordAndReplay(t *testing.T) {
	t.Parallel()
	_, good := python(t, pyAnswerServer, `PONG\r\n`)
	rec := writeFile(t, "session.jsonl", "")
	out, stderr, code := sockittestRun(t, "PING\nPING\nPING\n", "connect", "--frame", "line", "--record", rec, good)
	if code != 0 || out != "PONG\r\nPONG\r\nPONG\r\n" {
		t.Fatalf("recording: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	b, _ := os.ReadFile(rec)
	recs, err := event.ReadAll(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("the recording does not read back: %v\n%s", err, b)
	}
	if n := strings.Count(string(b), `"data":"`); n != 6 {
		t.Errorf("%d data fields in the recording, want 6:\n%s", n, b)
	}
	if recs[0].Frame != "line" {
		t.Errorf("connect event without the framing: %+v", recs[0])
	}

	_, fresh := python(t, pyAnswerServer, `PONG\r\n`)
	out, stderr, code = runSockit(t, "replay", rec, fresh, "--as", "client", "--expect")
	if code != 0 || out != "PONG\r\nPONG\r\nPONG\r\n" {
		t.Fatalf("replay against the same server: exit %d, stdout %q, stderr %q\n%s", code, out, stderr, b)
	}
	_, other := python(t, pyAnswerServer, `ERR\r\n`)
	_, stderr, code = runSockit(t, "replay", rec, other, "--as", "client", "--expect")
	if code != 1 || !strings.Contains(stderr, `message 1: expected "PONG\r", got "ERR\r"`) {
		t.Fatalf("replay against another server: exit %d, stderr %q", code, stderr)
	}
	// Without --expect, a different server is not an error.
	if _, stderr, code = runSockit(t, "replay", rec, other, "--as", "client"); code != 0 {
		t.Fatalf("replay without --expect: exit %d %q", code, stderr)
	}

	// The recording as a mock server: it answers a client as the Python
	// server did, and checks what the client sends.
	mock, addr := startSockit(t, "replay", rec, "127.0.0.1:0", "--as", "server", "--expect")
	out, stderr, code = sockittestRun(t, "PING\nPING\nPING\n", "connect", addr)
	if code != 0 || out != "PONG\r\nPONG\r\nPONG\r\n" {
		t.Fatalf("client of the mock: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if code := mock.Wait(15 * time.Second); code != 0 {
		t.Fatalf("mock server: exit %d\n%s", code, mock.Stderr())
	}
	mock, addr = startSockit(t, "replay", rec, "127.0.0.1:0", "--as", "server", "--expect")
	sockittestRun(t, "PING\nPONG\n", "connect", addr)
	if code := mock.Wait(15 * time.Second); code != 1 || !strings.Contains(mock.Stderr(), `message 2: expected "PING", got "PONG"`) {
		t.Fatalf("mock server with a wrong client: exit %d\n%s", code, mock.Stderr())
	}
}

// A raw (unframed) TCP recording is compared as a byte stream, whatever
// the chunking; --timing keeps the pauses.
func TestReplayRawStreamAndTiming(t *testing.T) {
	t.Parallel()
	_, srv := python(t, pyAnswerServer, `OK\n`)
	rec := writeFile(t, "raw.jsonl", "")
	// send --count with --interval makes a recording with pauses in it.
	_, stderr, code := runSockit(t, "send", srv, `a\n`, "--escapes", "--count", "3", "--interval", "150ms", "--record", rec, "--wait", "300ms")
	if code != 0 {
		t.Fatalf("send: exit %d %q", code, stderr)
	}
	_, fresh := python(t, pyAnswerServer, `OK\n`)
	start := time.Now()
	out, stderr, code := runSockit(t, "replay", rec, fresh, "--as", "client", "--expect", "--timing")
	if code != 0 || out != "OK\nOK\nOK\n" {
		t.Fatalf("replay: exit %d, %q, %q", code, out, stderr)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("--timing replay took %s, want the recorded 2 × 150ms at least", d)
	}
}

// UDP: datagrams are compared one by one.
func TestReplayUDP(t *testing.T) {
	t.Parallel()
	_, addr := listen(t, "-u", "--reply", "r{{seq}}", "--template")
	rec := writeFile(t, "udp.jsonl", "")
	if _, stderr, code := sockittestRun(t, "x\ny\n", "connect", "-u", "--frame", "line", "--record", rec, "--wait", "500ms", addr); code != 0 {
		t.Fatalf("record: exit %d %q", code, stderr)
	}
	_, fresh := listen(t, "-u", "--reply", "r{{seq}}", "--template")
	if out, stderr, code := runSockit(t, "replay", rec, "udp://"+fresh, "--as", "client", "--expect"); code != 0 || out != "r1r2" {
		t.Fatalf("replay: exit %d %q %q", code, out, stderr)
	}
	_, other := listen(t, "-u", "--reply", "r{{seq}}!", "--template")
	if _, stderr, code := runSockit(t, "replay", rec, "udp://"+other, "--as", "client", "--expect"); code != 1 || !strings.Contains(stderr, `message 1: expected "r1", got "r1!"`) {
		t.Fatalf("replay against another server: exit %d %q", code, stderr)
	}
}

func TestReplayUsageErrors(t *testing.T) {
	t.Parallel()
	good := writeFile(t, "good.jsonl", `{"event":"data","conn":1,"dir":"out","text":"x"}`+"\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"replay", good, "127.0.0.1:1"}, "--as client or --as server"},
		{[]string{"replay", good, "127.0.0.1:1", "--as", "both"}, `bad --as "both"`},
		{[]string{"replay", "/nonexistent.jsonl", "127.0.0.1:1", "--as", "client"}, "no such file"},
		{[]string{"replay", writeFile(t, "bad.jsonl", "{\"event\":\"listen\"}\nnot json\n"), "127.0.0.1:1", "--as", "client"}, "line 2:"},
		{[]string{"replay", writeFile(t, "empty.jsonl", `{"event":"listen"}`), "127.0.0.1:1", "--as", "client"}, "no data events"},
		{[]string{"replay", good, "127.0.0.1:1", "--as", "client", "--template"}, "--template does not apply to replay"},
		{[]string{"replay", good, "127.0.0.1:1", "--as", "client", "--conn", "7"}, "no conversation 7"},
	} {
		_, stderr, code := runSockit(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("sockit %v: exit %d, stderr %q, want exit 2 with %q", tc.args[1:], code, stderr, tc.want)
		}
	}
}

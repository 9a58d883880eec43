package servers

import (
	"bytes"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pyFramed writes messages framed as argv[2] says, cut into chunks of
// 1, 2, 3, 5, 8… bytes with a pause between them so they arrive as
// separate reads, then all remaining in one write, then closes.
const pyFramed = `
import socket, struct, sys, time
host, port = sys.argv[1].rsplit(':', 1)
kind = sys.argv[2]
msgs = [bytes.fromhex(m) for m in sys.argv[3:]]
def frame(m):
    if kind == 'line': return m + b'\n'
    if kind == 'delim:0d0a': return m + b'\r\n'
    if kind == 'len8': return struct.pack('B', len(m)) + m
    if kind == 'len16': return struct.pack('>H', len(m)) + m
    if kind == 'len16le': return struct.pack('<H', len(m)) + m
    if kind == 'len32': return struct.pack('>I', len(m)) + m
    if kind == 'len32le': return struct.pack('<I', len(m)) + m
    if kind.startswith('fixed:'): return m
    raise SystemExit('unknown framing ' + kind)
data = b''.join(frame(m) for m in msgs)
s = socket.create_connection((host, int(port)), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
i, a, b = 0, 1, 2
half = len(data) // 2
while i < half:
    s.sendall(data[i:i+a]); i += a
    a, b = b, a + b
    time.sleep(0.005)
s.sendall(data[i:])
s.shutdown(socket.SHUT_WR)
s.recv(1)
s.close()
`

func TestFramingMessagesArriveWhole(t *testing.T) {
	t.Parallel()
	msgs := []string{"hello", "", "two words", strings.Repeat("x", 300), "\x00\x01binary\xff", "last one"}
	for _, kind := range []string{"line", "delim:0d0a", "len8", "len16", "len16le", "len32", "len32le", "fixed:4"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			want := msgs
			switch {
			case kind == "len8":
				want = append([]string{}, msgs...)
				want[3] = strings.Repeat("x", 255)
			case strings.HasPrefix(kind, "fixed"):
				want = []string{"abcd", "efgh", "\x00\x01\x02\x03", "wxyz"}
			}
			p, addr := listen(t, "--frame", kind, "--json")
			args := []string{addr, kind}
			for _, m := range want {
				args = append(args, hex.EncodeToString([]byte(m)))
			}
			runPython(t, 30*time.Second, pyFramed, args...)
			out := p.WaitStdout(t, "the close event", func(s string) bool { return strings.Contains(s, `"event":"close"`) })
			events := jsonLines(t, out)
			in := dataEvents(events, "in")
			if len(in) != len(want) {
				t.Fatalf("%d data events, want %d (one per message):\n%s", len(in), len(want), out)
			}
			for i, e := range in {
				got, _ := hex.DecodeString(e["hex"].(string))
				if string(got) != want[i] || int(e["len"].(float64)) != len(want[i]) {
					t.Errorf("message %d: %q (len %v), want %q", i, got, e["len"], want[i])
				}
			}
			for _, e := range events {
				if e["event"] == "connect" && e["frame"] != kind {
					t.Errorf("connect event frame %v, want %s", e["frame"], kind)
				}
			}
		})
	}
}

// A length prefix over --max-message ends that connection (logged), never
// allocates it, and the server goes on serving others.
func TestFramingTooLargeIsThatConnectionsError(t *testing.T) {
	t.Parallel()
	p, addr := listen(t, "-k", "--echo", "--frame", "len32", "--max-message", "1K", "--json")
	runPython(t, 20*time.Second, `
import socket, sys
host, port = sys.argv[1].rsplit(':', 1)
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(b'\xff\xff\xff\xf0' + b'x' * 100)
print(s.recv(100))
`, addr)
	const tooLarge = "message of 4294967280 bytes exceeds the maximum message size (1024 bytes)"
	waitOptionEvent(t, p, "close", tooLarge, "max-message", tooLarge+" (see --max-message)")
	// The server is still there, and still frames.
	out := runPython(t, 20*time.Second, `
import socket, struct, sys
host, port = sys.argv[1].rsplit(':', 1)
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(struct.pack('>I', 5) + b'hel')
s.sendall(b'lo')
print(s.recv(100).hex())
`, addr)
	if strings.TrimSpace(out) != "0000000568656c6c6f" {
		t.Fatalf("echo after the bad client: %s", out)
	}
}

// send and --expect work on framed messages, and send's --json shows one
// event per message each way.
func TestFramingSendExpectJSON(t *testing.T) {
	t.Parallel()
	_, addr := listen(t, "--frame", "len16", "--respond", "^PING$=>PONG", "--reply", "what?")
	out, stderr, code := runSockit(t, "send", "--frame", "len16", "--expect", "^PONG$", "--json", addr, "PING")
	if code != 0 {
		t.Fatalf("send: exit %d\n%s\n%s", code, out, stderr)
	}
	events := jsonLines(t, out)
	outs, ins := dataEvents(events, "out"), dataEvents(events, "in")
	if len(outs) != 1 || outs[0]["text"] != "PING" || outs[0]["hex"] != "50494e47" {
		t.Errorf("out events %v", outs)
	}
	if len(ins) != 1 || ins[0]["text"] != "PONG" {
		t.Errorf("in events %v", ins)
	}
	_, stderr, code = runSockit(t, "send", "--frame", "len16", "--expect", "^PONG$", addr, "PONG")
	if code != 1 || !strings.Contains(stderr, "did not match --expect") {
		t.Errorf("mismatch: exit %d, %q", code, stderr)
	}
}

// connect --frame line: stdout keeps the bytes exactly, --json shows each
// line as a message.
func TestFramingConnectLineJSON(t *testing.T) {
	t.Parallel()
	_, addr := listen(t, "-k", "--echo", "--frame", "line")
	in := "one\ntwo\r\nthree\n"
	stdout, stderr, code := sockittestRun(t, in, "connect", "--frame", "line", addr)
	if code != 0 || stdout != in {
		t.Fatalf("connect: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	stdout, _, code = sockittestRun(t, in, "connect", "--frame", "line", "--json", addr)
	events := jsonLines(t, stdout)
	var texts []string
	for _, e := range dataEvents(events, "in") {
		texts = append(texts, e["text"].(string))
	}
	if code != 0 || strings.Join(texts, "|") != "one|two\r|three" {
		t.Fatalf("exit %d, messages %q", code, texts)
	}
}

// TestFramedOversizeNotDelivered: listen --frame line with one client
// wrote a refused 16 MiB+1 line to stdout while its close line said
// "received 0 B" (issue 9). A refused message goes nowhere (stdout, -o),
// and the counts say what was delivered, framing included.
func TestFramedOversizeNotDelivered(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "o.bin")
	p, addr := listen(t, "--frame", "line", "-o", out)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello\n"))
	c.Write(bytes.Repeat([]byte("x"), 16<<20+1))
	c.(*net.TCPConn).CloseWrite()
	p.Wait(30 * time.Second)
	if got := p.Stdout(); got != "hello\n" {
		t.Errorf("stdout has %d bytes (%.20q…), want only the line delivered", len(got), got)
	}
	if b, _ := os.ReadFile(out); string(b) != "hello\n" {
		t.Errorf("-o file has %d bytes, want only the line delivered", len(b))
	}
	if !strings.Contains(p.Stderr(), "exceeds the maximum message size (16777216 bytes) (see --max-message) (received 6 B, sent 0 B)") {
		t.Errorf("close line does not say the refusal and 6 B received:\n%s", p.Stderr())
	}
}

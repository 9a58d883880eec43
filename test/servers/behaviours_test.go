package servers

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// ncatSend runs ncat as a client: stdin to the server, what comes back out.
func ncatSend(t *testing.T, addr string, stdin []byte, extra ...string) []byte {
	t.Helper()
	ncat := sockittest.Need(t, "ncat")
	host, p := addr[:strings.LastIndexByte(addr, ':')], port(addr)
	cmd := exec.Command(ncat, append(append([]string{}, extra...), host, p)...)
	cmd.Stdin = bytes.NewReader(stdin)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.Output(); close(done) }()
	select {
	case <-done:
	case <-time.After(sockittest.Patience):
		cmd.Process.Kill()
		<-done
		t.Fatalf("ncat still running after %s", sockittest.Patience)
	}
	if err != nil {
		t.Fatalf("ncat: %v (output %q)", err, out)
	}
	return out
}

const pyLineClient = `
import socket, sys
host, port = sys.argv[1].rsplit(':', 1)
s = socket.create_connection((host, int(port)), timeout=10)
f = s.makefile('rb')
for line in sys.argv[2:]:
    s.sendall(line.encode() + b'\n')
    sys.stdout.write(f.readline().decode())
`

func TestEchoWithNcatAndPython(t *testing.T) {
	t.Parallel()
	_, addr := listen(t, "-k", "--echo")
	data := make([]byte, 256<<10)
	rand.Read(data)
	if got := ncatSend(t, addr, data); sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("ncat got %d bytes back, not the %d sent", len(got), len(data))
	}
	if got := runPython(t, 20*time.Second, pyLineClient, addr, "one", "two"); got != "one\ntwo\n" {
		t.Fatalf("python got %q", got)
	}
}

func TestReplyWithNcatAndPython(t *testing.T) {
	t.Parallel()
	_, addr := listen(t, "--reply", `OK {{seq}}\r\n`, "--escapes", "--template", "--frame", "line")
	if got := string(ncatSend(t, addr, []byte("a\nb\n"))); got != "OK 1\r\nOK 2\r\n" {
		t.Fatalf("ncat got %q", got)
	}
	if got := runPython(t, 20*time.Second, pyLineClient, addr, "x", "y", "z"); got != "OK 1\r\nOK 2\r\nOK 3\r\n" {
		t.Fatalf("python got %q (seq counts per connection)", got)
	}
}

func TestReplyFromFile(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "banner", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi")
	_, addr := listen(t, "--reply", "@"+file)
	out := ncatSend(t, addr, []byte("GET / HTTP/1.0\r\n\r\n"))
	if string(out) != "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi" {
		t.Fatalf("got %q", out)
	}
}

func TestRespondRules(t *testing.T) {
	t.Parallel()
	_, addr := listen(t, "--frame", "line",
		"--respond", `^PING=>PONG`,
		"--respond", `(?i)^hello (\w+)=>hi there`,
		"--respond", `^BIN=>hex:00 01 02 0a`,
		"--respond", `^QUIET=>`,
		"--reply", "unknown command")
	got := runPython(t, 20*time.Second, pyLineClient, addr, "PING", "HELLO bob", "nonsense", "PING")
	if got != "PONG\nhi there\nunknown command\nPONG\n" {
		t.Fatalf("got %q", got)
	}
	// hex: bytes, and a rule with no reply swallows the message.
	out := runPython(t, 20*time.Second, `
import socket, sys
host, port = sys.argv[1].rsplit(':', 1)
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(b'QUIET\nBIN\n')
s.shutdown(socket.SHUT_WR)
buf = b''
while True:
    d = s.recv(100)
    if not d: break
    buf += d
sys.stdout.write(buf.hex())
`, addr)
	if out != "0001020a" {
		t.Fatalf("got %s, want 0001020a", out)
	}
}

func TestBehavioursExcludeEachOther(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--echo", "--chat"},
		{"--reply", "x", "--exec", "cat"},
		{"--discard", "--respond", "a=>b"},
	} {
		_, stderr, code := sockittest.Run(t, nil, 10*time.Second, append(append([]string{"listen"}, args...), "127.0.0.1:0")...)
		if code != 2 || !strings.Contains(stderr, "exclude each other: a server has one behaviour") {
			t.Errorf("listen %v: exit %d, stderr %q", args, code, stderr)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--respond", "no arrow"}, `no "=>"`},
		{[]string{"--respond", "([=>x"}, "bad --respond pattern"},
		{[]string{"--reply", "{{nope}}", "--template"}, "nope"},
		{[]string{"--reply", "@/nonexistent"}, "--reply"},
		{[]string{"--exec", " "}, "--exec needs a command"},
	} {
		_, stderr, code := sockittest.Run(t, nil, 10*time.Second, append(append([]string{"listen"}, tc.args...), "127.0.0.1:0")...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("listen %v: exit %d, stderr %q, want %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestChatWithPythonClients(t *testing.T) {
	t.Parallel()
	p, addr := listen(t, "-k", "--chat")
	py := sockittest.StartCmd(t, exec.Command(sockittest.Need(t, "python3"), "-u", "-c", `
import socket, sys, time
host, port = sys.argv[1].rsplit(':', 1)
cs = [socket.create_connection((host, int(port)), timeout=10) for _ in range(3)]
sys.stdin.readline()  # the test says go once the server has all three
cs[0].sendall(b'hel')
time.sleep(0.05)
cs[0].sendall(b'lo\n')
cs[2].sendall(b'from two\n')
got = {1: b'', 2: b'', 0: b''}
buf = {1: b'', 2: b'', 0: b''}
def read(i, n):
    # Lines starting "* " are the chat's notices (joins); count the rest.
    while got[i].count(b'\n') < n:
        buf[i] += cs[i].recv(1000)
        while b'\n' in buf[i]:
            line, buf[i] = buf[i].split(b'\n', 1)
            if not line.startswith(b'* '):
                got[i] += line + b'\n'
read(1, 2); read(2, 1); read(0, 1)
for i in range(3):
    print(i, cs[i].getsockname()[1], got[i])
`, addr))
	p.WaitStderr("connected (#3", 15*time.Second)
	py.Stdin.Write([]byte("go\n"))
	if code := py.Wait(30 * time.Second); code != 0 {
		t.Fatalf("python exit %d: %s", code, py.Stderr())
	}
	out := py.Stdout()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	ports := map[string]string{}
	recv := map[string]string{}
	for _, l := range lines {
		f := strings.SplitN(l, " ", 3)
		ports[f[0]], recv[f[0]] = f[1], f[2]
	}
	a, c := "[127.0.0.1:"+ports["0"]+"] ", "[127.0.0.1:"+ports["2"]+"] "
	if !strings.Contains(recv["1"], a+"hello") || !strings.Contains(recv["1"], c+"from two") {
		t.Errorf("client 1 got %s", recv["1"])
	}
	if recv["2"] != `b'`+a+`hello\n'` {
		t.Errorf("client 2 got %s, want only client 0's line", recv["2"])
	}
	if recv["0"] != `b'`+c+`from two\n'` {
		t.Errorf("client 0 got %s, want only client 2's line", recv["0"])
	}
}

func TestChatWithNcat(t *testing.T) {
	t.Parallel()
	p, addr := listen(t, "-k", "--chat")
	ncat := sockittest.Need(t, "ncat")
	// One ncat listens in; another says something and leaves.
	l := sockittest.StartCmd(t, exec.Command(ncat, "--recv-only", "127.0.0.1", port(addr)))
	p.WaitStderr("connected (#1", 15*time.Second)
	ncatSend(t, addr, []byte("hi from ncat\n"), "--send-only")
	l.WaitStdout(t, "the chat line", func(s string) bool { return strings.Contains(s, "] hi from ncat\n") })
}

// TestChatEscapesForTerminals: what one client sends reaches the others'
// terminals with its control bytes escaped, as ncat --chat does (a raw
// ESC sequence could clear or retitle their screens), and joins and
// leaves are announced. With --encoding gbk the escaping is done on the
// decoded text, so the GBK bytes of the text pass whole.
func TestChatEscapesForTerminals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, enc string
		send      string // Python bytes literal sent by client 1
		want      string // Python bytes literal client 0 must get, after the prefix
	}{
		{"utf-8", "", `b'\x1b]0;owned\x07\x1b[2Jhi \xe4\xbd\xa0\n'`, `b'\\x1b]0;owned\\x07\\x1b[2Jhi \xe4\xbd\xa0\n'`},
		{"gbk", "gbk", `'你好\x1b[0m\n'.encode('gbk')`, `'你好\\x1b[0m\n'.encode('gbk')`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"-k", "--chat"}
			if c.enc != "" {
				args = append(args, "--encoding", c.enc)
			}
			p, addr := listen(t, args...)
			py := sockittest.StartCmd(t, exec.Command(sockittest.Need(t, "python3"), "-u", "-c", `
import socket, sys
host, port = sys.argv[1].rsplit(':', 1)
a = socket.create_connection((host, int(port)), timeout=30)
f = a.makefile('rb')
sys.stdin.readline()  # the server has a
b = socket.create_connection((host, int(port)), timeout=30)
bname = '%s:%d' % b.getsockname()
def expect(want):
    got = f.readline()
    if got != want:
        sys.exit('got %r, want %r' % (got, want))
expect(('* %s joined (2 here)\n' % bname).encode())
b.sendall(`+c.send+`)
expect(('[%s] ' % bname).encode() + `+c.want+`)
b.close()
expect(('* %s left (1 here)\n' % bname).encode())
print('ok')
`, addr))
			p.WaitStderr("connected (#1", 30*time.Second)
			py.Stdin.Write([]byte("go\n"))
			if code := py.Wait(60 * time.Second); code != 0 || strings.TrimSpace(py.Stdout()) != "ok" {
				t.Fatalf("python exit %d: %s%s", code, py.Stdout(), py.Stderr())
			}
		})
	}
}

func TestExecCatWithNcat(t *testing.T) {
	t.Parallel()
	_, addr := listen(t, "-k", "--exec", "/bin/cat")
	data := make([]byte, 1<<20)
	rand.Read(data)
	if got := ncatSend(t, addr, data); sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("got %d bytes back, not the %d sent", len(got), len(data))
	}
}

// The process's output is drained to the client after the client's FIN:
// here it only starts writing once stdin has ended, and writes much.
func TestExecPythonScriptDrainsAfterEOF(t *testing.T) {
	t.Parallel()
	script := writeFile(t, "wc.py", `
import sys, os, hashlib
data = sys.stdin.buffer.read()
sys.stdout.write("%d %s %s\n" % (len(data), hashlib.sha256(data).hexdigest(), os.environ["SOCKIT_REMOTE_ADDR"]))
sys.stdout.write("z" * 500000)
sys.stderr.write("wc.py done\n")
`)
	py := sockittest.Need(t, "python3")
	p, addr := listen(t, "-k", "--exec", py+" "+script)
	data := make([]byte, 300000)
	rand.Read(data)
	out := ncatSend(t, addr, data)
	sum := sha256.Sum256(data)
	head, rest, _ := bytes.Cut(out, []byte("\n"))
	want := "300000 " + hexString(sum[:]) + " 127.0.0.1"
	if string(head) != want || len(rest) != 500000 {
		t.Fatalf("got %q and %d more bytes; want %q and 500000", head, len(rest), want)
	}
	p.WaitStderr("wc.py done", 10*time.Second) // the process's stderr goes to sockit's
	p.WaitStderr("closed: command exited", 10*time.Second)
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// --exec over UDP: one process per peer, each reply to its own sender.
func TestExecUDPSeveralPythonClients(t *testing.T) {
	t.Parallel()
	_, addr := listen(t, "-u", "-i", "2", "--exec", `while read -r l; do echo "$SOCKIT_REMOTE_PORT says $l"; done`)
	out := runPython(t, 30*time.Second, pyUDPClients, addr, "4")
	if strings.Count(out, "ok\n") != 4 {
		t.Fatalf("python clients:\n%s", out)
	}
}

// pyUDPClients sends from N sockets, twice each, and checks every reply
// names its own sender (the server replies with "PORT says MESSAGE").
const pyUDPClients = `
import socket, sys
host, port = sys.argv[1].rsplit(':', 1)
n = int(sys.argv[2])
socks = []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0)); s.settimeout(60)
    socks.append(s)
for rnd in range(2):
    for i, s in enumerate(socks):
        s.sendto(b'm%d-%d\n' % (i, rnd), (host, int(port)))
    for i, s in enumerate(socks):
        d, a = s.recvfrom(2000)
        want = b'%d says m%d-%d\n' % (s.getsockname()[1], i, rnd)
        if d != want or a[1] != int(port):
            print('client', i, 'got', d, 'from', a, 'want', want)
            sys.exit(1)
for s in socks:
    print('ok')
`

// A UDP --reply server with several clients: each reply to the right
// sender, with {{peer}} saying who that is.
func TestUDPReplySeveralPythonClients(t *testing.T) {
	t.Parallel()
	_, addr := listen(t, "-u", "--reply", `{{peer}}`, "--template")
	out := runPython(t, 30*time.Second, `
import socket, sys
host, port = sys.argv[1].rsplit(':', 1)
socks = []
for i in range(5):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0)); s.settimeout(60)
    socks.append(s)
for s in socks:
    s.sendto(b'hi', (host, int(port)))
bad = 0
for s in socks:
    d, a = s.recvfrom(2000)
    me = '%s:%d' % s.getsockname()
    if d.decode() != me:
        bad += 1
        print('got', d, 'want', me)
print('bad', bad)
`, addr)
	if !strings.HasSuffix(out, "bad 0\n") {
		t.Fatalf("python clients:\n%s", out)
	}
}

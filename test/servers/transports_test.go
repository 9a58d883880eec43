package servers

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// The behaviours are the same on Unix sockets and over TLS.
func TestBehavioursOnUnixSockets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		flags []string
		in    string
		want  string
	}{
		{"respond", []string{"--frame", "line", "--respond", "^PING=>PONG"}, "PING\n", "PONG\n"},
		{"exec", []string{"--exec", "tr a-z A-Z"}, "shout\n", "SHOUT\n"},
		{"echo", []string{"--echo"}, "same\n", "same\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sock := "unix://" + filepath.Join(dir, tc.name+".sock")
			listen(t, append(tc.flags, sock)...)
			out, stderr, code := sockittestRun(t, tc.in, "connect", sock)
			if code != 0 || out != tc.want {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %q", code, out, stderr, tc.want)
			}
		})
	}
	// A Python client on the same socket as a chat room's other member.
	sock := filepath.Join(dir, "chat.sock")
	p, _ := startSockit(t, "listen", "-k", "--chat", "unix://"+sock)
	py := pythonUnixListener(t, sock)
	p.WaitStderr("connected (#1", 10*time.Second)
	if _, stderr, code := sockittestRun(t, "over unix\n", "connect", "unix://"+sock); code != 0 {
		t.Fatalf("exit %d %q", code, stderr)
	}
	py.WaitStdout(t, "the chat line", func(s string) bool { return strings.Contains(s, "] over unix\\n") })
}

// pythonUnixListener connects a Python client to a Unix socket and prints
// what it receives (repr per read).
func pythonUnixListener(t *testing.T, path string) *sockittest.Proc {
	t.Helper()
	p, _ := python(t, `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
print(0)
while True:
    d = s.recv(1000)
    if not d: break
    print(repr(d))
`, path)
	return p
}

func TestBehavioursOverTLS(t *testing.T) {
	t.Parallel()
	_, addr := listen(t, "-k", "--tls", "--exec", "tr a-z A-Z")
	out, stderr, code := sockittestRun(t, "quiet words\n", "connect", "tls://"+addr, "--insecure")
	if code != 0 || out != "QUIET WORDS\n" {
		t.Fatalf("exec over TLS: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	_, addr = listen(t, "-k", "--tls", "--frame", "len16", "--respond", "^a=>b")
	out, stderr, code = runSockit(t, "send", "tls://"+addr, "--insecure", "--frame", "len16", "a", "--expect", "^b$")
	if code != 0 {
		t.Fatalf("respond over TLS: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

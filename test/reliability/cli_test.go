package reliability

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// malformed are command lines sockit must refuse with exit 2 and one
// line (plus at most a hint), before opening any socket: 127.0.0.1:1 has
// nothing listening, so an invocation that got as far as connecting
// would exit 3 instead.
var malformed = [][]string{
	// Arguments and endpoints.
	{"connect"},
	{"connect", "a:1", "b:2"},
	{"connect", ""},
	{"connect", "tcp://"},
	{"connect", "tcp://127.0.0.1"},
	{"connect", "tcp://[::1]"},
	{"connect", "127.0.0.1:99999"},
	{"connect", "udp://127.0.0.1:65536"},
	{"connect", "127.0.0.1:-1"},
	{"connect", "127.0.0.1:port"},
	{"connect", "ftp://127.0.0.1:21"},
	{"connect", "[::1:80"},
	{"connect", "::1]:80"},
	{"connect", "8888"},
	{"connect", ":8888"},
	{"connect", "unix://"},
	{"connect", "-n", "example.test:80"},
	{"listen"},
	{"listen", "-k", "0", "1"},
	{"listen", "70000"},
	{"listen", "udp://[::1"},
	{"send"},
	{"version", "extra"},
	{"bogus-command"},
	{"--bogus"},
	// Flags and their values.
	{"connect", "--bogus-flag", "127.0.0.1:1"},
	{"connect", "-Z", "127.0.0.1:1"},
	{"connect", "--timeout"},
	{"connect", "--interval", "1s", "127.0.0.1:1"},
	{"connect", "-4", "-6", "127.0.0.1:1"},
	{"connect", "-w", "abc", "127.0.0.1:1"},
	{"connect", "-w", "-5", "127.0.0.1:1"},
	{"connect", "-i", "1x", "127.0.0.1:1"},
	{"connect", "--delay", "soon", "127.0.0.1:1"},
	{"connect", "--quit", "never", "127.0.0.1:1"},
	{"connect", "--keepalive", "x", "127.0.0.1:1"},
	{"connect", "--buffer", "12q", "127.0.0.1:1"},
	{"connect", "--max-message", "x", "127.0.0.1:1"},
	{"connect", "-s", "1.2.3.4.5", "127.0.0.1:1"},
	{"connect", "-s", "70000", "127.0.0.1:1"},
	{"connect", "--proxy", "ftp://x:1", "127.0.0.1:1"},
	{"connect", "--proxy", "socks5://", "127.0.0.1:1"},
	{"listen", "--idle-timeout=-1", "0"},
	{"listen", "--reuseaddr=maybe", "0"},
	{"listen", "--max-conns", "abc", "0"},
	// Data options.
	{"connect", "--encoding", "klingon", "127.0.0.1:1"},
	{"connect", "--send-encoding", "nope", "127.0.0.1:1"},
	{"connect", "--frame", "bogus", "127.0.0.1:1"},
	{"connect", "--frame", "fixed:0", "127.0.0.1:1"},
	{"connect", "--frame", "delim:zz", "127.0.0.1:1"},
	{"connect", "--frame", "len16", "udp://127.0.0.1:1"},
	{"connect", "--checksum", "md5", "127.0.0.1:1"},
	{"connect", "--verify-checksum", "127.0.0.1:1"},
	{"connect", "--eol", "lfcr", "127.0.0.1:1"},
	{"connect", "-C", "--eol", "cr", "127.0.0.1:1"},
	{"connect", "--hex", "--json", "127.0.0.1:1"},
	{"connect", "--send-only", "--recv-only", "127.0.0.1:1"},
	{"connect", "--record", "/nonexistent/dir/x", "127.0.0.1:1"},
	{"connect", "-o", "/nonexistent/dir/x", "127.0.0.1:1"},
	{"listen", "--frame", "len8", "-u", "0"},
	{"send", "127.0.0.1:1", "data", "--file", "x"},
	{"send", "--file", "/nonexistent", "127.0.0.1:1"},
	{"send", "--count", "0", "127.0.0.1:1", "x"},
	{"send", "--count", "x", "127.0.0.1:1", "a"},
	{"send", "--interval", "x", "127.0.0.1:1", "a"},
	{"send", "--expect", "(", "127.0.0.1:1", "x"},
	{"send", "--send-hex", "127.0.0.1:1", "zz"},
	{"send", "--send-hex", "127.0.0.1:1", "4"},
	{"send", "--escapes", "127.0.0.1:1", `\xZZ`},
	{"send", "--template", "127.0.0.1:1", "{{bogus}}"},
	{"send", "--template", "127.0.0.1:1", "{{rand:x}}"},
	// Servers and TLS.
	{"listen", "--echo", "--discard", "0"},
	{"listen", "--allow", "300.1.1.1", "0"},
	{"listen", "--deny", "10.0.0.0/33", "0"},
	{"listen", "--allow", "@/nonexistent", "0"},
	{"listen", "--tls", "unix:///tmp/sockit-never.sock"},
	{"listen", "--cert", "/nonexistent", "tls://127.0.0.1:0"},
	{"listen", "--cert", "/nonexistent", "--key", "/nonexistent", "tls://127.0.0.1:0"},
	{"connect", "--tls-min", "1.1", "tls://127.0.0.1:1"},
	{"connect", "--pin", "zz", "tls://127.0.0.1:1"},
	{"connect", "--ca", "/nonexistent", "tls://127.0.0.1:1"},
	{"connect", "--client-cert", "/nonexistent", "--client-key", "/nonexistent", "tls://127.0.0.1:1"},
	{"connect", "--tls", "udp://127.0.0.1:1"},
	// Issue 9: lines that got through.
	{"bench", "--mode", "zz", "127.0.0.1:1"},
	{"bench", "--rate", "-1", "127.0.0.1:1"},
	{"bench", "-c", "0", "127.0.0.1:1"},
	{"bench", "-c", "-5", "127.0.0.1:1"},
	{"bench", "--mode", "rx", "-c", "-1", "127.0.0.1:1"},
	{"bench", "--size", "0", "127.0.0.1:1"},
	{"bench", "--depth", "0", "127.0.0.1:1"},
	{"bench", "--depth", "-3", "127.0.0.1:1"},
	{"completion", "powershell2"},
	{"completion"},
	{"listen", "--exec", "", "127.0.0.1:0"},
	{"connect", "--proxy", "http://127.0.0.1:99999", "127.0.0.1:1"},
	// Issue 10: every numeric flag refuses what is meaningless.
	{"listen", "--max-conns", "-1", "127.0.0.1:0"},
	{"relay", "--max-conns", "-1", "127.0.0.1:0", "127.0.0.1:1"},
	{"listen", "--buffer", "-1", "127.0.0.1:0"},
	{"listen", "--buffer", "2G", "127.0.0.1:0"},
	{"connect", "--max-message", "0", "127.0.0.1:1"},
	{"connect", "--keepalive", "-1", "127.0.0.1:1"},
	{"connect", "--wait", "-1", "127.0.0.1:1"},
	{"connect", "-q", "-2", "127.0.0.1:1"},
	{"connect", "-d", "-1s", "127.0.0.1:1"},
	{"send", "--count", "-1", "127.0.0.1:1", "x"},
	{"send", "--count", "99999999999999999999", "127.0.0.1:1", "x"},
	{"send", "--interval", "-1", "127.0.0.1:1", "x"},
	{"bench", "-d", "0", "127.0.0.1:1"},
	{"bench", "-d", "25h", "127.0.0.1:1"},
	{"bench", "--interval", "-1", "127.0.0.1:1"},
	{"bench", "-c", "100001", "127.0.0.1:1"},
	{"bench", "--size", "65M", "127.0.0.1:1"},
	{"bench", "--depth", "4097", "127.0.0.1:1"},
	{"bench", "--mode", "udp", "--size", "8", "udp://127.0.0.1:1"},
	{"bench", "-w", "-1", "127.0.0.1:1"},
	{"ping", "-c", "-1", "127.0.0.1:1"},
	{"ping", "-i", "0", "127.0.0.1:1"},
	{"ping", "-w", "0", "127.0.0.1:1"},
	{"ping", "-s", "0", "127.0.0.1:1"},
	{"ping", "-s", "65508", "127.0.0.1:1"},
	{"scan", "-C", "0", "127.0.0.1", "1"},
	{"scan", "-C", "-1", "127.0.0.1", "1"},
	{"scan", "-w", "0", "127.0.0.1", "1"},
	{"scan", "127.0.0.1", "0"},
	{"scan", "127.0.0.1", "70000"},
	{"replay", "--conn", "-1", "x.jsonl", "127.0.0.1:1", "--as", "client"},
	{"relay", "--seed", "-1", "--impair", "delay=1ms", "127.0.0.1:0", "127.0.0.1:1"},
	// Empty values and typos.
	{"connect", "--proxy", "", "127.0.0.1:1"},
	{"connect", "--proxy", "127.0.0.1:1080", "127.0.0.1:1"},
	{"connect", "--proxy", "http://127.0.0.1:0", "127.0.0.1:1"},
	{"listen", "--forward", "", "127.0.0.1:0"},
	{"listen", "--reply", "", "127.0.0.1:0"},
	{"send", "--file", "", "127.0.0.1:1"},
	{"connect", "--record", "", "127.0.0.1:1"},
	{"connect", "--encoding", "", "127.0.0.1:1"},
	{"connect", "udp//127.0.0.1:1"},
	{"connect", "tpc://127.0.0.1:1"},
	{"connect", "127.0.0.1:nosuchservice"},
	{"conect", "127.0.0.1:1"},
	{"help", "conect"},
	{"connect", "--tiemout", "1", "127.0.0.1:1"},
	{"ui", "--addr", ""},
	// Options that were silently ignored.
	{"listen", "--cert", "/nonexistent", "127.0.0.1:0"},
	{"connect", "--pin", "AB:CD", "127.0.0.1:1"},
	{"ping", "--insecure", "127.0.0.1:1"},
	{"scan", "", "1"},
	{"send", "--wait", "1e10", "127.0.0.1:1", "x"},
}

// TestMalformedInvocations drives the binary with every command line in
// malformed (and the impair specs of relay once it exists) and checks
// exit 2, nothing on stdout, and one stderr line starting "sockit: "
// (plus at most one hint line), without a panic or stack trace.
func TestMalformedInvocations(t *testing.T) {
	t.Parallel()
	cases := append([][]string(nil), malformed...)
	cases = append(cases, relayMalformed(t)...)
	if len(cases) < 50 {
		t.Fatalf("only %d malformed invocations: want 50 or more", len(cases))
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			out, errOut, code := sockittest.Run(t, nil, 20*time.Second, args...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr: %s", code, errOut)
			}
			if out != "" {
				t.Errorf("stdout is not empty: %q", out)
			}
			oneErrorLine(t, errOut, "")
		})
	}
}

// relayMalformed are bad relay invocations, when relay exists in this build.
func relayMalformed(t *testing.T) [][]string {
	out, _, _ := sockittest.Run(t, nil, 10*time.Second, "relay", "--help")
	if !strings.Contains(out, "--impair") {
		return nil
	}
	var cases [][]string
	for _, spec := range []string{"", "delay", "delay=fast", "latency=5ms", "loss=2", "rate=10m", "chunk=0", "reset-after=0", "delay=1ms,delay=2ms"} {
		cases = append(cases, []string{"relay", "--impair", spec, "127.0.0.1:0", "127.0.0.1:1"})
	}
	return append(cases,
		[]string{"relay", "--impair", "loss=2%", "127.0.0.1:0", "127.0.0.1:1"},                // loss on TCP
		[]string{"relay", "--impair", "chunk=1-16", "udp://127.0.0.1:0", "udp://127.0.0.1:1"}, // chunk on UDP
		[]string{"relay", "--seed", "x", "--impair", "delay=1ms", "127.0.0.1:0", "127.0.0.1:1"},
	)
}

// TestStdinIsADirectory: sockit connect … < / is bad input: exit 2 and
// one line saying so (it was exit 1 and "readfrom tcp …: read
// /dev/stdin: is a directory").
func TestStdinIsADirectory(t *testing.T) {
	t.Parallel()
	echo := sockittest.Start(t, "listen", "-k", "--echo", "127.0.0.1:0")
	for _, args := range [][]string{
		{"connect", echo.Addr()},
		{"send", echo.Addr()},
	} {
		cmd := exec.Command(sockittest.Binary(t), args...)
		cmd.Stdin = mustOpen(t, t.TempDir())
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("%v: %v, want exit 2; stderr:\n%s", args, err, stderr.String())
			continue
		}
		oneErrorLine(t, stderr.String(), "sockit: stdin is a directory, not something to send")
	}
}

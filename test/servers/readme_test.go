package servers

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// shellWords is a README command line's words after "sockit" ("$ " and
// a trailing # comment dropped).
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	cmds := sockittest.ShellCommands(strings.TrimPrefix(line, "$ "))
	if len(cmds) != 1 || len(cmds[0]) == 0 || cmds[0][0] != "sockit" {
		t.Fatalf("not one sockit command: %q", line)
	}
	return cmds[0][1:]
}

// TestREADMESendExamples runs every `sockit send` example in README.md as
// printed (only the port changes, and servers listen on 127.0.0.1),
// against the README's own servers for it (issue 10: the PING example got
// no PONG, and the --exec 'while read' server never answered send).
func TestREADMESendExamples(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		readme[l] = true
	}
	var sendLines []string
	section := ""
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "## ") {
			section = l
		}
		if strings.HasPrefix(section, "## Common mistakes") {
			// test/interop TestREADMEMistakes runs that section's
			// commands against the tutorial's own programs.
			continue
		}
		if strings.HasPrefix(l, "sockit send ") || strings.HasPrefix(l, "$ sockit send ") {
			sendLines = append(sendLines, l)
		}
	}
	tested := map[string]bool{}

	for _, tc := range []struct {
		name   string
		server string // a README line: sockit listen …, or redis-server
		send   string // a README line
		check  func(t *testing.T, srv *sockittest.Proc, stdout, stderr string)
	}{
		{"udp-client", "sockit listen -u 8888", "sockit send udp://127.0.0.1:8888 hello",
			func(t *testing.T, srv *sockittest.Proc, _, stderr string) {
				srv.WaitStdout(t, "hello", func(s string) bool { return strings.Contains(s, "hello") })
				if !strings.Contains(stderr, "note: nothing came back") {
					t.Errorf("no note that nothing came back: %q", stderr)
				}
			}},
		{"udp-client-gbk", "sockit listen -u 8888", "sockit send --recv-encoding gbk udp://127.0.0.1:8888 hello",
			func(t *testing.T, srv *sockittest.Proc, _, _ string) {
				srv.WaitStdout(t, "hello", func(s string) bool { return strings.Contains(s, "hello") })
			}},
		{"tcp-client-gbk", "sockit listen 8888", "sockit send --encoding gbk 127.0.0.1:8888 你好",
			func(t *testing.T, srv *sockittest.Proc, _, _ string) {
				srv.WaitStdout(t, "你好 in GBK", func(s string) bool { return s == "\xc4\xe3\xba\xc3" })
			}},
		{"tcp-client-gbk-server", "sockit listen -k --encoding gbk 8888      # many clients, GBK text both ways", "sockit send --encoding gbk 127.0.0.1:8888 你好",
			func(t *testing.T, srv *sockittest.Proc, _, _ string) {
				srv.WaitStdout(t, "你好", func(s string) bool { return s == "你好" })
			}},
		{"json-ping", "sockit listen --frame line --respond '^PING=>PONG' --respond '^TIME=>{{time}}' --template --reply 'ERR unknown command' 7000",
			"$ sockit send --frame line --json 127.0.0.1:7000 PING",
			func(t *testing.T, _ *sockittest.Proc, stdout, _ string) {
				in := dataEvents(jsonLines(t, stdout), "in")
				if len(in) != 1 || in[0]["text"] != "PONG" {
					t.Errorf("replies %v, want PONG", in)
				}
			}},
		{"checksum-logger", "sockit listen -u --json --checksum crc16-modbus --verify-checksum 5020",
			"sockit send --checksum crc16-modbus --send-hex udp://127.0.0.1:5020 '01 03 00 00 00 0a'   # sends 01 03 00 00 00 0a c5 cd",
			func(t *testing.T, srv *sockittest.Proc, _, _ string) {
				out := srv.WaitStdout(t, "the datagram", func(s string) bool { return strings.Contains(s, `"dir":"in"`) })
				if !strings.Contains(out, `"hex":"01030000000ac5cd"`) || strings.Contains(out, `"event":"error"`) {
					t.Errorf("the server saw:\n%s", out)
				}
			}},
		{"modbus-device", "sockit listen -u --recv-encoding latin1 --respond '^\\x01\\x03=>hex:01 03 02 00 2a' --checksum crc16-modbus 5020   # a Modbus-like device",
			"sockit send --checksum crc16-modbus --send-hex udp://127.0.0.1:5020 '01 03 00 00 00 0a'   # sends 01 03 00 00 00 0a c5 cd",
			func(t *testing.T, _ *sockittest.Proc, stdout, _ string) {
				if !strings.HasPrefix(stdout, "\x01\x03\x02\x00\x2a") || len(stdout) != 7 {
					t.Errorf("reply %q, want 01 03 02 00 2a and its CRC", stdout)
				}
			}},
		{"redis", "redis-server", "sockit send 127.0.0.1:6379 'PING\\r\\n' --escapes --expect '^\\+PONG'",
			func(t *testing.T, _ *sockittest.Proc, stdout, _ string) {
				if stdout != "+PONG\r\n" {
					t.Errorf("reply %q", stdout)
				}
			}},
		{"numbered-lines", "sockit listen -u --exec 'while read -r l; do echo \"you said $l\"; done' 9000   # one process per UDP peer",
			"sockit send --count 10 --interval 1s --template --eol lf udp://127.0.0.1:9000 'reading {{seq}} at {{time}}'   # numbered lines; the --exec 'while read' server above answers each",
			func(t *testing.T, _ *sockittest.Proc, stdout, _ string) {
				if n := len(regexp.MustCompile(`you said reading \d+ at \d{4}-`).FindAllString(stdout, -1)); n != 10 {
					t.Errorf("%d answers, want 10:\n%s", n, stdout)
				}
			}},
	} {
		if !readme[tc.send] || (tc.server != "redis-server" && !readme[tc.server]) {
			t.Fatalf("%s: README.md no longer has the line\n%s\nor\n%s", tc.name, tc.send, tc.server)
		}
		tested[tc.send] = true
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var srv *sockittest.Proc
			var addr string
			if tc.server == "redis-server" {
				port := strconv.Itoa(sockittest.FreePort(t, false))
				srv = sockittest.StartCmd(t, exec.Command(sockittest.Need(t, "redis-server"),
					"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"))
				addr = "127.0.0.1:" + port
				sockittest.WaitPort(t, addr)
			} else {
				args := shellWords(t, tc.server)
				args[len(args)-1] = "127.0.0.1:0" // loopback, any port
				srv, addr = startSockit(t, args...)
			}
			args := shellWords(t, tc.send)
			for i, a := range args {
				args[i] = regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(a, addr)
			}
			stdout, stderr, code := sockittest.Run(t, nil, 30*time.Second, args...)
			if code != 0 {
				t.Fatalf("sockit %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
			}
			tc.check(t, srv, stdout, stderr)
		})
	}
	for _, l := range sendLines {
		if !tested[l] {
			t.Errorf("README example not tested here: %s", l)
		}
	}
}

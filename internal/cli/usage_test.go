package cli

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageErrors runs sockit in-process (run) for each way of asking
// for something that cannot be done, and checks the exit code and the
// whole of stderr: the one message and, where there is something to try,
// the hint line. Every rule between options (talk's) is here in the
// command line's words, with the options written as flags.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "t.txt")
	if err := os.WriteFile(notJSON, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s.sock")
	for _, c := range []struct {
		args       []string
		code       int
		msg, hint  string // stderr's two lines; hint "" for none
		hintPrefix bool   // hint is a prefix of the second line
	}{
		// talk's rules.
		{[]string{"connect", "--tls", "udp://127.0.0.1:9"}, 2, "--tls needs a TCP or ws:// endpoint, not udp", "", false},
		{[]string{"listen", "--tls", "unix://" + sock}, 2, "--tls needs a TCP or ws:// endpoint, not unix", "", false},
		{[]string{"connect", "--pin", "AB", "127.0.0.1:9"}, 2, "--pin applies to TLS, and tcp://127.0.0.1:9 is not a TLS endpoint",
			"Note that TLS options take a tls://, wss:// or dtls:// endpoint, or --tls.", false},
		{[]string{"connect", "--frame", "len16", "udp://127.0.0.1:9"}, 2, "--frame len16 is for streams, not udp",
			"Note that each UDP datagram (WebSocket message, DTLS record) is already one message; --frame line splits stdin into one message per line.", false},
		{[]string{"connect", "--verify-checksum", "127.0.0.1:9"}, 2, "--verify-checksum needs --checksum ALGO", "", false},
		{[]string{"connect", "--send-only", "--recv-only", "127.0.0.1:9"}, 2, "--send-only and --recv-only exclude each other", "", false},
		{[]string{"listen", "--source", "udp://127.0.0.1:0"}, 2, "--source sends a stream: it needs a TCP, TLS or Unix endpoint, not udp", "", false},
		{[]string{"listen", "--exec", " ", "127.0.0.1:0"}, 2, "--exec needs a command", "", false},
		{[]string{"listen", "--allow", "127.0.0.1", "unix://" + sock}, 2, "--allow and --deny check IP addresses; unix peers have none",
			"Note that Unix sockets are guarded by the socket file's permissions (chmod).", false},
		{[]string{"listen", "--forward", "udp://127.0.0.1:9", "127.0.0.1:0"}, 2,
			"cannot forward a stream (tcp://127.0.0.1:0) to datagrams (udp://127.0.0.1:9): a byte stream has no message boundaries to cut datagrams at",
			"Note that relay forwards stream", true},
		{[]string{"connect", "--frame", "lenn16", "127.0.0.1:9"}, 2, `bad --frame "lenn16": unknown framing "lenn16"`,
			"Did you mean len16? --frame takes raw, line, delim:HEX, fixed:N, len8, len16, len16le, len32 or len32le.", false},
		{[]string{"listen", "--respond", "no arrow", "127.0.0.1:0"}, 2, `bad --respond "no arrow": no "=>" between the pattern and the reply`,
			`Note that --respond takes 'PATTERN=>REPLY', as in --respond '^PING=>PONG\r\n' --escapes.`, false},
		{[]string{"listen", "--reply", `\q`, "--escapes", "127.0.0.1:0"}, 2, `--reply "\\q": unknown escape "\q" at offset 0`, "Note that", true},
		{[]string{"send", "--template", "127.0.0.1:9", strings.Repeat("{{rand:65536}}", 300)}, 2,
			"the template expands to up to 19660800 bytes, more than the 16777216 of --max-message",
			"Note that each {{rand:N}} and {{randhex:N}} adds N or 2N bytes; --max-message raises the limit.", false},
		{[]string{"connect", "--tls-min", "1.1", "tls://127.0.0.1:9"}, 2, `bad --tls-min "1.1": want 1.2 or 1.3`, "Note that sockit speaks TLS 1.2 and newer only.", false},
		{[]string{"connect", "-n", "localhost:9"}, 2, `connect tcp://localhost:9: host "localhost" is a name and -n/--no-dns forbids DNS`, "Note that -n/--no-dns takes IP addresses only.", false},
		{[]string{"connect", "--proxy", "http://127.0.0.1:99999", "127.0.0.1:9"}, 2, `bad --proxy "http://127.0.0.1:99999": port 99999 is out of range (0-65535)`,
			"Note that --proxy takes socks5://[user:pass@]HOST:PORT or http://[user:pass@]HOST:PORT.", false},
		{[]string{"relay", "--impair", "loss=2%", "127.0.0.1:0", "127.0.0.1:9"}, 2, "--impair loss applies to UDP datagrams, not TCP streams", "Note that TCP retransmits", true},
		{[]string{"relay", "--impair", "bogus=1", "127.0.0.1:0", "127.0.0.1:9"}, 2, `bad --impair: unknown fault "bogus"`, "Note that --impair takes KEY=VALUE,…: ", true},

		// The command line's own.
		{[]string{"connect", "-4", "-6", "127.0.0.1:9"}, 2, "-4 and -6 exclude each other", "", false},
		{[]string{"connect", "-C", "--eol", "lf", "127.0.0.1:9"}, 2, "-C and --eol lf disagree", "", false},
		{[]string{"connect", "--hex", "--json", "127.0.0.1:9"}, 2, "--hex and --json exclude each other", "Note that --json events carry the bytes as hex already.", false},
		{[]string{"listen", "--echo", "--chat", "127.0.0.1:0"}, 2, "--echo and --chat exclude each other: a server has one behaviour",
			"Note that --reply and --respond go together; the other behaviours do not.", false},
		{[]string{"relay", "--log", "--json", "127.0.0.1:0", "127.0.0.1:9"}, 2, "--log, --hex and --json exclude each other", "", false},
		{[]string{"relay", "--cert", "c.pem", "--key", "k.pem", "127.0.0.1:0", "127.0.0.1:9"}, 2, "--cert/--key are for a tls:// FROM, not tcp", "", false},
		{[]string{"relay", "--seed", "7", "127.0.0.1:0", "127.0.0.1:9"}, 2, "--seed without --impair", "Note that --seed repeats the random choices of --impair SPEC.", false},
		{[]string{"send", "--file", notJSON, "127.0.0.1:9", "data"}, 2, "give DATA or --file, not both", "", false},
		{[]string{"send", "--expect", "(", "127.0.0.1:9", "x"}, 2, "bad --expect: error parsing regexp: missing closing ): `(`", "", false},
		{[]string{"replay", notJSON, "127.0.0.1:9"}, 2, "replay needs --as client or --as server", "Note that --as client connects to EP, --as server listens on it.", false},
		{[]string{"replay", "--as", "client", "--escapes", notJSON, "127.0.0.1:9"}, 2, "--escapes does not apply to replay", "Note that replay sends the recorded bytes exactly as they were.", false},
		{[]string{"replay", "--as", "client", notJSON, "127.0.0.1:9"}, 2, "replay " + notJSON + ": line 1: invalid character 'h' looking for beginning of value", "Note that replay reads the JSON lines", true},
		{[]string{"connect", "--exec", "cat", "127.0.0.1:9"}, 2, "unknown flag: --exec", "Run 'sockit connect --help' for usage.", false},
		// nc's HOST PORT, written as netcat takes it.
		{[]string{"connect", "127.0.0.1", "9"}, 2, "connect needs one endpoint, such as 127.0.0.1:8888 or udp://127.0.0.1:8888",
			"Did you mean 127.0.0.1:9? sockit takes the host and port as one argument, HOST:PORT (nc takes HOST PORT).", false},
		{[]string{"connect", "-u", "::1", "9"}, 2, "connect needs one endpoint, such as 127.0.0.1:8888 or udp://127.0.0.1:8888",
			"Did you mean [::1]:9? sockit takes the host and port as one argument, HOST:PORT (nc takes HOST PORT).", false},
		{[]string{"listen", "127.0.0.1", "8888"}, 2, "listen needs one endpoint to listen on, such as 8888, :8888 or udp://0.0.0.0:8888",
			"Did you mean 127.0.0.1:8888? sockit takes the host and port as one argument, HOST:PORT (nc takes HOST PORT).", false},
		{[]string{"send", "localhost", "9", "hello"}, 2, "send needs an endpoint and optionally the data: sockit send udp://127.0.0.1:8888 hello",
			"Did you mean localhost:9? sockit takes the host and port as one argument, HOST:PORT (nc takes HOST PORT).", false},
		{[]string{"send", "localhost", "9"}, 2, "send needs an endpoint and optionally the data: sockit send udp://127.0.0.1:8888 hello",
			"Did you mean localhost:9? sockit takes the host and port as one argument, HOST:PORT (nc takes HOST PORT).", false},
		{[]string{"listen", "-l", "-p", "8888"}, 2, "unknown shorthand flag: 'l' in -l", "Note that nc -l is sockit listen PORT (-k to serve many clients, -u for UDP).", false},
		{[]string{"-l", "8888"}, 2, "unknown shorthand flag: 'l' in -l", "Note that nc -l is sockit listen PORT (-k to serve many clients, -u for UDP).", false},
		{[]string{"listen", "-p", "8888"}, 2, "unknown shorthand flag: 'p' in -p", "Note that the port is the endpoint: sockit listen PORT, not -p PORT.", false},
		{[]string{"connect", "-p", "5000", "127.0.0.1:9"}, 2, "unknown shorthand flag: 'p' in -p", "Note that the port to send from is -s/--source PORT (nc -p).", false},
		{[]string{"ping", "-p", "80", "127.0.0.1"}, 2, "unknown shorthand flag: 'p' in -p", "Note that the port is part of the endpoint: HOST:PORT, not -p PORT.", false},
		{[]string{"relay", "-p", "80", "127.0.0.1:1", "127.0.0.1:2"}, 2, "unknown shorthand flag: 'p' in -p", "Note that the port is part of the endpoint: HOST:PORT, not -p PORT.", false},
		{[]string{"scan", "-p", "80", "127.0.0.1"}, 2, "unknown shorthand flag: 'p' in -p", "Note that the ports follow the host: sockit scan HOST PORTS (22,80,8000-8100).", false},
		{[]string{"connect", "-e", "cat", "127.0.0.1:9"}, 2, "unknown shorthand flag: 'e' in -e", "Note that nc -e/-c is sockit listen --exec CMD PORT.", false},
		{[]string{"connect", "-z", "127.0.0.1:9"}, 2, "unknown shorthand flag: 'z' in -z", "Note that nc -z is sockit scan HOST PORTS.", false},
		{[]string{"connect", "-k", "127.0.0.1:9"}, 2, "unknown shorthand flag: 'k' in -k", "Note that -k keeps a server open for more clients: sockit listen -k PORT.", false},
		{[]string{"connect", "-Q", "127.0.0.1:9"}, 2, "unknown shorthand flag: 'Q' in -Q", "Run 'sockit connect --help' for usage.", false},
		{[]string{"listen", "8888", "9999"}, 2, "listen needs one endpoint to listen on, such as 8888, :8888 or udp://0.0.0.0:8888",
			"Run 'sockit listen --help' for examples.", false},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			out, stderr, code := runIn(t, c.args...)
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if code != c.code || out != "" {
				t.Errorf("exit %d, stdout %q; want %d and nothing", code, out, c.code)
			}
			if lines[0] != "sockit: "+c.msg {
				t.Errorf("message\n %q\nwant\n %q", lines[0], "sockit: "+c.msg)
			}
			switch {
			case c.hint == "" && len(lines) != 1:
				t.Errorf("stderr %q: want the message alone", stderr)
			case c.hint != "" && (len(lines) != 2 || !c.hintPrefix && lines[1] != c.hint || c.hintPrefix && !strings.HasPrefix(lines[1], c.hint)):
				t.Errorf("stderr %q: want the hint %q", stderr, c.hint)
			}
		})
	}
}

// TestRunExitCodes: refused and mismatched conversations, in-process, end
// with their codes and one line.
func TestRunExitCodes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	_, stderr, code := runIn(t, "connect", closed)
	if code != 3 || !strings.HasPrefix(stderr, "sockit: connect tcp://"+closed+": connection refused\nNote that nothing is listening there") {
		t.Errorf("refused: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = runIn(t, "send", "--wait", "0", "--expect", ".", "udp://"+closed, "x")
	if code != 1 && code != 3 {
		t.Errorf("send --expect with nothing back: exit %d, stderr %q", code, stderr)
	}
}

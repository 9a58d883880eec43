package servers

import (
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/checksum"
)

// pyUDPRecorder prints each datagram it gets as a hex line, and answers
// "ack".
const pyUDPRecorder = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 0))
print(s.getsockname()[1])
while True:
    d, a = s.recvfrom(65535)
    print(d.hex())
    s.sendto(b'ack', a)
`

// pyTCPRecorder prints, per connection, everything received as one hex
// line once the client has shut down its side.
const pyTCPRecorder = `
import socket, sys
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()
print(s.getsockname()[1])
while True:
    c, _ = s.accept()
    buf = b''
    while True:
        d = c.recv(4096)
        if not d: break
        buf += d
    print(buf.hex())
    c.close()
`

func hexLines(out string) []string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[1:] // the first line is the port
}

func unhex(t *testing.T, s string) string {
	t.Helper()
	var b []byte
	for i := 0; i+1 < len(s); i += 2 {
		var v byte
		for _, c := range s[i : i+2] {
			v <<= 4
			switch {
			case c >= '0' && c <= '9':
				v |= byte(c - '0')
			case c >= 'a' && c <= 'f':
				v |= byte(c - 'a' + 10)
			}
		}
		b = append(b, v)
	}
	return string(b)
}

func TestSendCountIntervalTemplate(t *testing.T) {
	t.Parallel()
	py, addr := python(t, pyUDPRecorder)
	start := time.Now()
	out, stderr, code := runSockit(t, "send", "udp://"+addr, "--count", "5", "--interval", "100ms", "--template", "msg {{seq}} at {{time}} {{hex:00ff}}", "--wait", "300ms")
	if code != 0 {
		t.Fatalf("exit %d %q", code, stderr)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("5 sends 100ms apart took %s", d)
	}
	if out != "ackackackackack" {
		t.Errorf("replies %q", out)
	}
	got := py.WaitStdout(t, "five datagrams", func(s string) bool { return len(hexLines(s)) >= 5 })
	re := regexp.MustCompile(`^msg (\d) at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)) $`)
	var last time.Time
	for i, h := range hexLines(got) {
		d := unhex(t, h)
		body, ok := strings.CutSuffix(d, "\x00\xff") // {{hex:00ff}}: raw bytes
		m := re.FindStringSubmatch(body)
		if !ok || m == nil || m[1] != string(rune('1'+i)) {
			t.Fatalf("datagram %d: %q", i+1, unhex(t, h))
		}
		ts, err := time.Parse("2006-01-02T15:04:05.000Z07:00", m[2])
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && ts.Sub(last) < 80*time.Millisecond {
			t.Errorf("datagram %d only %s after the one before", i+1, ts.Sub(last))
		}
		last = ts
	}
}

func TestSendChecksumModbus(t *testing.T) {
	t.Parallel()
	py, addr := python(t, pyTCPRecorder)
	_, stderr, code := runSockit(t, "send", addr, "--checksum", "crc16-modbus", "--send-hex", "01 03 00 00 00 0a", "--shutdown", "--wait", "0")
	if code != 0 {
		t.Fatalf("exit %d %q", code, stderr)
	}
	got := py.WaitStdout(t, "the frame", func(s string) bool { return len(hexLines(s)) >= 1 })
	if h := hexLines(got)[0]; h != "01030000000ac5cd" {
		t.Fatalf("sent %s, want 01030000000ac5cd", h)
	}
}

// --verify-checksum flags a received message whose checksum is wrong: in
// the log and as an error event in --json.
func TestVerifyChecksum(t *testing.T) {
	t.Parallel()
	p, addr := listen(t, "-u", "--json", "--checksum", "modbus", "--verify-checksum")
	runPython(t, 20*time.Second, `
import socket, sys
host, port = sys.argv[1].rsplit(':', 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(bytes.fromhex('01030000000ac5cd'), (host, int(port)))
s.sendto(bytes.fromhex('01030000000ac5ce'), (host, int(port)))
`, addr)
	out := p.WaitStdout(t, "two data events", func(s string) bool { return strings.Count(s, `"event":"data"`) >= 2 && strings.Contains(s, "checksum") })
	var errs []map[string]any
	for _, e := range jsonLines(t, out) {
		if e["event"] == "error" {
			errs = append(errs, e)
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0]["error"].(string), "checksum mismatch") {
		t.Fatalf("error events %v\n%s", errs, out)
	}
	// The good one answered by a device mock: --reply with --checksum.
	_, mock := listen(t, "-u", "--reply", "hex:01 03 02 00 2a", "--checksum", "crc16-modbus")
	out, stderr, code := runSockit(t, "send", "udp://"+mock, "--send-hex", "01 03 00 00 00 01", "--checksum", "crc16-modbus", "--verify-checksum", "--json")
	if code != 0 {
		t.Fatalf("exit %d %q", code, stderr)
	}
	in := dataEvents(jsonLines(t, out), "in")
	crc, _ := checksum.Lookup("crc16-modbus")
	want := hex.EncodeToString(crc.Append(nil, []byte{1, 3, 2, 0, 0x2a}))
	if len(in) != 1 || in[0]["hex"] != want || strings.Contains(out, `"event":"error"`) {
		t.Fatalf("reply %v, want hex %s and no error\n%s", in, want, out)
	}
}

// --verify-checksum in pipe mode, without -v or --json, still says so on
// stderr when a reply's checksum is wrong: the user asked for the check,
// and a hex dump of a corrupt Modbus reply looks just like a good one.
func TestVerifyChecksumPipeModeSaysMismatch(t *testing.T) {
	t.Parallel()
	// A device mock whose CRC bytes are wrong (00 00), over TCP like a
	// serial server, and a good one for contrast.
	_, bad := listen(t, "-k", "--reply", "hex:01 03 02 00 2a 00 00")
	_, good := listen(t, "-k", "--reply", "hex:01 03 02 00 2a", "--checksum", "crc16-modbus")
	for _, c := range []struct {
		cmd   []string
		stdin string
	}{
		{cmd: []string{"send", "--send-hex", "--hex"}},
		{cmd: []string{"send", "--send-hex"}},
		{cmd: []string{"connect", "--send-hex", "--hex"}, stdin: "01 03 00 00 00 01\n"},
	} {
		args := func(addr, wait string) []string {
			a := append(append([]string{}, c.cmd...), addr, "--checksum", "crc16-modbus", "--verify-checksum", "--wait", wait, "--expect", ".")
			if c.cmd[0] == "send" {
				a = append(a, "01 03 00 00 00 01")
			}
			return a
		}
		// A reply with a wrong CRC is no reply to expect: --expect . is
		// not met (exit 1), and the mismatch is said.
		_, stderr, code := sockittestRun(t, c.stdin, args(bad, "1s")...)
		if code != 1 || !strings.Contains(stderr, "checksum mismatch: crc16-modbus") || !strings.Contains(stderr, "--expect") {
			t.Errorf("%v to a reply with a wrong CRC: exit %d, stderr %q; want exit 1 and the mismatch said on stderr", c.cmd, code, stderr)
		}
		_, stderr, code = sockittestRun(t, c.stdin, args(good, "5s")...)
		if code != 0 || strings.Contains(stderr, "checksum") {
			t.Errorf("%v to a good reply: exit %d, stderr %q; want exit 0 and nothing said", c.cmd, code, stderr)
		}
	}
}

func TestConnectExpect(t *testing.T) {
	t.Parallel()
	_, banner := python(t, `
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()
print(s.getsockname()[1])
while True:
    c, _ = s.accept()
    c.sendall(b'SSH-2.0-OpenSSH_9.2 fake\r\n')
    time.sleep(600)  # then says nothing more and never closes
`)
	// A match ends the connection at once: a client that waited for
	// more would wait out --wait 10m, past Run's patience, and fail.
	start := time.Now()
	out, stderr, code := sockittestRun(t, "", "connect", banner, "--expect", `^SSH-2\.0-`, "--wait", "10m")
	if code != 0 || !strings.HasPrefix(out, "SSH-2.0-") {
		t.Fatalf("match: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	t.Logf("a match ended the connection after %s", time.Since(start))
	_, stderr, code = sockittestRun(t, "", "connect", banner, "--expect", `^HTTP/`, "--wait", "300ms")
	if code != 1 || !strings.Contains(stderr, `matched --expect "^HTTP/" within 300ms`) {
		t.Fatalf("no match: exit %d, stderr %q", code, stderr)
	}
	// The peer closes without a match.
	_, closer := listen(t, "--reply", "bye")
	_, stderr, code = sockittestRun(t, "hello", "connect", closer, "--expect", "welcome")
	if code != 1 || !strings.Contains(stderr, "closed the connection without a match") {
		t.Fatalf("closed: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code = sockittestRun(t, "", "connect", closer, "--expect", "(("); code != 2 || !strings.Contains(stderr, "bad --expect") {
		t.Fatalf("bad regexp: exit %d %q", code, stderr)
	}
}

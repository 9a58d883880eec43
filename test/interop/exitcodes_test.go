//go:build linux

package interop

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/sockittest"
)

// checkExit asserts the exit code, that stderr's first line is the one
// message matching want (at most a hint line follows), and that nothing
// looks like a panic.
func checkExit(t *testing.T, what string, code int, stderr string, wantCode int, want string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("%s: exit %d, want %d; stderr:\n%s", what, code, wantCode, stderr)
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if len(lines) > 2 {
		t.Errorf("%s: %d lines on stderr, want the message and at most a hint:\n%s", what, len(lines), stderr)
	}
	if !regexp.MustCompile(want).MatchString(lines[0]) {
		t.Errorf("%s: message %q does not match %q", what, lines[0], want)
	}
	noPanic(t, stderr)
}

// TestExitCodes goes through README "Exit codes", each code with its message.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	_, echo := sockitListen(t, "", "", "--echo", "127.0.0.1:0")
	_, sink := sockitListen(t, "", "", "--discard", "127.0.0.1:0")
	_, sinkUDP := sockitListen(t, "", "", "-u", "--discard", "127.0.0.1:0")
	closed := "127.0.0.1:" + strconv.Itoa(sockittest.FreePort(t, false))
	closedUDP := "127.0.0.1:" + strconv.Itoa(sockittest.FreePort(t, true))
	q := regexp.QuoteMeta

	cases := []struct {
		name  string
		stdin string
		args  []string
		code  int
		msg   string // regexp for the first line of stderr ("" for none)
	}{
		{"ok/connect", "hi\n", []string{"connect", echo}, 0, ""},
		{"ok/send-expect", "", []string{"send", "--expect", "^pi", echo, "ping"}, 0, ""},
		{"ok/version", "", []string{"version"}, 0, ""},

		{"1/expect-no-match", "", []string{"send", "--expect", "^pong", echo, "ping"}, 1,
			`^sockit: reply from tcp://` + q(echo) + ` did not match --expect "\^pong"$`},
		{"1/no-reply-within-wait", "", []string{"send", "--wait", "0.3", "--expect", ".", sink, "hello?"}, 1,
			`^sockit: no reply from tcp://` + q(sink) + ` within 300ms \(--wait\), so nothing matched --expect "\."$`},

		{"2/bad-endpoint", "", []string{"connect", "foo://127.0.0.1:1"}, 2, `^sockit: bad endpoint "foo://127.0.0.1:1": unknown scheme "foo"$`},
		{"2/port-range", "", []string{"connect", "127.0.0.1:70000"}, 2, `^sockit: bad endpoint "127.0.0.1:70000": port 70000 is out of range \(0-65535\)$`},
		{"2/missing-port", "", []string{"send", "127.0.0.1", "x"}, 2, `^sockit: bad endpoint "127.0.0.1": missing port`},
		{"2/bad-flag", "", []string{"connect", "--bogus", echo}, 2, `^sockit: unknown flag: --bogus$`},
		{"2/bad-flag-value", "", []string{"connect", "-w", "soon", echo}, 2, `^sockit: invalid argument "soon" for "-w, --timeout"`},
		{"2/unknown-command", "", []string{"frobnicate"}, 2, `^sockit: unknown command "frobnicate" for "sockit"$`},
		{"2/no-endpoint", "", []string{"connect"}, 2, `^sockit: connect needs one endpoint`},
		{"2/bad-encoding", "", []string{"connect", "--encoding", "klingon", echo}, 2, `^sockit: unknown encoding "klingon"$`},
		// Bad hex is found before connecting: with nothing listening it is
		// still 2, not 3.
		{"2/bad-send-hex", "", []string{"send", "--send-hex", closed, "48 6z"}, 2, `^sockit: .*hex.*`},
		{"2/bad-send-hex-piped", "48 6z\n", []string{"connect", "--send-hex", echo}, 2, `^sockit: .*hex.*`},
		{"2/frame-on-udp", "", []string{"connect", "--frame", "len16", "udp://127.0.0.1:9"}, 2, `^sockit: --frame len16 is for streams, not udp$`},
		{"2/ipv4-only-with-ipv6-literal", "", []string{"connect", "-4", "[::1]:9"}, 2, `^sockit: bad endpoint "\[::1\]:9": IPv6 address ::1 with an IPv4-only scheme or -4$`},
		{"2/ipv6-without-brackets", "", []string{"connect", "::1:9"}, 2, `^sockit: bad endpoint "::1:9": IPv6 addresses need brackets: \[::1\]:9$`},
		{"2/send-only-and-recv-only", "", []string{"connect", "--send-only", "--recv-only", echo}, 2, `^sockit: --send-only and --recv-only exclude each other$`},

		{"3/refused-tcp", "x", []string{"connect", closed}, 3, `^sockit: connect tcp://` + q(closed) + `: connection refused$`},
		{"3/refused-udp-connect", "x\n", []string{"connect", "-u", closedUDP}, 3,
			`^sockit: recv udp://` + q(closedUDP) + `: connection refused \(an ICMP port unreachable came back: nothing listens on that UDP port\)$`},
		{"3/refused-udp-send", "", []string{"send", "udp://" + closedUDP, "x"}, 3, `^sockit: recv udp://` + q(closedUDP) + `: connection refused`},
		{"3/host-not-found", "x", []string{"connect", "no-such-host.invalid:80"}, 3, `^sockit: connect tcp://no-such-host.invalid:80: lookup no-such-host.invalid: no such host$`},
		{"3/send-host-not-found", "", []string{"send", "udp://nowhere.invalid:53", "x"}, 3, `no such host$`},
		// Issue 10: these exited 1, which is --expect's. Where localhost
		// has no IPv6 address the resolver finds none of that family;
		// where it has ::1, nothing listens on the port. Either is 3.
		{"3/ipv6-only-localhost", "x", []string{"connect", "-6", "localhost:" + closed[strings.LastIndexByte(closed, ':')+1:]}, 3,
			`^sockit: connect tcp6://localhost:\d+: (address localhost: no suitable address found|connection refused)$`},
		{"3/tcp6-localhost", "x", []string{"connect", "tcp6://localhost:" + closed[strings.LastIndexByte(closed, ':')+1:]}, 3,
			`^sockit: connect tcp6://localhost:\d+: (address localhost: no suitable address found|connection refused)$`},
		{"3/refused-proxy", "x", []string{"connect", "--proxy", "socks5://" + closed, echo}, 3,
			`^sockit: connect tcp://` + q(echo) + `: socks5 proxy ` + q(closed) + `: connection refused$`},
		{"2/bad-proxy-port", "x", []string{"connect", "--proxy", "http://127.0.0.1:99999", echo}, 2,
			`^sockit: bad --proxy "http://127.0.0.1:99999": port 99999 is out of range \(0-65535\)$`},
	}
	t.Run("ok/send-no-reply", func(t *testing.T) {
		// Fire and forget (syslog, a device that only listens) is not a
		// failure without --expect (README "Exit codes"): exit 0, and a note.
		t.Parallel()
		for _, ep := range []string{sink, "udp://" + sinkUDP} {
			_, stderr, code := run(t, "", "send", "--wait", "0.3", ep, "hello?")
			if code != 0 || !regexp.MustCompile(`^sockit: note: nothing came back from .* within 300ms \(--wait\); --expect \. makes a reply required\n$`).MatchString(stderr) {
				t.Errorf("send to %s that never answers: exit %d, stderr %q; want 0 and the note", ep, code, stderr)
			}
		}
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, stderr, code := run(t, tc.stdin, tc.args...)
			if tc.msg == "" {
				if code != tc.code || stderr != "" {
					t.Errorf("exit %d (want %d), stderr %q", code, tc.code, stderr)
				}
				return
			}
			checkExit(t, strings.Join(tc.args, " "), code, stderr, tc.code, tc.msg)
			if tc.code >= 3 && tc.code <= 6 && len(strings.Split(strings.TrimRight(stderr, "\n"), "\n")) != 2 {
				t.Errorf("%s: no what-to-try line after the error:\n%s", tc.name, stderr)
			}
		})
	}

	t.Run("4/connect-timeout", func(t *testing.T) {
		t.Parallel()
		addr := fullBacklog(t)
		t0 := time.Now()
		_, stderr, code := run(t, "x", "connect", "-w", "1", addr)
		checkExit(t, "connect -w 1 to a full backlog", code, stderr, 4, `^sockit: connect tcp://`+q(addr)+`: timed out$`)
		// Without -w, connect would wait for the kernel (minutes), past
		// run's patience: the test would fail there.
		if d := time.Since(t0); d < 900*time.Millisecond {
			t.Errorf("-w 1 timed out after %s", d)
		}
		_, stderr, code = run(t, "", "send", "-w", "0.5", addr, "x")
		checkExit(t, "send -w 0.5 to a full backlog", code, stderr, 4, `timed out$`)
	})

	t.Run("4/idle-timeout", func(t *testing.T) {
		t.Parallel()
		// A server that answers and then says nothing more, and a client
		// that keeps its side open: -i 1 ends the quiet session. The hint
		// names -i, the limit that ran out, not -w/--timeout (for a peer
		// that never answered): this one did.
		_, addr := sockitListen(t, "", "", "-k", "--reply", "x", "127.0.0.1:0")
		_, stderr, code := run(t, "hello\n", "connect", "--no-shutdown", "-i", "1", addr)
		checkExit(t, "connect -i 1 to a server gone quiet", code, stderr, 4, `^sockit: idle timeout: no traffic for 1s$`)
		if !strings.Contains(stderr, "\nNote that -i/--idle-timeout ") {
			t.Errorf("the hint does not name -i/--idle-timeout:\n%s", stderr)
		}
	})

	t.Run("5/tls", func(t *testing.T) {
		t.Parallel()
		srv, addr := sockitListen(t, "", "", "-k", "--echo", "tls://127.0.0.1:0")
		fp := regexp.MustCompile(`--pin ([0-9A-F:]{95})`).FindStringSubmatch(srv.Stderr())
		if fp == nil {
			t.Fatalf("no fingerprint on stderr:\n%s", srv.Stderr())
		}
		_, stderr, code := run(t, "hi\n", "connect", "tls://"+addr)
		checkExit(t, "unknown authority", code, stderr, 5,
			`^sockit: connect tls://`+q(addr)+`: TLS handshake failed: unknown authority: the certificate is not signed by a CA in the system roots or the CA file \(issuer "CN=sockit ephemeral"\)$`)
		if !strings.Contains(stderr, "--pin") {
			t.Errorf("no hint about --pin/--ca/--insecure: %q", stderr)
		}
		wrong := strings.Repeat("AB:", 31) + "AB"
		_, stderr, code = run(t, "hi\n", "connect", "--pin", wrong, "tls://"+addr)
		checkExit(t, "pin mismatch", code, stderr, 5, `^sockit: connect tls://`+q(addr)+`: TLS handshake failed: certificate pin mismatch: the server's certificate has SHA256 `+fp[1]+`, the pin given is `+wrong+`$`)
		if want := "\nNote that --pin " + fp[1] + " accepts exactly this certificate; compare it with the fingerprint the server printed.\n"; !strings.HasSuffix(stderr, want) {
			t.Errorf("pin mismatch: stderr %q does not end with %q", stderr, want)
		}
		out, stderr, code := run(t, "hi\n", "connect", "--pin", fp[1], "tls://"+addr)
		if code != 0 || out != "hi\n" {
			t.Errorf("right pin: exit %d, stdout %q; stderr:\n%s", code, out, stderr)
		}
	})

	t.Run("6/reset-mid-stream", func(t *testing.T) {
		t.Parallel()
		// A server that sends a little, then closes with SO_LINGER 0: the
		// kernel sends RST instead of FIN.
		const resetter = `
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
c.sendall(b"partial answer")
c.recv(1)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()
`
		for _, mode := range []string{"receiving", "sending"} {
			py, p := pyPort(t, resetter)
			addr := "127.0.0.1:" + strconv.Itoa(p)
			sk := sockittest.Start(t, "connect", addr)
			if mode == "sending" {
				go func() {
					chunk := make([]byte, 64<<10)
					for i := 0; i < 1024; i++ { // up to 64 MiB, until the reset breaks the pipe
						if _, err := sk.Stdin.Write(chunk); err != nil {
							return
						}
					}
				}()
			} else {
				sk.Stdin.Write([]byte("x"))
			}
			code := sk.Wait(30 * time.Second)
			checkExit(t, "reset while "+mode, code, sk.Stderr(), 6,
				`^sockit: (recv|send) tcp://`+q(addr)+`: (connection reset by peer|broken pipe)$`)
			exitCode(t, py, 0, "python resetter")
		}
	})

	t.Run("130/sigint", func(t *testing.T) {
		t.Parallel()
		srv, addr := sockitListen(t, "", "", "127.0.0.1:0")
		cli := sockittest.Start(t, "connect", addr)
		srv.WaitStderr("connected", 10*time.Second)
		cli.Interrupt()
		if code := cli.Wait(10 * time.Second); code != 130 || strings.TrimSpace(cli.Stderr()) != "sockit: interrupted" {
			t.Errorf("connect after SIGINT: exit %d, stderr %q; want 130, sockit: interrupted", code, cli.Stderr())
		}
		// The client left: listen (one client) ends with it.
		exitCode(t, srv, 0, "sockit listen after its client left")

		srv2, _ := sockitListen(t, "", "", "-k", "127.0.0.1:0")
		srv2.Interrupt()
		code := srv2.Wait(10 * time.Second)
		lines := strings.Split(strings.TrimSpace(srv2.Stderr()), "\n")
		if code != 130 || lines[len(lines)-1] != "sockit: interrupted" {
			t.Errorf("listen -k after SIGINT: exit %d, stderr:\n%s", code, srv2.Stderr())
		}
		noPanic(t, srv2.Stderr())
	})
}

// fullBacklog returns the address of a TCP listener whose accept queue is
// full: listen(2) with backlog 0 queues one connection, the test makes it
// and never accepts, and from then on the kernel drops new SYNs (it does
// not refuse them), so a connect hangs until its timeout. Loopback only,
// no namespace or firewall rule needed.
func fullBacklog(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port)
	for i := 0; i < 16; i++ {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			var ne net.Error
			if errorsAs(err, &ne) && ne.Timeout() {
				return addr // the queue is full: SYNs are being dropped
			}
			t.Fatalf("filling the backlog: %v", err)
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("the accept queue never filled")
	return ""
}

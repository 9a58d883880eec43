package servers

import (
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

var pinRE = regexp.MustCompile(`--pin ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})\b`)

// For a self-signed certificate the hint offers the --pin that accepts it
// (the fingerprint listen --tls printed, in the same form) and
// --insecure, not --sni; pasting the hint's --pin works.
func TestTLSHintOffersThePin(t *testing.T) {
	t.Parallel()
	openssl := sockittest.Need(t, "openssl")
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "ss.pem"), filepath.Join(dir, "ss.key")
	if out, err := exec.Command(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=foo.test", "-addext", "subjectAltName=DNS:foo.test").CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		name   string
		listen []string
		host   string
		cause  string
	}{
		{"ephemeral", []string{"-k", "--echo", "--tls"}, "127.0.0.1", "unknown authority"},
		{"self-signed for another name", []string{"-k", "--echo", "--tls", "--cert", cert, "--key", key}, "localhost", "name mismatch: certificate is valid for foo.test, not localhost (and the certificate is self-signed)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, addr := listen(t, append(tc.listen, "127.0.0.1:0")...)
			ep := "tls://" + tc.host + ":" + port(addr)
			_, stderr, code := sockittestRun(t, "hi\n", "connect", ep)
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if code != 5 || len(lines) != 2 || !strings.Contains(lines[0], tc.cause) || strings.Contains(stderr, "--sni") {
				t.Fatalf("exit %d, stderr %q; want exit 5, %q, a hint and no --sni", code, stderr, tc.cause)
			}
			m := pinRE.FindStringSubmatch(lines[1])
			if m == nil || !strings.HasPrefix(lines[1], "Note that the certificate is self-signed: --pin ") || !strings.Contains(lines[1], "--insecure") {
				t.Fatalf("hint %q: want the --pin and --insecure", lines[1])
			}
			if printed := pinRE.FindStringSubmatch(p.Stderr()); printed != nil && printed[1] != m[1] {
				t.Errorf("the hint's pin %s is not the one listen printed, %s", m[1], printed[1])
			}
			out, stderr, code := sockittestRun(t, "hi\n", "connect", "--pin", m[1], ep)
			if code != 0 || out != "hi\n" {
				t.Fatalf("with the hint's --pin: exit %d, %q, %q", code, out, stderr)
			}
		})
	}
}

// listen --tls for one client runs the handshakes side by side: idle
// connections that never start one do not hold up the real client (each
// used to cost it the 10s handshake timeout: three, 29.6s), and once it
// is through they are refused and closed at once. Seven of them would
// cost 70s, past Run's patience: a client held up fails the test.
func TestListenTLSIdleConnectionsDoNotDelayTheClient(t *testing.T) {
	t.Parallel()
	p, addr := listen(t, "--tls", "127.0.0.1:0")
	var idle []net.Conn
	for i := 0; i < 7; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	start := time.Now()
	_, stderr, code := sockittestRun(t, "", "send", "--insecure", "--wait", "0", "tls://"+addr, "hello")
	if code != 0 {
		t.Fatalf("send: exit %d, %q", code, stderr)
	}
	t.Logf("the client's whole run took %s behind 7 idle connections", time.Since(start))
	p.WaitStdout(t, "hello", func(s string) bool { return s == "hello" })
	// Refused with a reset, as any refused client is; one left to its
	// handshake timeout would be closed with a FIN 10s later instead.
	for i, c := range idle {
		c.SetReadDeadline(time.Now().Add(sockittest.Patience))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("idle connection %d: %v; want it reset once the client got through", i, err)
		}
	}
	if code := p.Wait(30 * time.Second); code != 0 {
		t.Errorf("listen exit %d", code)
	}
}

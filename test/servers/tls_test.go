package servers

import (
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
	"github.com/sockit/sockit/internal/testpki"
)

// opensslServer starts openssl s_server on a free loopback port with args
// and returns its address once it accepts connections.
func opensslServer(t *testing.T, args ...string) string {
	t.Helper()
	openssl := sockittest.Need(t, "openssl")
	addr := "127.0.0.1:" + strconv.Itoa(sockittest.FreePort(t, false))
	p := sockittest.StartCmd(t, exec.Command(openssl, append([]string{"s_server", "-accept", addr}, args...)...))
	sockittest.Eventually(t, "openssl s_server starts", func() bool { return strings.Contains(p.Stdout(), "ACCEPT") })
	return addr
}

// opensslClient starts openssl s_client to addr with args; the test writes
// to its Stdin and reads its Stdout.
func opensslClient(t *testing.T, addr string, args ...string) *sockittest.Proc {
	t.Helper()
	openssl := sockittest.Need(t, "openssl")
	return sockittest.StartCmd(t, exec.Command(openssl, append([]string{"s_client", "-connect", addr}, args...)...))
}

// wantExit5 runs sockit and checks it fails with exit code 5 and a line
// that says what failed.
func wantExit5(t *testing.T, says string, args ...string) {
	t.Helper()
	_, stderr, code := sockittestRun(t, "hello\n", args...)
	if code != 5 || !strings.Contains(stderr, says) {
		t.Errorf("sockit %s: exit %d, stderr %q; want exit 5 saying %q", strings.Join(args, " "), code, stderr, says)
	}
	if lines := strings.Count(strings.TrimSpace(stderr), "\n") + 1; lines > 2 {
		t.Errorf("more than a line and a hint: %q", stderr)
	}
}

func TestTLSOpensslClientToSockitServer(t *testing.T) {
	t.Parallel()
	k := testpki.Standard(t)
	_, addr := listen(t, "-k", "--tls", "--cert", k.Cert, "--key", k.Key, "--frame", "line", "--reply", "hello from sockit", "--alpn", "x-sockit,h2")
	c := opensslClient(t, addr, "-CAfile", k.CA, "-verify_return_error", "-servername", "localhost", "-alpn", "x-sockit")
	c.Stdin.Write([]byte("hi\n"))
	out := c.WaitStdout(t, "the reply", func(s string) bool { return strings.Contains(s, "hello from sockit\n") })
	c.Stdin.Close()
	for _, want := range []string{"Verify return code: 0 (ok)", "ALPN protocol: x-sockit"} {
		if !strings.Contains(out, want) {
			t.Errorf("s_client output lacks %q:\n%s", want, out)
		}
	}
}

func TestTLSSockitClientToOpensslServer(t *testing.T) {
	t.Parallel()
	k := testpki.Standard(t)
	addr := opensslServer(t, "-cert", k.Cert, "-key", k.Key, "-rev", "-alpn", "h2")
	out, stderr, code := runSockit(t, "send", "tls://"+addr, "--ca", k.CA, "--alpn", "h2", "--trace", `hello\n`, "--escapes", "--expect", "olleh")
	if code != 0 || !strings.Contains(out, "olleh") || !strings.Contains(stderr, `alpn "h2"`) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	// tls://localhost also matches the certificate's DNS name.
	if _, stderr, code := runSockit(t, "send", "tls://localhost:"+port(addr), "--ca", k.CA, `abc\n`, "--escapes", "--expect", "cba"); code != 0 {
		t.Fatalf("localhost: exit %d %q", code, stderr)
	}
}

func TestTLSFailuresSayWhatFailed(t *testing.T) {
	t.Parallel()
	k := testpki.Standard(t)
	addr := opensslServer(t, "-cert", k.Cert, "-key", k.Key, "-rev")
	wantExit5(t, "unknown authority", "connect", "tls://"+addr)
	wantExit5(t, "name mismatch: certificate is valid for localhost, not other.test", "connect", "tls://"+addr, "--ca", k.CA, "--sni", "other.test")
	wantExit5(t, "certificate pin mismatch", "connect", "tls://"+addr, "--pin", strings.Repeat("ab", 32))

	// A server that stops at TLS 1.2, and a client that wants 1.3.
	addr12 := opensslServer(t, "-cert", k.Cert, "-key", k.Key, "-tls1_2")
	wantExit5(t, "protocol version", "connect", "tls://"+addr12, "--ca", k.CA, "--tls-min", "1.3")
	if _, stderr, code := sockittestRun(t, "x\n", "connect", "tls://"+addr12, "--ca", k.CA, "-w", "5s"); code != 0 {
		t.Errorf("TLS 1.2 with the default minimum: exit %d %q", code, stderr)
	}
	// TLS 1.1 is refused.
	addr11 := opensslServer(t, "-cert", k.Cert, "-key", k.Key, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
	wantExit5(t, "protocol version", "connect", "tls://"+addr11, "--ca", k.CA)
}

// An old client is refused and logged; the server goes on.
func TestTLSServerRefusesOldVersions(t *testing.T) {
	t.Parallel()
	k := testpki.Standard(t)
	p, addr := listen(t, "--tls", "--cert", k.Cert, "--key", k.Key, "--echo")
	for _, v := range []string{"-tls1", "-tls1_1"} {
		c := opensslClient(t, addr, v, "-cipher", "DEFAULT@SECLEVEL=0")
		c.Stdin.Close()
		c.Wait(15 * time.Second)
	}
	p.WaitStderr("tls handshake failed: no TLS version in common", 10*time.Second)
	out, stderr, code := runSockit(t, "send", "tls://"+addr, "--ca", k.CA, "still here", "--expect", "still here")
	if code != 0 {
		t.Fatalf("after the refusals: exit %d %q %q", code, out, stderr)
	}
}

func TestTLSEphemeralCertAndPin(t *testing.T) {
	t.Parallel()
	// listen without -k: a client that rejects the certificate does not use
	// up the one conversation.
	p, addr := listen(t, "--tls", "--reply", "pinned")
	m := regexp.MustCompile(`fingerprint ([0-9A-F:]{95})`).FindStringSubmatch(p.Stderr())
	if m == nil {
		t.Fatalf("no fingerprint on stderr:\n%s", p.Stderr())
	}
	wantExit5(t, "unknown authority", "connect", "tls://"+addr)
	wantExit5(t, "pin mismatch", "connect", "tls://"+addr, "--pin", strings.Repeat("00:", 31)+"00")
	p.WaitStderr("tls handshake failed", 10*time.Second)
	out, stderr, code := runSockit(t, "send", "tls://"+addr, "--pin", m[1], "x", "--expect", "pinned")
	if code != 0 {
		t.Fatalf("--pin %s: exit %d %q %q", m[1], code, out, stderr)
	}
}

func TestTLSNcat(t *testing.T) {
	t.Parallel()
	ncat := sockittest.Need(t, "ncat")
	k := testpki.Standard(t)
	// ncat --ssl client, verifying sockit's CA-signed certificate.
	_, addr := listen(t, "-k", "--tls", "--cert", k.Cert, "--key", k.Key, "--echo")
	// (ncat 7.93 checks the name only against DNS names: use localhost.)
	out := ncatSend(t, "localhost:"+port(addr), []byte("through ncat --ssl\n"), "--ssl", "--ssl-verify", "--ssl-trustfile", k.CA)
	if string(out) != "through ncat --ssl\n" {
		t.Fatalf("ncat --ssl got %q", out)
	}
	// ncat --ssl server, sockit client.
	nport := strconv.Itoa(sockittest.FreePort(t, false))
	n := sockittest.StartCmd(t, exec.Command(ncat, "--ssl", "--ssl-cert", k.Cert, "--ssl-key", k.Key, "-l", "127.0.0.1", nport))
	var stderr string
	code := -1
	sockittest.Until(func() bool {
		// ncat may not be listening yet: connection refused is exit 3.
		_, stderr, code = sockittestRun(t, "from sockit\n", "connect", "tls://localhost:"+nport, "--ca", k.CA)
		return code != 3
	})
	if code != 0 {
		t.Fatalf("sockit to ncat --ssl -l: exit %d %q", code, stderr)
	}
	n.WaitStdout(t, "what sockit sent", func(s string) bool { return s == "from sockit\n" })
}

func TestTLSClientCertificates(t *testing.T) {
	t.Parallel()
	k := testpki.Standard(t)
	p, addr := listen(t, "-k", "--tls", "--cert", k.Cert, "--key", k.Key, "--ca", k.CA, "--reply", "welcome")
	out, stderr, code := runSockit(t, "send", "tls://"+addr, "--ca", k.CA, "--client-cert", k.ClientCert, "--client-key", k.ClientKey, "hi", "--expect", "welcome")
	if code != 0 {
		t.Fatalf("with a client certificate: exit %d %q %q", code, out, stderr)
	}
	wantExit5(t, "client certificate", "send", "tls://"+addr, "--ca", k.CA, "hi")
	p.WaitStderr("the client sent no certificate", 10*time.Second)
	// openssl s_client with the certificate.
	c := opensslClient(t, addr, "-CAfile", k.CA, "-cert", k.ClientCert, "-key", k.ClientKey, "-quiet")
	c.Stdin.Write([]byte("hello\n"))
	c.WaitStdout(t, "the reply", func(s string) bool { return strings.Contains(s, "welcome") })
	c.Stdin.Close()
}

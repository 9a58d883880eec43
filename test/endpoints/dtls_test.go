package endpoints

import (
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/sockittest"
	"github.com/sockit/sockit/internal/testpki"
)

// opensslServer starts openssl s_server -dtls with cf's server
// certificate on a free UDP port of 127.0.0.1 and returns it and its port
// once it accepts.
func opensslServer(t *testing.T, cf testpki.Files, args ...string) (*sockittest.Proc, string) {
	t.Helper()
	openssl := sockittest.Need(t, "openssl")
	port := strconv.Itoa(sockittest.FreePort(t, true))
	cmd := exec.Command(openssl, append([]string{"s_server", "-dtls", "-accept", "127.0.0.1:" + port, "-cert", cf.Cert, "-key", cf.Key}, args...)...)
	p := sockittest.StartCmd(t, cmd)
	p.WaitStdout(t, "that openssl s_server started (ACCEPT)", func(s string) bool { return strings.Contains(s, "ACCEPT") })
	return p, port
}

// TestDTLSClientAgainstOpenSSL: sockit's DTLS client against openssl
// s_server -dtls, verified by --ca, by --pin, or not at all (--insecure);
// an unverifiable server is a TLS failure (exit 5).
func TestDTLSClientAgainstOpenSSL(t *testing.T) {
	t.Parallel()
	cf := testpki.Standard(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"ca", []string{"--ca", cf.CA}},
		{"pin", []string{"--pin", fingerprint(t, cf.Cert)}},
		{"insecure", []string{"--insecure"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, port := opensslServer(t, cf)
			c := sockittest.Start(t, append([]string{"send", "dtls://127.0.0.1:" + port, "hello over dtls", "--wait", "30s"}, tc.args...)...)
			printed := sockittest.Until(func() bool {
				if strings.Contains(srv.Stdout(), "hello over dtls") {
					return true
				}
				select {
				case <-c.Done():
					t.Fatalf("sockit ended first: %s", c.Stderr())
				default:
				}
				return false
			})
			if !printed {
				t.Fatalf("s_server never printed the message; its stdout:\n%s\nsockit stderr:\n%s", srv.Stdout(), c.Stderr())
			}
			io.WriteString(srv.Stdin, "reply from openssl\n")
			if !sockittest.Until(func() bool { return strings.Contains(c.Stdout(), "reply from openssl\n") }) {
				t.Fatalf("sockit did not print the reply; stdout %q; stderr:\n%s", c.Stdout(), c.Stderr())
			}
			c.Interrupt()
			c.Wait(30 * time.Second)
		})
	}
	t.Run("unknown authority", func(t *testing.T) {
		_, port := opensslServer(t, cf)
		_, errOut, code := sockittest.Run(t, nil, 60*time.Second, "send", "dtls://127.0.0.1:"+port, "x")
		if code != exitcode.TLS || !strings.Contains(errOut, "DTLS handshake failed") {
			t.Errorf("unverified server: exit %d, want %d; stderr:\n%s", code, exitcode.TLS, errOut)
		}
	})
}

// TestDTLSServerAgainstOpenSSL: sockit listen dtls:// --echo, and openssl
// s_client -dtls verifying its certificate; with --ca the server wants a
// client certificate.
func TestDTLSServerAgainstOpenSSL(t *testing.T) {
	t.Parallel()
	openssl := sockittest.Need(t, "openssl")
	cf := testpki.Standard(t)
	srv := sockittest.Start(t, "listen", "dtls://127.0.0.1:0", "--echo", "-k", "-v", "--cert", cf.Cert, "--key", cf.Key)
	addr := srv.Addr()
	cl := sockittest.StartCmd(t, exec.Command(openssl, "s_client", "-dtls", "-connect", addr, "-CAfile", cf.CA, "-verify_return_error", "-quiet"))
	io.WriteString(cl.Stdin, "ping over dtls\n")
	echoed := sockittest.Until(func() bool {
		if strings.Contains(cl.Stdout(), "ping over dtls") {
			return true
		}
		select {
		case <-cl.Done():
			t.Fatalf("s_client ended: %s", cl.Stderr())
		default:
		}
		return false
	})
	if !echoed {
		t.Fatalf("no echo at s_client; its stderr:\n%s\nsockit stderr:\n%s", cl.Stderr(), srv.Stderr())
	}
	cl.Stdin.Close()

	t.Run("client certificate", func(t *testing.T) {
		srv := sockittest.Start(t, "listen", "dtls://127.0.0.1:0", "--echo", "-k", "-v", "--cert", cf.Cert, "--key", cf.Key, "--ca", cf.CA)
		addr := srv.Addr()
		cl := sockittest.StartCmd(t, exec.Command(openssl, "s_client", "-dtls", "-connect", addr, "-CAfile", cf.CA, "-cert", cf.ClientCert, "-key", cf.ClientKey, "-quiet"))
		io.WriteString(cl.Stdin, "with a certificate\n")
		if !sockittest.Until(func() bool { return strings.Contains(cl.Stdout(), "with a certificate") }) {
			t.Fatalf("no echo with a client certificate; s_client stderr:\n%s\nsockit stderr:\n%s", cl.Stderr(), srv.Stderr())
		}
		cl.Stdin.Close()
		// Without one, the handshake fails and the server says why.
		bare := sockittest.StartCmd(t, exec.Command(openssl, "s_client", "-dtls", "-connect", addr, "-CAfile", cf.CA, "-quiet"))
		io.WriteString(bare.Stdin, "x\n")
		srv.WaitStderr("handshake failed", 60*time.Second)
	})
}

// TestDTLSByteExact: 200 KB out and back through sockit's own DTLS server
// and client, in records of at most 16 KiB each.
func TestDTLSByteExact(t *testing.T) {
	t.Parallel()
	cf := testpki.Standard(t)
	srv := sockittest.Start(t, "listen", "dtls://127.0.0.1:0", "--echo", "-k", "--cert", cf.Cert, "--key", cf.Key)
	addr := srv.Addr()
	data := make([]byte, 200_000)
	rand.Read(data)
	file := filepath.Join(t.TempDir(), "data.bin")
	os.WriteFile(file, data, 0o600)
	out, errOut, code := sockittest.Run(t, nil, 60*time.Second, "send", "dtls://"+addr, "--file", file, "--ca", cf.CA, "--wait", "3s")
	if code != 0 || sum([]byte(out)) != sum(data) {
		t.Fatalf("dtls echo of %d bytes: exit %d, %d bytes back, intact %v; stderr:\n%s", len(data), code, len(out), sum([]byte(out)) == sum(data), errOut)
	}
}

// TestDTLSRefused: a DTLS client to a UDP port where nothing listens is
// refused (exit 3), said in one line without the socket layers.
func TestDTLSRefused(t *testing.T) {
	t.Parallel()
	port := strconv.Itoa(sockittest.FreePort(t, true))
	_, errOut, code := sockittest.Run(t, nil, 60*time.Second, "send", "dtls://127.0.0.1:"+port, "x", "--insecure")
	first := strings.SplitN(errOut, "\n", 2)[0]
	if code != exitcode.Unreachable || !strings.HasSuffix(first, "dtls://127.0.0.1:"+port+": connection refused") {
		t.Errorf("dtls to nothing: exit %d; stderr:\n%s", code, errOut)
	}
}

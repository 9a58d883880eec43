package servers

import (
	"strconv"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
	"github.com/sockit/sockit/internal/testpki"
)

// A client without a certificate, at a server that requires one (listen
// --ca), fails the same way every run: with TLS 1.3 the server checks the
// certificate only after the client has finished its handshake, so its
// alert, or the reset close behind it, meets whichever of the client's
// read, write or shutdown comes first. Each form runs 50 times
// (SOCKIT_REPEAT_RUNS changes that): exit 5, the documented line and
// its note.
func TestMutualTLSWithoutCertificateEndsTheSameWay(t *testing.T) {
	t.Parallel()
	k := testpki.Standard(t)
	p, addr := listen(t, "-k", "--tls", "--cert", k.Cert, "--key", k.Key, "--ca", k.CA, "--echo", "--json")
	ep := "tls://" + addr
	const note = "Note that --client-cert FILE and --client-key FILE give one; it must be signed by a CA the server trusts (its --ca).\n"
	want := "sockit: connect " + ep + ": the server asked for a client certificate, none was given, and it ended the connection\n" + note
	for _, cl := range []struct {
		name  string
		stdin string
		args  []string
	}{
		{"connect with data", "hello\n", []string{"connect", "--ca", k.CA, ep}},
		{"connect </dev/null", "", []string{"connect", "--ca", k.CA, ep}},
		{"send", "", []string{"send", "--ca", k.CA, ep, "hello"}},
	} {
		t.Run(cl.name, func(t *testing.T) {
			outcomes := map[string]int{}
			for i := 0; i < sockittest.Repeats(); i++ {
				stdout, stderr, code := sockittest.Run(t, []byte(cl.stdin), 30*time.Second, cl.args...)
				if code != 5 || stderr != want || stdout != "" {
					outcomes["exit "+strconv.Itoa(code)+": "+stderr+stdout]++
				}
			}
			for o, n := range outcomes {
				t.Errorf("%d of %d runs: %q; want exit 5 and %q", n, sockittest.Repeats(), o, want)
			}
		})
	}
	// The server's error event names no flag and carries the option (its
	// CA file asks for client certificates); its log names --ca.
	const noCert = "the client sent no certificate, and this server requires one (it checks client certificates against its CA file)"
	waitOptionEvent(t, p, "error", noCert, "ca", "tls handshake failed: "+noCert+" (see --ca)")

	// TLS 1.2 (openssl s_server, which requires a certificate with
	// -Verify): the handshake itself fails, with the same line.
	ossl := "tls://" + opensslServer(t, "-cert", k.Cert, "-key", k.Key, "-CAfile", k.CA, "-Verify", "1", "-tls1_2")
	want12 := "sockit: connect " + ossl + ": the server asked for a client certificate, none was given, and it ended the connection\n" + note
	for i := 0; i < 10; i++ {
		_, stderr, code := sockittest.Run(t, []byte("hello\n"), 30*time.Second, "connect", "--ca", k.CA, ossl)
		if code != 5 || stderr != want12 {
			t.Fatalf("TLS 1.2: exit %d, %q; want exit 5 and %q", code, stderr, want12)
		}
	}
}

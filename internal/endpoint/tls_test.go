package endpoint

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/sockittest"
	"github.com/sockit/sockit/internal/testpki"
)

// tlsServer listens with opt on loopback; each connection is handshaken,
// sent "hello", and closed. Handshake errors go to the returned channel.
func tlsServer(t *testing.T, opt TLSOptions, tweak func(*tls.Config)) (addr, fingerprint string, errs <-chan error) {
	t.Helper()
	cfg, fp, err := opt.Server()
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(cfg)
	}
	lc := &ListenConfig{TLS: cfg}
	ep, _ := Parse("tls://127.0.0.1:0", Options{Listen: true})
	ln, err := lc.Listen(context.Background(), ep)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan error, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := c.(*tls.Conn)
			tc.SetDeadline(time.Now().Add(10 * time.Second))
			if err := tc.Handshake(); err != nil {
				ch <- err
				c.Close()
				continue
			}
			ch <- nil
			tc.Write([]byte("hello"))
			tc.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String(), fp, ch
}

func dialTLS(t *testing.T, addr string, opt TLSOptions) (net.Conn, error) {
	t.Helper()
	cfg, err := opt.Client()
	if err != nil {
		t.Fatal(err)
	}
	ep, err := Parse("tls://"+addr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if opt.SNI == "" && strings.HasPrefix(addr, "localhost:") {
		ep.Host = "localhost"
	}
	d := &Dialer{TLS: cfg, Timeout: 10 * time.Second}
	return d.Dial(context.Background(), ep)
}

func readHello(t *testing.T, c net.Conn) {
	t.Helper()
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "hello" {
		t.Fatalf("read %q, %v", b, err)
	}
}

// wantTLSFailure checks err is exit code 5 with a message naming what failed.
func wantTLSFailure(t *testing.T, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want a TLS failure mentioning %q", words)
	}
	if code := exitcode.Code(err); code != exitcode.TLS {
		t.Errorf("exit code %d for %v, want %d", code, err, exitcode.TLS)
	}
	for _, w := range words {
		// As the command line words it: options as flags.
		if msg := exitcode.Message(err); !strings.Contains(msg, w) {
			t.Errorf("error %q does not say %q", msg, w)
		}
	}
	if fail.KindOf(err) != fail.TLS {
		t.Errorf("error %v is not of kind TLS", err)
	}
}

func TestTLSCASigned(t *testing.T) {
	t.Parallel()
	pki := testpki.New(t)
	cert, key := pki.Issue(t, testpki.Leaf{Name: "server", Usage: x509.ExtKeyUsageServerAuth, Hosts: []string{"localhost", "127.0.0.1"}})
	addr, _, _ := tlsServer(t, TLSOptions{Cert: cert, Key: key}, nil)
	c, err := dialTLS(t, addr, TLSOptions{CA: pki.File})
	if err != nil {
		t.Fatal(err)
	}
	readHello(t, c)

	// Without the CA: unknown authority.
	_, err = dialTLS(t, addr, TLSOptions{})
	wantTLSFailure(t, err, "unknown authority", `"CN=sockit test CA"`)
	if h := exitcode.Hint(err); !strings.Contains(h, "--ca") {
		t.Errorf("hint %q", h)
	}
	// The wrong name.
	_, err = dialTLS(t, addr, TLSOptions{CA: pki.File, SNI: "other.test"})
	wantTLSFailure(t, err, "name mismatch", "not other.test")
	// --insecure takes it anyway.
	c, err = dialTLS(t, addr, TLSOptions{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	readHello(t, c)
}

func TestTLSExpired(t *testing.T) {
	t.Parallel()
	pki := testpki.New(t)
	cert, key := pki.Issue(t, testpki.Leaf{Name: "old", Usage: x509.ExtKeyUsageServerAuth, Hosts: []string{"127.0.0.1"}, NotAfter: time.Now().Add(-time.Hour)})
	addr, _, _ := tlsServer(t, TLSOptions{Cert: cert, Key: key}, nil)
	_, err := dialTLS(t, addr, TLSOptions{CA: pki.File})
	wantTLSFailure(t, err, "expired")
}

func TestTLSEphemeralAndPin(t *testing.T) {
	t.Parallel()
	addr, fp, _ := tlsServer(t, TLSOptions{}, nil)
	if len(fp) != 95 || strings.Count(fp, ":") != 31 {
		t.Fatalf("fingerprint %q", fp)
	}
	for _, pin := range []string{fp, strings.ToLower(strings.ReplaceAll(fp, ":", ""))} {
		c, err := dialTLS(t, addr, TLSOptions{Pin: pin})
		if err != nil {
			t.Fatalf("--pin %s: %v", pin, err)
		}
		readHello(t, c)
	}
	other := strings.Repeat("AB:", 31) + "AB"
	_, err := dialTLS(t, addr, TLSOptions{Pin: other})
	wantTLSFailure(t, err, "pin mismatch", fp, other)
	_, err = dialTLS(t, addr, TLSOptions{})
	wantTLSFailure(t, err, "unknown authority")
	if _, err := ParsePin("abc"); exitcode.Code(err) != exitcode.Usage {
		t.Errorf("bad pin: %v", err)
	}
}

func TestTLSClientCertificates(t *testing.T) {
	t.Parallel()
	pki := testpki.New(t)
	srvCert, srvKey := pki.Issue(t, testpki.Leaf{Name: "server", Usage: x509.ExtKeyUsageServerAuth, Hosts: []string{"127.0.0.1"}})
	cliCert, cliKey := pki.Issue(t, testpki.Leaf{Name: "client", Usage: x509.ExtKeyUsageClientAuth})
	stranger := testpki.New(t)
	strCert, strKey := stranger.Issue(t, testpki.Leaf{Name: "stranger", Usage: x509.ExtKeyUsageClientAuth})

	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		name := tls.VersionName(version)
		// --ca on listen requires a client certificate signed by it.
		addr, _, serverErrs := tlsServer(t, TLSOptions{Cert: srvCert, Key: srvKey, CA: pki.File}, func(c *tls.Config) { c.MaxVersion = version })
		c, err := dialTLS(t, addr, TLSOptions{CA: pki.File, ClientCert: cliCert, ClientKey: cliKey})
		if err != nil {
			t.Fatalf("%s with a client certificate: %v", name, err)
		}
		readHello(t, c)
		if err := <-serverErrs; err != nil {
			t.Fatalf("%s: server: %v", name, err)
		}

		// Without one: the handshake fails (1.2), or the first read does (1.3).
		c, err = dialTLS(t, addr, TLSOptions{CA: pki.File})
		if err == nil {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err = c.Read(make([]byte, 10))
			c.Close()
		}
		wantTLSFailure(t, err, "client certificate")
		if serr := <-serverErrs; serr == nil || !strings.Contains(TLSCause(serr), "sent no certificate") {
			t.Errorf("%s: server side: %v → %q", name, serr, TLSCause(serr))
		}

		// One from another CA: the server refuses it.
		c, err = dialTLS(t, addr, TLSOptions{CA: pki.File, ClientCert: strCert, ClientKey: strKey})
		if err == nil {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err = c.Read(make([]byte, 10))
			c.Close()
		}
		wantTLSFailure(t, err, "did not accept the client certificate")
		if serr := <-serverErrs; serr == nil || !strings.Contains(TLSCause(serr), "unknown authority") {
			t.Errorf("%s: server side: %v → %q", name, serr, TLSCause(serr))
		}
	}
}

func TestTLSVersions(t *testing.T) {
	t.Parallel()
	// --tls-min 1.3 against a server that stops at 1.2.
	addr, _, _ := tlsServer(t, TLSOptions{}, func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 })
	_, err := dialTLS(t, addr, TLSOptions{Insecure: true, Min: "1.3"})
	wantTLSFailure(t, err, "protocol version")
	c, err := dialTLS(t, addr, TLSOptions{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	readHello(t, c)

	// TLS 1.0 and 1.1 are refused, whatever the peer wants.
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		addr, _, _ := tlsServer(t, TLSOptions{}, func(c *tls.Config) { c.MinVersion, c.MaxVersion = v, v })
		_, err := dialTLS(t, addr, TLSOptions{Insecure: true})
		wantTLSFailure(t, err, "version")
	}
	if _, err := (TLSOptions{Min: "1.1"}).Client(); exitcode.Code(err) != exitcode.Usage {
		t.Errorf("--tls-min 1.1: %v", err)
	}
}

func TestTLSALPN(t *testing.T) {
	t.Parallel()
	addr, _, _ := tlsServer(t, TLSOptions{ALPN: []string{"x-sockit", "h2"}}, nil)
	c, err := dialTLS(t, addr, TLSOptions{Insecure: true, ALPN: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	if p := c.(interface{ ConnectionState() tls.ConnectionState }).ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Errorf("ALPN %q, want h2", p)
	}
	readHello(t, c)
	_, err = dialTLS(t, addr, TLSOptions{Insecure: true, ALPN: []string{"spdy/1"}})
	wantTLSFailure(t, err, "no application protocol")
}

func TestTLSPlainPeer(t *testing.T) {
	t.Parallel()
	addr, _ := sockittest.ServeOne(t, func(c *net.TCPConn) error {
		_, err := c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
		time.Sleep(100 * time.Millisecond)
		return err
	})
	_, err := dialTLS(t, addr, TLSOptions{Insecure: true})
	wantTLSFailure(t, err, "does not speak TLS")
}

// TestTLSClientMeetsEchoServer: a plain TCP echo server sends the
// client's ClientHello back; the error says that, not crypto/tls's
// "*tls.clientHelloMsg".
func TestTLSClientMeetsEchoServer(t *testing.T) {
	addr, _ := sockittest.ServeOne(t, func(c *net.TCPConn) error {
		_, err := io.Copy(c, c)
		return err
	})
	_, err := dialTLS(t, addr, TLSOptions{Insecure: true})
	wantTLSFailure(t, err, "not a TLS server: it sent back the ClientHello")
	if strings.Contains(err.Error(), "*tls.") {
		t.Errorf("error shows Go type names: %v", err)
	}
}

func TestTLSCauseWords(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "remote error", Err: errors.New("tls: bad certificate")}, "refused the handshake: bad certificate (it does not trust"},
		{&net.OpError{Op: "remote error", Err: errors.New("tls: certificate required")}, "wants a client certificate"},
		{io.EOF, "closed the connection during the handshake"},
		{errors.New("tls: client offered only unsupported versions: [302 301]"), "no TLS version in common"},
		{errors.New("tls: something new"), "handshake failure: something new"},
		{errors.New("tls: received unexpected handshake message of type *tls.clientHelloMsg when waiting for *tls.serverHelloMsg"), "the peer is not a TLS server: it sent back the ClientHello"},
		{errors.New("tls: received unexpected handshake message of type *tls.certificateMsgTLS13 when waiting for *tls.clientHelloMsg"), "unexpected handshake message: got Certificate when waiting for ClientHello"},
	} {
		if got := TLSCause(tc.err); !strings.Contains(got, tc.want) || strings.Contains(got, "*tls.") || strings.Contains(got, "--") {
			t.Errorf("TLSCause(%v) = %q, want %q in it and no Go type names or flags", tc.err, got, tc.want)
		}
	}
	// Where an option governs the failure, it comes beside the words, and
	// the command line's hint names its flag.
	for _, tc := range []struct {
		err  error
		opt  fail.Option
		hint string
	}{
		{&net.OpError{Op: "remote error", Err: errors.New("tls: certificate required")}, OptClientCert, "Note that --client-cert FILE and --client-key FILE give one."},
		{errors.New("tls: client offered only unsupported versions: [302 301]"), OptTLSMin, "Note that --tls-min sets the lowest version sockit accepts (1.2 or 1.3)."},
		{errors.New("tls: client didn't provide a certificate"), OptCA, "Note that a client gives one with --client-cert FILE and --client-key FILE."},
		{&pinError{got: "AA:BB", want: "CC:DD"}, OptPin, "Note that --pin AA:BB accepts exactly this certificate; compare it with the fingerprint the server printed."},
		{errors.New("tls: something new"), "", ""},
	} {
		why, opt := TLSCauseOption(tc.err)
		if h := exitcode.Hint(tlsCause(tc.err)); opt != tc.opt || h != tc.hint || strings.Contains(why, "--") {
			t.Errorf("TLSCauseOption(%v) = %q, %q, hint %q; want option %q, hint %q", tc.err, why, opt, h, tc.opt, tc.hint)
		}
	}
}

// A certificate that no name or CA file makes trusted gets a hint with
// the exact --pin that accepts it (as listen --tls prints it and --pin
// takes it) and --insecure, never --sni; a trusted certificate with the
// wrong name still gets --sni.
func TestTLSHintOffersPin(t *testing.T) {
	t.Parallel()
	// sockit's ephemeral certificate: self-signed, for localhost and the
	// loopback addresses; the fingerprint is the one listen prints.
	addr, fp, _ := tlsServer(t, TLSOptions{}, nil)
	for _, sni := range []string{"", "other.test"} {
		_, err := dialTLS(t, addr, TLSOptions{SNI: sni})
		if sni == "" {
			wantTLSFailure(t, err, "unknown authority")
		} else {
			wantTLSFailure(t, err, "name mismatch", "not other.test", "(and the certificate is self-signed)")
			if strings.Contains(err.Error(), "--sni") {
				t.Errorf("--sni offered for a self-signed certificate: %v", err)
			}
		}
		want := "Note that the certificate is self-signed: --pin " + fp + " accepts exactly this one"
		if h := exitcode.Hint(err); !strings.HasPrefix(h, want) || !strings.Contains(h, "--insecure") {
			t.Errorf("SNI %q: hint %q, want %q…", sni, h, want)
		}
		// What the hint offers works.
		c, err := dialTLS(t, addr, TLSOptions{Pin: fp, SNI: sni})
		if err != nil {
			t.Fatalf("the hint's --pin: %v", err)
		}
		readHello(t, c)
	}

	pki := testpki.New(t)
	cert, key := pki.Issue(t, testpki.Leaf{Name: "server", Usage: x509.ExtKeyUsageServerAuth, Hosts: []string{"localhost"}})
	addr, fp, _ = tlsServer(t, TLSOptions{Cert: cert, Key: key}, nil)
	// Signed by a CA the client does not know, and the wrong name: pin.
	_, err := dialTLS(t, addr, TLSOptions{})
	wantTLSFailure(t, err, "name mismatch", "not signed by a CA in the system roots or the CA file")
	if h := exitcode.Hint(err); !strings.Contains(h, "--pin "+fp) || !strings.Contains(h, "--ca FILE") {
		t.Errorf("unknown issuer: hint %q", h)
	}
	// Trusted by --ca, only the name is wrong: --sni, and no pin. The
	// message names no flag; the option is carried beside it, and the
	// command line's hint names the flag.
	_, err = dialTLS(t, addr, TLSOptions{CA: pki.File})
	wantTLSFailure(t, err, "name mismatch")
	if strings.Contains(err.Error(), "--") || fail.OptionOf(err) != OptSNI {
		t.Errorf("trusted certificate, wrong name: %q, option %q; want no flag, and the option sni", err, fail.OptionOf(err))
	}
	if h := exitcode.Hint(err); h != "Note that --sni NAME sets the name checked." {
		t.Errorf("trusted certificate, wrong name: hint %q", h)
	}
}

// FuzzParsePin: no pin panics, every error is a usage error, an accepted
// pin is a SHA-256, and the fingerprint form listen prints (and the hint
// offers) is accepted with or without a "SHA256:" prefix.
func FuzzParsePin(f *testing.F) {
	fp := Fingerprint([]byte("x"))
	for _, s := range []string{fp, "SHA256:" + fp, "sha256/" + fp, strings.ReplaceAll(fp, ":", ""), "abc", "", "sha256:", "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParsePin(s)
		if err != nil {
			if exitcode.Code(err) != exitcode.Usage {
				t.Fatalf("ParsePin(%q): %v is not a usage error", s, err)
			}
			return
		}
		if len(b) != 32 {
			t.Fatalf("ParsePin(%q) = %d bytes", s, len(b))
		}
		if again, err := ParsePin("SHA256:" + formatFP(b)); err != nil || string(again) != string(b) {
			t.Fatalf("the printed form of %q does not parse back: %v", s, err)
		}
	})
}

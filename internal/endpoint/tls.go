package endpoint

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/optfile"
)

// TLSOptions are the TLS flags of README "TLS", shared by the CLI and the UI.
// The zero value verifies servers by the system roots, TLS 1.2 and newer.
type TLSOptions struct {
	Cert, Key             string   // server certificate (listen), PEM files
	CA                    string   // roots to verify the peer by, PEM file
	Pin                   string   // SHA-256 of the peer's certificate, hex (colons allowed) or base64
	Insecure              bool     // accept any server certificate
	SNI                   string   // server name to send and verify
	ClientCert, ClientKey string   // client certificate (connect)
	ALPN                  []string // protocols to offer or accept
	Min                   string   // "1.2" (default) or "1.3"
}

func (o TLSOptions) minVersion() (uint16, error) {
	switch o.Min {
	case "", "1.2", "tls1.2", "TLS1.2":
		return tls.VersionTLS12, nil
	case "1.3", "tls1.3", "TLS1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fail.Inputf("bad %s %q: want 1.2 or 1.3", OptTLSMin, o.Min).
		WithHint("Note that sockit speaks TLS 1.2 and newer only.")
}

// Client builds the configuration for dialing tls:// endpoints.
func (o TLSOptions) Client() (*tls.Config, error) {
	min, err := o.minVersion()
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: min, ServerName: o.SNI, NextProtos: o.ALPN}
	if o.CA != "" {
		pool, err := loadPool(o.CA)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if o.ClientCert != "" || o.ClientKey != "" {
		cert, err := loadPair(o.ClientCert, o.ClientKey, OptClientCert, OptClientKey)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if o.Insecure {
		cfg.InsecureSkipVerify = true
	}
	if o.Pin != "" {
		want, err := ParsePin(o.Pin)
		if err != nil {
			return nil, err
		}
		// The pin replaces chain verification: exactly that certificate is
		// accepted, whoever signed it.
		cfg.InsecureSkipVerify = true
		cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return fmt.Errorf("server sent no certificate")
			}
			got := sha256.Sum256(raw[0])
			if !bytes.Equal(got[:], want) {
				return &pinError{got: Fingerprint(raw[0]), want: formatFP(want)}
			}
			return nil
		}
	}
	return cfg, nil
}

// Server builds the configuration for tls:// listeners. Without --cert it
// makes an ephemeral self-signed certificate and returns its fingerprint so
// the caller can print it for clients to --pin.
func (o TLSOptions) Server() (cfg *tls.Config, fingerprint string, err error) {
	min, err := o.minVersion()
	if err != nil {
		return nil, "", err
	}
	var cert tls.Certificate
	if o.Cert != "" || o.Key != "" {
		cert, err = loadPair(o.Cert, o.Key, OptCert, OptKey)
	} else {
		cert, err = SelfSigned([]string{"localhost", "127.0.0.1", "::1"})
	}
	if err != nil {
		return nil, "", err
	}
	cfg = &tls.Config{MinVersion: min, Certificates: []tls.Certificate{cert}, NextProtos: o.ALPN}
	if o.CA != "" {
		pool, err := loadPool(o.CA)
		if err != nil {
			return nil, "", err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, Fingerprint(cert.Certificate[0]), nil
}

// SelfSigned makes an ECDSA P-256 certificate valid for a day for hosts.
func SelfSigned(hosts []string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "sockit ephemeral"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := parseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// Fingerprint is the SHA-256 of a DER certificate, as colon-separated hex.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return formatFP(sum[:])
}

func formatFP(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	var sb strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(h[i : i+2])
	}
	return sb.String()
}

// ParsePin reads a SHA-256 pin: 64 hex digits with or without colons, or
// the 44-character base64 form, optionally prefixed "sha256/" or
// "SHA256:" (in any case).
func ParsePin(s string) ([]byte, error) {
	t := s
	if len(t) > 7 && (strings.EqualFold(t[:7], "sha256/") || strings.EqualFold(t[:7], "sha256:")) {
		t = t[7:]
	}
	h := strings.NewReplacer(":", "", " ", "").Replace(t)
	if b, err := hex.DecodeString(h); err == nil && len(b) == sha256.Size {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(t); err == nil && len(b) == sha256.Size {
		return b, nil
	}
	return nil, fail.Inputf("bad %s %q: want the SHA-256 fingerprint as 64 hex digits (colons allowed) or base64", OptPin, s)
}

// The files behind TLS options are read through optfile: regular files
// of at most optfile.MaxPEM, never /dev/zero or a FIFO (the web UI takes
// these paths from a page, too). Such a read is short, so it takes no
// context.

func loadPool(path string) (*x509.CertPool, error) {
	pem, err := optfile.Read(context.Background(), path, optfile.MaxPEM)
	if err != nil {
		return nil, fail.Inputf("%s: %v", OptCA, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fail.Inputf("%s %s: no PEM certificates in it", OptCA, path)
	}
	return pool, nil
}

func loadPair(cert, key string, certOpt, keyOpt fail.Option) (tls.Certificate, error) {
	if cert == "" || key == "" {
		return tls.Certificate{}, fail.Inputf("%s and %s go together", certOpt, keyOpt)
	}
	certPEM, err := optfile.Read(context.Background(), cert, optfile.MaxPEM)
	if err != nil {
		return tls.Certificate{}, fail.Inputf("%s: %v", certOpt, err)
	}
	keyPEM, err := optfile.Read(context.Background(), key, optfile.MaxPEM)
	if err != nil {
		return tls.Certificate{}, fail.Inputf("%s: %v", keyOpt, err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fail.Inputf("%s/%s: %v", certOpt, keyOpt, err)
	}
	return c, nil
}

func parseIP(s string) net.IP { return net.ParseIP(s) }

// pinError is a certificate that does not have the pinned fingerprint.
type pinError struct{ got, want string }

func (e *pinError) Error() string {
	return "certificate pin mismatch: the server's certificate has SHA256 " + e.got + ", the pin given is " + e.want
}

// TLSCause words a TLS failure by what went wrong, as README "TLS" asks: an
// unknown authority, a name mismatch, a pin mismatch, a version or other
// handshake failure, an alert from the peer, or a peer that is not
// speaking TLS. It names no flag (see TLSCauseOption).
func TLSCause(err error) string { return tlsCause(err).Error() }

// TLSCauseOption is TLSCause and the option that governs the failure, if
// one does (the pin, the CA file, the server name, the lowest version):
// an event's Option.
func TLSCauseOption(err error) (string, fail.Option) {
	c := tlsCause(err)
	return c.Error(), c.Option()
}

// tlsCause is TLSCause as an error of kind TLS: its message, the option
// it is about and, where there is something to try, a hint naming it.
func tlsCause(err error) *fail.Error {
	why := func(s string) *fail.Error { return fail.Errorf(fail.TLS, "%s", s) }
	var (
		pin      *pinError
		unknown  x509.UnknownAuthorityError
		host     x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
		verify   *tls.CertificateVerificationError
		op       *net.OpError
		alertErr tls.AlertError
	)
	switch {
	case errors.As(err, &pin):
		return why(pin.Error()).About(OptPin).
			WithHint("Note that %s %s accepts exactly this certificate; compare it with the fingerprint the server printed.", OptPin, pin.got)
	case errors.As(err, &unknown):
		return why("unknown authority: the certificate is not signed by a CA in the system roots or the CA file ("+unknownName(unknown)+")").About(OptCA).
			WithHint("Note that %s FILE, %s SHA256 or %s accept a certificate the system does not trust.", OptCA, OptPin, OptInsecure)
	case errors.As(err, &host):
		return why("name mismatch: "+strings.TrimPrefix(host.Error(), "x509: ")).About(OptSNI).
			WithHint("Note that %s NAME sets the name checked.", OptSNI)
	case errors.As(err, &invalid):
		if invalid.Reason == x509.Expired {
			return why("certificate expired or not yet valid: " + strings.TrimPrefix(invalid.Error(), "x509: "))
		}
		return why("invalid certificate: " + strings.TrimPrefix(invalid.Error(), "x509: "))
	case errors.As(err, &verify):
		return why("certificate verification failed: " + strings.TrimPrefix(verify.Err.Error(), "x509: "))
	case errors.As(err, &record):
		return why("the peer does not speak TLS (its first bytes are not a TLS record: a plain TCP port?)")
	case errors.As(err, &op) && op.Op == "remote error":
		return alertCause(op.Err.Error())
	case errors.As(err, &alertErr):
		return why("alert: " + strings.TrimPrefix(alertErr.Error(), "tls: "))
	case errors.Is(err, io.EOF):
		return why("the peer closed the connection during the handshake")
	}
	s := Cause(err)
	switch {
	case strings.Contains(s, "unsupported protocol version"), strings.Contains(s, "unsupported versions"):
		return why("no TLS version in common: "+strings.TrimPrefix(s, "tls: ")+" (sockit speaks TLS 1.2 and 1.3)").About(OptTLSMin).
			WithHint("Note that %s sets the lowest version sockit accepts (1.2 or 1.3).", OptTLSMin)
	case strings.Contains(s, "didn't provide a certificate"):
		return why("the client sent no certificate, and this server requires one (it checks client certificates against its CA file)").About(OptCA).
			WithHint("Note that a client gives one with %s FILE and %s FILE.", OptClientCert, OptClientKey)
	case strings.Contains(s, "clientHelloMsg when waiting for *tls.serverHelloMsg"):
		// A client's own ClientHello came back: the peer repeats what it
		// gets, which is what an echo server does.
		return why("the peer is not a TLS server: it sent back the ClientHello it was sent (an echo server on a plain TCP port?)")
	case strings.Contains(s, "unexpected handshake message"):
		s = strings.TrimPrefix(s, "tls: received unexpected handshake message of type ")
		return why("unexpected handshake message: got " + handshakeNames.ReplaceAllStringFunc(s, handshakeName))
	}
	return why("handshake failure: " + strings.TrimPrefix(s, "tls: "))
}

// distrust is a certificate verification failure whatever the name: the
// certificate the server sent, and the cause in words (nil: TLSCause's).
type distrust struct {
	leaf *x509.Certificate
	name *fail.Error
}

// untrusted words a certificate verification failure for a client, given
// the roots it verifies by (nil: the system's). It returns nil unless the
// server's chain would fail verification whatever the name: then a name
// mismatch does not suggest --sni (which would only trade it for "unknown
// authority"), and the hint offers the exact --pin that accepts the
// certificate, in the form listen --tls prints and --pin takes, and
// --insecure.
func untrusted(err error, roots *x509.CertPool) *distrust {
	var verify *tls.CertificateVerificationError
	if !errors.As(err, &verify) || len(verify.UnverifiedCertificates) == 0 {
		return nil
	}
	leaf := verify.UnverifiedCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range verify.UnverifiedCertificates[1:] {
		inter.AddCert(c)
	}
	var unknown x509.UnknownAuthorityError
	if _, verr := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); !errors.As(verr, &unknown) {
		return nil // trusted: the name, or the dates, are the problem
	}
	d := &distrust{leaf: leaf}
	var host x509.HostnameError
	switch {
	case errors.As(err, &host) && selfSigned(leaf):
		d.name = fail.Errorf(fail.TLS, "name mismatch: %s (and the certificate is self-signed)", strings.TrimPrefix(host.Error(), "x509: "))
	case errors.As(err, &host):
		d.name = fail.Errorf(fail.TLS, "name mismatch: %s (and the certificate is not signed by a CA in the system roots or the CA file)", strings.TrimPrefix(host.Error(), "x509: ")).About(OptCA)
	default:
		d.name = tlsCause(err)
	}
	return d
}

// selfSigned reports whether c is its own issuer and signer. (Not
// CheckSignatureFrom, which also wants the signer to be a CA: sockit's
// ephemeral certificate is not.)
func selfSigned(c *x509.Certificate) bool {
	return c != nil && bytes.Equal(c.RawIssuer, c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// handshakeNames finds crypto/tls's Go type names for handshake messages
// in its errors (*tls.serverHelloMsg), which say nothing to a user.
var handshakeNames = regexp.MustCompile(`\*tls\.([a-zA-Z]+)Msg(?:TLS13)?`)

// handshakeName turns *tls.serverHelloMsg into ServerHello, the name TLS
// itself gives the message.
func handshakeName(m string) string {
	name := handshakeNames.FindStringSubmatch(m)[1]
	return strings.ToUpper(name[:1]) + name[1:]
}

func unknownName(e x509.UnknownAuthorityError) string {
	if e.Cert != nil {
		return "issuer " + strconv.Quote(e.Cert.Issuer.String())
	}
	return "x509: certificate signed by unknown authority"
}

// alertCause words an alert from the peer that refused the handshake,
// with what it most likely means.
func alertCause(alert string) *fail.Error {
	msg := "the peer refused the handshake: " + strings.TrimPrefix(alert, "tls: ")
	switch {
	case strings.Contains(alert, "certificate required"):
		return fail.Errorf(fail.TLS, "%s (the server wants a client certificate)", msg).About(OptClientCert).
			WithHint("Note that %s FILE and %s FILE give one.", OptClientCert, OptClientKey)
	case strings.Contains(alert, "bad certificate"), strings.Contains(alert, "unknown certificate authority"):
		msg += " (it does not trust the certificate this side sent)"
	case strings.Contains(alert, "protocol version"):
		msg += " (no TLS version in common; sockit speaks TLS 1.2 and 1.3)"
	}
	return fail.Errorf(fail.TLS, "%s", msg)
}

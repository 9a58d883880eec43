package endpoint

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"

	"github.com/sockit/sockit/internal/fail"
)

// TLSError is a failure in the TLS layer (handshake, verification, pin)
// whose cause is not one of crypto/tls's own types.
type TLSError struct {
	msg   *fail.Error // the message and what to try, of kind fail.TLS
	named bool        // msg names the connection ("connect tls://…: …")
}

func (e *TLSError) Error() string { return e.msg.Error() }

// Unwrap is the message, whose own cause is the handshake's error.
func (e *TLSError) Unwrap() error { return e.msg }

// Hint is the second line, what to try for this certificate, or "".
func (e *TLSError) Hint() string { return e.msg.Hint() }

// FailKind says it is a TLS failure (see package fail).
func (e *TLSError) FailKind() fail.Kind { return fail.TLS }

// RefusedError is a connection the server accepted and then reset before
// sending a byte: a sockit server refusing a client beyond its connection
// cap or outside its address lists does exactly that, and so do other
// servers that are full. A client reports it as a refusal, whatever its
// own read, write or shutdown met first.
type RefusedError struct {
	Endpoint string // tcp://HOST:PORT
	Err      error  // what the socket call returned
}

func (e *RefusedError) Error() string {
	return "connect " + e.Endpoint + ": the server closed the connection at once: it may be full or refusing this address"
}
func (e *RefusedError) Unwrap() error { return e.Err }

// FailKind says it is a refusal (see package fail).
func (e *RefusedError) FailKind() fail.Kind { return fail.Refused }

// The options this package's errors name (see fail.Option): a front end
// writes each its own way (the command line as --proxy).
const (
	OptProxy      fail.Option = "proxy"
	OptSource     fail.Option = "source"
	OptNoDNS      fail.Option = "no-dns"
	OptTLS        fail.Option = "tls"
	OptCert       fail.Option = "cert"
	OptKey        fail.Option = "key"
	OptCA         fail.Option = "ca"
	OptPin        fail.Option = "pin"
	OptInsecure   fail.Option = "insecure"
	OptSNI        fail.Option = "sni"
	OptClientCert fail.Option = "client-cert"
	OptClientKey  fail.Option = "client-key"
	OptTLSMin     fail.Option = "tls-min"
	OptALPN       fail.Option = "alpn"
	OptJoinSource fail.Option = "join-source"
	OptRetry      fail.Option = "retry"
	OptRetryDelay fail.Option = "retry-delay"
	OptTTL        fail.Option = "ttl"
	OptTOS        fail.Option = "tos"
	OptBindDev    fail.Option = "bind-dev"
	OptBroadcast  fail.Option = "broadcast"
	OptIface      fail.Option = "iface"
	OptHeader     fail.Option = "header"
	OptWSProtocol fail.Option = "ws-protocol"
)

// isTLSFailure reports crypto/tls's and x509's own errors, and an alert
// from the TLS peer (which crypto/tls returns as a *net.OpError with Op
// "remote error").
func isTLSFailure(err error) bool {
	var (
		certErr  *tls.CertificateVerificationError
		unknownA x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		op       *net.OpError
	)
	return errors.As(err, &certErr) || errors.As(err, &unknownA) || errors.As(err, &hostErr) ||
		errors.As(err, &invalid) || errors.As(err, &recErr) || errors.As(err, &alertErr) ||
		errors.As(err, &op) && op.Op == "remote error"
}

package endpoint

import "github.com/sockit/sockit/internal/fail"

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
)

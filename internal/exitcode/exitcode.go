// Package exitcode decides sockit's exit status from an error's cause, in
// one place, as SPEC §2.6 lists them, and renders the one-line message a
// user sees for it.
//
// Engine packages return ordinary wrapped errors; they only construct the
// few marker types defined here (usage errors, expectation failures) where
// the cause cannot be told from a standard error value.
package exitcode

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
)

// The exit codes of SPEC §2.6.
const (
	OK          = 0
	NoMatch     = 1 // --expect did not match, or no reply within --wait
	Usage       = 2 // bad flags, endpoints, encodings, hex…
	Unreachable = 3 // refused, unreachable, host not found
	Timeout     = 4
	TLS         = 5
	Reset       = 6 // reset or broken by the peer
	Interrupted = 130
)

// UsageError is a mistake in how sockit was invoked: a bad flag value, a bad
// endpoint, undecodable hex. Hint, when set, is a second line that says what
// to try ("Did you mean …?").
type UsageError struct {
	Msg  string
	Hint string
}

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// WithHint returns a *UsageError carrying a hint line.
func WithHint(hint string, format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...), Hint: hint}
}

// MismatchError reports that the conversation did not produce what was
// expected: an --expect pattern that never matched, a replayed transcript
// that diverged, or no reply when one was required.
type MismatchError struct{ Msg string }

func (e *MismatchError) Error() string { return e.Msg }

// Mismatchf returns a *MismatchError with a formatted message.
func Mismatchf(format string, args ...any) error {
	return &MismatchError{Msg: fmt.Sprintf(format, args...)}
}

// TLSError marks a failure in the TLS layer (handshake, verification, pin)
// whose cause is not one of crypto/tls's own types.
type TLSError struct{ Err error }

func (e *TLSError) Error() string { return e.Err.Error() }
func (e *TLSError) Unwrap() error { return e.Err }

// Code maps an error to the exit code of SPEC §2.6.
func Code(err error) int {
	if err == nil {
		return OK
	}
	err = native(err)
	var (
		usage    *UsageError
		mismatch *MismatchError
		tlsErr   *TLSError
		dnsErr   *net.DNSError
		certErr  *tls.CertificateVerificationError
		unknownA x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
	)
	switch {
	case errors.As(err, &usage):
		return Usage
	case errors.As(err, &mismatch):
		return NoMatch
	case errors.Is(err, context.Canceled):
		return Interrupted
	case errors.As(err, &tlsErr), errors.As(err, &certErr), errors.As(err, &unknownA),
		errors.As(err, &hostErr), errors.As(err, &invalid), errors.As(err, &recErr),
		errors.As(err, &alertErr), isTLSAlert(err):
		return TLS
	case errors.As(err, &dnsErr):
		if dnsErr.IsTimeout {
			return Timeout
		}
		return Unreachable
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, syscall.ETIMEDOUT):
		return Timeout
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EADDRNOTAVAIL),
		errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.EADDRINUSE),
		errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return Unreachable
	case errors.Is(err, syscall.EMSGSIZE):
		// A datagram larger than UDP carries (65,507 bytes over IPv4) is
		// bad input, found only when the kernel refuses it.
		return Usage
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, io.ErrUnexpectedEOF):
		return Reset
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return Timeout
	}
	return NoMatch
}

// isTLSAlert reports an alert received from the TLS peer, which crypto/tls
// returns as a *net.OpError with Op "remote error" (after a TLS 1.3
// handshake, a server that refuses the client's certificate says so on the
// first read).
func isTLSAlert(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error"
}

// Hint returns the second line for err, if it has one.
func Hint(err error) string {
	err = native(err)
	var usage *UsageError
	if errors.As(err, &usage) {
		return usage.Hint
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "Note that nothing is listening there; start a server first (sockit listen PORT)."
	case errors.Is(err, syscall.EADDRINUSE):
		return "Note that another program holds that address; pick another port or stop it."
	}
	var unknownA x509.UnknownAuthorityError
	if errors.As(err, &unknownA) {
		return "Note that --ca FILE, --pin SHA256 or --insecure accept a certificate the system does not trust."
	}
	return ""
}

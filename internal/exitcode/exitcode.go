// Package exitcode decides sockit's exit status from an error's cause, in
// one place, as README "Exit codes" lists them, and renders the one-line
// message a user sees for it (Message, Hint), with the engine's options
// written as the command line's flags (Flag).
//
// It belongs to the command line: engine packages never import it. They
// return ordinary wrapped errors, and where the cause cannot be told from
// a standard error value they say its kind with package fail (bad input,
// refused, timeout, TLS, reset, no match), which Code maps here. The
// command line's own usage errors and expectation failures are the
// marker types below.
package exitcode

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/sockit/sockit/internal/fail"
)

// The exit codes of README "Exit codes".
const (
	OK          = 0
	NoMatch     = 1 // --expect did not match, or no reply within --wait
	Usage       = 2 // bad flags, endpoints, encodings, hex…
	Unreachable = 3 // refused, unreachable, host not found
	Timeout     = 4
	TLS         = 5
	Reset       = 6 // reset or broken by the peer
	// Output is a local output that could not be written: stdout, -o FILE,
	// --record FILE, --json (a full disk, a closed pipe). It is none of
	// the peer's codes (3–6), and 1 means an expectation failed, which
	// scripts and health checks rely on, so it has a code of its own.
	Output      = 7
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

// OutputError is a failed write to one of sockit's own outputs. Name says
// which, as the user gave it: "stdout", "-o out.bin", "--record t.jsonl".
type OutputError struct {
	Name string
	Err  error
}

func (e *OutputError) Error() string {
	cause := e.Err
	var pe *fs.PathError
	if errors.As(cause, &pe) {
		cause = pe.Err // the path is in Name already
	}
	return "cannot write " + e.Name + ": " + cause.Error()
}

func (e *OutputError) Unwrap() error { return e.Err }

// ReaderGone reports a stdout whose reader closed it (sockit … | head):
// a consumer that has seen enough, not a failure.
func (e *OutputError) ReaderGone() bool {
	return e.Name == "stdout" && errors.Is(e.Err, syscall.EPIPE)
}

// Code maps an error to the exit code of README "Exit codes".
//
// Every class of error sockit can meet has a code here: the kernel's
// errnos by what they mean for the user (could not reach, took too long,
// broken by the peer, bad input), the net package's own error types, and
// the marker types above. 1 is only ever an expectation that failed
// (MismatchError): an error of no known class is 3, "could not do it",
// never 1, which scripts read as "the reply did not match".
func Code(err error) int {
	if err == nil {
		return OK
	}
	err = native(err)
	var (
		usage    *UsageError
		mismatch *MismatchError
		dnsErr   *net.DNSError
		addrErr  *net.AddrError
		parseErr *net.ParseError
		netErr   net.UnknownNetworkError
		badAddr  net.InvalidAddrError
		certErr  *tls.CertificateVerificationError
		unknownA x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
	)
	var output *OutputError
	switch {
	case errors.As(err, &output):
		// Before the errno cases: EPIPE or EACCES from a file or pipe
		// here is not the peer's doing.
		return Output
	case errors.As(err, &usage):
		return Usage
	case errors.As(err, &mismatch):
		return NoMatch
	case errors.Is(err, context.Canceled):
		return Interrupted
	}
	if code, ok := kindCodes[fail.KindOf(err)]; ok {
		return code
	}
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownA),
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
	case errors.As(err, &addrErr):
		if isNoAddress(addrErr) {
			// A name with no address of the family asked for (-6
			// localhost where localhost is only 127.0.0.1): not found.
			return Unreachable
		}
		return Usage // "invalid port", "missing port in address"…
	case errors.As(err, &parseErr), errors.As(err, &netErr), errors.As(err, &badAddr):
		return Usage
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errnoCode(posix(errno))
	}
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		// The peer (or a proxy) closed in the middle of something that
		// needed more: broken by the peer.
		return Reset
	case errors.Is(err, os.ErrNotExist), errors.Is(err, os.ErrPermission):
		return Unreachable
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return Timeout
	}
	return Unreachable
}

// kindCodes are the exit codes of the engine's error kinds (package fail).
var kindCodes = map[fail.Kind]int{
	fail.BadInput: Usage,
	fail.Refused:  Unreachable,
	fail.Timeout:  Timeout,
	fail.TLS:      TLS,
	fail.Reset:    Reset,
	fail.NoMatch:  NoMatch,
}

// errnoCode is the exit code for each errno sockit can meet, by class.
func errnoCode(e syscall.Errno) int {
	switch e {
	case syscall.ETIMEDOUT:
		return Timeout
	case syscall.ECONNRESET, syscall.EPIPE, syscall.ECONNABORTED, syscall.ENOTCONN, syscall.ESHUTDOWN:
		return Reset
	case syscall.EMSGSIZE:
		// A datagram larger than UDP carries (65,507 bytes over IPv4) is
		// bad input, found only when the kernel refuses it.
		return Usage
	case syscall.EINVAL, syscall.ENAMETOOLONG:
		// An argument the kernel refuses: a socket option or address
		// sockit was asked to use that makes no sense here.
		return Usage
	}
	// Everything else is the system or the network refusing: nothing
	// listening, no route, address in use or not ours, permission,
	// no IPv6, out of descriptors or buffers, disk full.
	return Unreachable
}

// isNoAddress reports the resolver's "no suitable address found": the
// name resolved, but not to the family -4/-6 or tcp4/tcp6 asked for.
func isNoAddress(e *net.AddrError) bool {
	return e.Err == "no suitable address found" || e.Err == "no suitable address"
}

// isTLSAlert reports an alert received from the TLS peer, which crypto/tls
// returns as a *net.OpError with Op "remote error" (after a TLS 1.3
// handshake, a server that refuses the client's certificate says so on the
// first read).
func isTLSAlert(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error"
}

// Flag is how the command line writes one of the engine's options (see
// fail.Option): as its flag, --frame.
func Flag(o fail.Option) string {
	if f, ok := flagSpellings[o]; ok {
		return f
	}
	return "--" + string(o)
}

// flagSpellings are the options whose flag is not --NAME, or that a short
// flag names as well.
var flagSpellings = map[fail.Option]string{
	"no-dns":    "-n/--no-dns",
	"keep-open": "-k/--keep-open",
	"quit":      "-q/--quit",
	"header":    "-H",
}

// Message is err's message as the command line shows it: the engine's
// options in it are written as flags (Flag).
func Message(err error) string {
	msg := err.Error()
	if fe, ok := fail.As(err); ok {
		msg = strings.Replace(msg, fe.Error(), fe.Text(Flag), 1)
	}
	return msg
}

// Hint returns the second line for err, if it has one: what to try. An
// error anywhere in the chain may say it itself: an engine error's hint
// with its options written as flags (a HintText method, as fail.Error
// and frame's TooLargeError have), or a Hint() method (the endpoint
// package's proxy errors have one). Otherwise every class of errno and
// net error has a line here, so that no raw system error reaches the
// user without one.
func Hint(err error) string {
	err = native(err)
	var usage *UsageError
	if errors.As(err, &usage) {
		return usage.Hint
	}
	if h := hintText(err); h != "" {
		return h
	}
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		if s := h.Hint(); s != "" {
			return s
		}
	}
	if fail.KindOf(err) == fail.Refused {
		return "Note that a server refuses clients beyond its connection limit or outside its address lists; its log says which (sockit: --max-conns, --allow, --deny)."
	}
	var output *OutputError
	if errors.As(err, &output) {
		switch {
		case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
			return "Note that the disk (or your quota) is full: free some space, or write somewhere else."
		case errors.Is(err, syscall.EPIPE):
			return "Note that what was reading " + output.Name + " stopped reading."
		}
	}
	var unknownA x509.UnknownAuthorityError
	if errors.As(err, &unknownA) {
		return "Note that --ca FILE, --pin SHA256 or --insecure accept a certificate the system does not trust."
	}
	var addrErr *net.AddrError
	if errors.As(err, &addrErr) && isNoAddress(addrErr) {
		return "Note that the name has no address of the family asked for (-4/-6, tcp4/tcp6…); drop that, or give an address such as 127.0.0.1 or [::1]."
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsTimeout {
			return "Note that the DNS server did not answer in time; check the network or give an IP address."
		}
		return "Note that the name does not resolve here; check its spelling, or give an IP address."
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errnoHint(errno)
	}
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return "Note that nothing answered in time; check the address, or allow longer with -w/--timeout."
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "Note that the peer closed the connection before it was done."
	}
	return ""
}

// hintText is the first hint in err's chain that an error words for a
// front end (a HintText method), with its options written as flags.
func hintText(err error) string {
	for err != nil {
		if fh, ok := err.(interface{ HintText(fail.Namer) string }); ok {
			if h := fh.HintText(Flag); h != "" {
				return h
			}
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if h := hintText(e); h != "" {
					return h
				}
			}
			return ""
		default:
			return ""
		}
	}
	return ""
}

// errnoHint is the what-to-try line for each class of errno.
func errnoHint(e syscall.Errno) string {
	switch e {
	case syscall.ECONNREFUSED:
		return "Note that nothing is listening there; start a server first (sockit listen PORT)."
	case syscall.EADDRINUSE:
		return "Note that another program holds that address; pick another port or stop it."
	case syscall.EADDRNOTAVAIL:
		return "Note that the address is not one of this machine's (see ip addr), or no local port is free."
	case syscall.EACCES, syscall.EPERM:
		return "Note that the system refused: ports below 1024 need root (or CAP_NET_BIND_SERVICE), and a firewall may block the address."
	case syscall.ENETUNREACH, syscall.EHOSTUNREACH, syscall.ENETDOWN, syscall.EHOSTDOWN:
		return "Note that there is no route to that address from here; check the address and the network (ip route)."
	case syscall.EAFNOSUPPORT, syscall.EPROTONOSUPPORT, syscall.EPFNOSUPPORT:
		return "Note that this machine does not support that address family (IPv6 may be off); try -4."
	case syscall.ETIMEDOUT:
		return "Note that nothing answered in time; check the address, or allow longer with -w/--timeout."
	case syscall.ECONNRESET, syscall.ECONNABORTED:
		return "Note that the peer reset the connection: it closed with data unread, or it refuses what it got."
	case syscall.EPIPE, syscall.ENOTCONN, syscall.ESHUTDOWN:
		return "Note that the peer closed the connection while sockit was still sending."
	case syscall.EMFILE, syscall.ENFILE:
		return "Note that sockit ran out of file descriptors; raise the limit (ulimit -n) or use fewer connections."
	case syscall.ENOBUFS, syscall.ENOMEM:
		return "Note that the system ran out of memory for sockets; use fewer connections or smaller --buffer."
	case syscall.ENOSPC, syscall.EDQUOT:
		return "Note that the disk is full."
	case syscall.EROFS:
		return "Note that the file system is read-only; write the file elsewhere."
	case syscall.ENOENT, syscall.ENOTDIR:
		return "Note that the path does not exist; check it (for Unix sockets: is the server running?)."
	case syscall.EMSGSIZE:
		return "Note that a UDP datagram carries at most 65,507 bytes over IPv4, 65,527 over IPv6."
	case syscall.EINVAL:
		return "Note that the system refused an argument: check -s/--source, --buffer and the endpoint."
	}
	return "Note that the system reported " + errnoName(e) + "; see errno(3)."
}

// errnoName is the symbolic name of the common errnos, else the number.
func errnoName(e syscall.Errno) string {
	return fmt.Sprintf("errno %d (%v)", int(e), e)
}

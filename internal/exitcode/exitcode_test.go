package exitcode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCodeTable is the mapping of SPEC §2.6, class by class: each row is
// an error as sockit meets it (wrapped as the engine packages wrap it).
func TestCodeTable(t *testing.T) {
	wrap := func(err error) error {
		return fmt.Errorf("connect tcp://127.0.0.1:1: %w", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)})
	}
	for _, c := range []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, OK},
		{"usage", Usagef("bad"), Usage},
		{"usage wrapped", fmt.Errorf("x: %w", WithHint("h", "bad")), Usage},
		{"mismatch", Mismatchf("no"), NoMatch},
		{"interrupted", fmt.Errorf("x: %w", context.Canceled), Interrupted},
		{"tls marker", &TLSError{Err: errors.New("handshake")}, TLS},
		{"tls alert", &net.OpError{Op: "remote error", Err: errors.New("tls: bad certificate")}, TLS},
		{"dns not found", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, Unreachable},
		{"dns timeout", &net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true}, Timeout},
		{"no address of the family", &net.AddrError{Err: "no suitable address found", Addr: "localhost"}, Unreachable},
		{"invalid port", &net.AddrError{Err: "invalid port", Addr: "99999"}, Usage},
		{"unknown network", net.UnknownNetworkError("tcp7"), Usage},
		{"parse error", &net.ParseError{Type: "IP address", Text: "x"}, Usage},
		{"deadline", wrap(os.ErrDeadlineExceeded), Timeout},
		{"context deadline", context.DeadlineExceeded, Timeout},
		{"refused", wrap(syscall.ECONNREFUSED), Unreachable},
		{"host unreachable", wrap(syscall.EHOSTUNREACH), Unreachable},
		{"net unreachable", wrap(syscall.ENETUNREACH), Unreachable},
		{"net down", wrap(syscall.ENETDOWN), Unreachable},
		{"address in use", wrap(syscall.EADDRINUSE), Unreachable},
		{"address not available", wrap(syscall.EADDRNOTAVAIL), Unreachable},
		{"permission", wrap(syscall.EACCES), Unreachable},
		{"operation not permitted", wrap(syscall.EPERM), Unreachable},
		{"no IPv6", wrap(syscall.EAFNOSUPPORT), Unreachable},
		{"no such socket file", wrap(syscall.ENOENT), Unreachable},
		{"out of descriptors", wrap(syscall.EMFILE), Unreachable},
		{"out of buffers", wrap(syscall.ENOBUFS), Unreachable},
		{"disk full", &os.PathError{Op: "write", Path: "out", Err: syscall.ENOSPC}, Unreachable},
		{"timed out (errno)", wrap(syscall.ETIMEDOUT), Timeout},
		{"reset", wrap(syscall.ECONNRESET), Reset},
		{"broken pipe", wrap(syscall.EPIPE), Reset},
		{"aborted", wrap(syscall.ECONNABORTED), Reset},
		{"not connected", wrap(syscall.ENOTCONN), Reset},
		{"unexpected EOF", fmt.Errorf("socks5 proxy: %w", io.ErrUnexpectedEOF), Reset},
		{"EOF mid-handshake", fmt.Errorf("http proxy: %w", io.EOF), Reset},
		{"message too long", wrap(syscall.EMSGSIZE), Usage},
		{"invalid argument", wrap(syscall.EINVAL), Usage},
		{"unknown error", errors.New("something nobody classified"), Unreachable},
	} {
		if got := Code(c.err); got != c.want {
			t.Errorf("%s: Code(%v) = %d, want %d", c.name, c.err, got, c.want)
		}
	}
}

// TestNoErrnoIsOne checks every errno the kernel has: none may exit 1,
// which SPEC §2.6 keeps for --expect, and each has a what-to-try line.
func TestNoErrnoIsOne(t *testing.T) {
	for e := syscall.Errno(1); e < 200; e++ {
		err := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", e)}
		if c := Code(err); c == NoMatch || c == OK {
			t.Errorf("errno %d (%v): exit %d", int(e), e, c)
		}
		if Hint(err) == "" {
			t.Errorf("errno %d (%v): no hint line", int(e), e)
		}
	}
}

// TestRealErrors makes the errors on real sockets, as sockit meets them,
// and checks their codes and that each has a hint line.
func TestRealErrors(t *testing.T) {
	ctx := context.Background()
	var d net.Dialer

	// Refused: a port that was free a moment ago.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, refused := d.DialContext(ctx, "tcp", addr)

	// Address in use.
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, inUse := net.Listen("tcp", ln.Addr().String())

	// A port out of range, as a dial meets it (--proxy used to).
	_, badPort := d.DialContext(ctx, "tcp", "127.0.0.1:99999")

	// tcp6 to localhost: where localhost has no IPv6 address the resolver
	// says "no suitable address"; where it has ::1, nothing listens on
	// port 1. Either way it is 3, never 1.
	_, v6 := d.DialContext(ctx, "tcp6", "localhost:1")

	// A Unix socket path that does not exist.
	_, noSock := d.DialContext(ctx, "unix", filepath.Join(t.TempDir(), "none.sock"))

	// A datagram too large for UDP.
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	_, tooBig := pc.WriteTo(make([]byte, 70000), pc.LocalAddr())

	// A read deadline that passes.
	pc.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, _, timeout := pc.ReadFrom(make([]byte, 1))

	for _, c := range []struct {
		name string
		err  error
		want int
	}{
		{"refused", refused, Unreachable},
		{"address in use", inUse, Unreachable},
		{"port out of range", badPort, Usage},
		{"tcp6 localhost", v6, Unreachable},
		{"no such Unix socket", noSock, Unreachable},
		{"datagram too large", tooBig, Usage},
		{"read deadline", timeout, Timeout},
	} {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if got := Code(c.err); got != c.want {
			t.Errorf("%s: Code(%v) = %d, want %d", c.name, c.err, got, c.want)
		}
		if c.want != Usage && Hint(c.err) == "" {
			t.Errorf("%s: no hint for %v", c.name, c.err)
		}
	}
}

// hinted is an error that names what to try itself.
type hinted struct{ error }

func (hinted) Hint() string { return "Note that the error said so itself." }

func TestHint(t *testing.T) {
	if h := Hint(WithHint("Did you mean x?", "bad")); h != "Did you mean x?" {
		t.Errorf("usage hint: %q", h)
	}
	if h := Hint(fmt.Errorf("connect: %w", hinted{errors.New("x")})); h != "Note that the error said so itself." {
		t.Errorf("an error's own Hint method: %q", h)
	}
	if h := Hint(Usagef("bad")); h != "" {
		t.Errorf("a usage error without a hint got %q", h)
	}
	if h := Hint(&net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}); h == "" {
		t.Error("host not found: no hint")
	}
	if h := Hint(&net.AddrError{Err: "no suitable address found", Addr: "localhost"}); h == "" {
		t.Error("no address of the family: no hint")
	}
}

// TestOutputError: a failed local write exits 7 whatever its errno (EPIPE
// from a file or pipe is not a reset by the peer, exit 6), names the
// output without repeating the path, and says what to try.
func TestOutputError(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		msg, hint string
		gone      bool
	}{
		{"--record t.jsonl", &fs.PathError{Op: "write", Path: "t.jsonl", Err: syscall.ENOSPC}, "cannot write --record t.jsonl: no space left on device", "disk", false},
		{"stdout", &fs.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.EPIPE}, "cannot write stdout: broken pipe", "stopped reading", true},
		{"-o fifo", &fs.PathError{Op: "write", Path: "fifo", Err: syscall.EPIPE}, "cannot write -o fifo: broken pipe", "stopped reading", false},
		{"stdout", syscall.EIO, "cannot write stdout: input/output error", "errno 5", false},
	} {
		e := &OutputError{Name: tc.name, Err: tc.err}
		wrapped := fmt.Errorf("recv tcp://127.0.0.1:1: %w", e)
		if got := Code(wrapped); got != Output || Output != 7 {
			t.Errorf("%s: Code = %d, want %d", tc.msg, got, Output)
		}
		if e.Error() != tc.msg {
			t.Errorf("Error() = %q, want %q", e.Error(), tc.msg)
		}
		if h := Hint(wrapped); (tc.hint == "") != (h == "") || !strings.Contains(h, tc.hint) {
			t.Errorf("%s: hint %q, want one with %q", tc.msg, h, tc.hint)
		}
		if e.ReaderGone() != tc.gone {
			t.Errorf("%s: ReaderGone = %v", tc.msg, e.ReaderGone())
		}
	}
}

package endpoint

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/exitcode"
)

// Dialer opens client connections to endpoints. The zero value dials with
// the operating system's defaults, TCP_NODELAY on and no timeout.
type Dialer struct {
	Timeout   time.Duration // connect and DNS; 0 means none
	Source    string        // local address or port to bind before connecting (-s)
	KeepAlive time.Duration // TCP keepalive period; 0 keeps Go's default, <0 disables
	Nagle     bool          // leave Nagle's algorithm on (--nodelay=false)
	Buffer    int           // SO_SNDBUF and SO_RCVBUF, 0 for the default
	NoDNS     bool          // refuse host names (-n)
	Proxy     string        // socks5://[user:pass@]host:port or http://host:port
	TLS       *tls.Config   // for tls:// endpoints; nil uses system roots and the host as name
	Trace     Tracer        // socket steps (--trace); nil is off
	// Control, if set, is called on the socket before it connects, for
	// socket options of the caller's own (bench's TCP_MAXSEG).
	Control func(fd uintptr) error
}

// Dial connects to ep. For udp:// it returns a connected UDP socket, so
// ICMP port-unreachable surfaces as "connection refused" on the next read.
func (d *Dialer) Dial(ctx context.Context, ep Endpoint) (net.Conn, error) {
	c, err := d.dial(ctx, ep)
	if err != nil {
		return nil, &OpError{Op: "connect", Endpoint: ep.String(), Err: err}
	}
	return c, nil
}

func (d *Dialer) dial(ctx context.Context, ep Endpoint) (net.Conn, error) {
	if d.NoDNS && !ep.IsUnix() && !isIP(ep.Host) {
		return nil, exitcode.WithHint("Note that -n/--no-dns takes IP addresses only.",
			"host %q is a name and -n forbids DNS", ep.Host)
	}
	if h := strings.ToLower(strings.TrimSuffix(ep.Host, ".")); h == "invalid" || strings.HasSuffix(h, ".invalid") {
		// RFC 6761 §6.4: names under .invalid never resolve, and resolvers
		// should say so at once rather than ask (and maybe time out).
		return nil, &net.DNSError{Err: "no such host", Name: ep.Host, IsNotFound: true}
	}
	if d.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Timeout)
		defer cancel()
	}
	nd := &net.Dialer{KeepAlive: d.KeepAlive}
	if d.Source != "" {
		la, err := d.localAddr(ep)
		if err != nil {
			return nil, err
		}
		nd.LocalAddr = la
	}
	nd.Control = d.control(ep)

	var (
		c   net.Conn
		err error
	)
	if d.Proxy != "" {
		if ep.IsPacket() || ep.IsUnix() {
			return nil, exitcode.Usagef("--proxy carries TCP only, not %s", ep.Scheme)
		}
		c, err = d.dialProxy(ctx, nd, ep)
	} else {
		start := time.Now()
		c, err = nd.DialContext(ctx, ep.Network(), ep.Address())
		if err == nil && d.Trace != nil {
			d.Trace.connected(c, ep, time.Since(start))
		}
	}
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		if d.Nagle {
			tc.SetNoDelay(false)
		}
	}
	if ep.IsTLS() {
		c, err = d.handshake(ctx, c, ep)
		if err != nil {
			return nil, err
		}
	}
	if d.Trace != nil {
		c = d.Trace.wrap(c)
	}
	return c, nil
}

func (d *Dialer) localAddr(ep Endpoint) (net.Addr, error) {
	src := d.Source
	if ep.IsUnix() {
		return &net.UnixAddr{Name: src, Net: ep.Scheme}, nil
	}
	host, port := src, "0"
	if _, err := strconv.Atoi(src); err == nil {
		host, port = "", src
	} else if h, p, err := net.SplitHostPort(src); err == nil {
		host, port = h, p
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return nil, exitcode.Usagef("bad --source %q: want ADDR, PORT or ADDR:PORT", src)
	}
	var ip net.IP
	if host != "" {
		a, err := netip.ParseAddr(host)
		if err != nil {
			return nil, exitcode.Usagef("bad --source %q: %q is not an IP address", src, host)
		}
		ip = a.AsSlice()
	}
	if ep.IsUDP() {
		return &net.UDPAddr{IP: ip, Port: p}, nil
	}
	return &net.TCPAddr{IP: ip, Port: p}, nil
}

// control applies socket options before connect, and traces socket().
func (d *Dialer) control(ep Endpoint) func(network, address string, c syscall.RawConn) error {
	// A unixgram client needs an address of its own for replies to come
	// back to. Go does not bind an empty name, so bind here: the kernel
	// then picks an abstract one (autobind, unix(7)).
	autobind := ep.Scheme == "unixgram" && d.Source == ""
	if d.Buffer == 0 && d.Trace == nil && !autobind && d.Control == nil {
		return nil
	}
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if d.Trace != nil {
				d.Trace.socket(network, int(fd))
				if d.Source != "" {
					d.Trace("bind(%s)", d.Source)
				}
			}
			if autobind {
				if serr = unix.Bind(int(fd), &unix.SockaddrUnix{}); serr != nil {
					serr = os.NewSyscallError("bind", serr)
					return
				}
			}
			if serr = setBuffers(int(fd), d.Buffer, d.Trace); serr == nil && d.Control != nil {
				serr = d.Control(fd)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
}

func (d *Dialer) handshake(ctx context.Context, c net.Conn, ep Endpoint) (net.Conn, error) {
	cfg := d.TLS
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
		cfg = cfg.Clone()
		cfg.ServerName = ep.Host
	}
	// Note when the server asks for a client certificate: with TLS 1.3 a
	// server that rejects ours (or our lack of one) says so only after the
	// handshake, so the first read or write fails instead, and the error
	// should say why.
	var cr certRequest
	if cfg.GetClientCertificate == nil {
		cfg = cfg.Clone()
		certs := cfg.Certificates
		cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cr.asked.Store(true)
			for i := range certs {
				if cri.SupportsCertificate(&certs[i]) == nil {
					cr.sent.Store(true)
					return &certs[i], nil
				}
			}
			return &tls.Certificate{}, nil // send none, as crypto/tls would
		}
	}
	tc := tls.Client(c, cfg)
	if d.Trace != nil {
		d.Trace("tls handshake (client, server name %q)", cfg.ServerName)
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		if cr.asked.Load() {
			return nil, cr.explain(err)
		}
		return nil, tlsFailure(err)
	}
	if d.Trace != nil {
		st := tc.ConnectionState()
		d.Trace("tls established: %s, %s, alpn %q", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), st.NegotiatedProtocol)
	}
	if cr.asked.Load() {
		return &certConn{Conn: tc, cr: &cr}, nil
	}
	return tc, nil
}

// tlsFailure marks handshake errors as TLS failures (exit 5) unless the
// cause is a plain network error such as a reset or a timeout.
func tlsFailure(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return fmt.Errorf("tls handshake: %w", err)
	}
	return &exitcode.TLSError{Err: &tlsError{msg: "TLS handshake failed: " + TLSCause(err), err: err}}
}

// certRequest records whether the server asked for a client certificate
// and whether one was sent.
type certRequest struct {
	asked, sent atomic.Bool
}

// explain words a failure after the server asked for a client certificate:
// most likely it did not accept what it got.
func (cr *certRequest) explain(err error) error {
	cause := Cause(err)
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" {
		cause = "alert " + strings.TrimPrefix(op.Err.Error(), "tls: ")
	}
	msg := "the server asked for a client certificate, none was given (--client-cert, --client-key), and it ended the connection (" + cause + ")"
	if cr.sent.Load() {
		msg = "the server did not accept the client certificate and ended the connection (" + cause + ")"
	}
	return &exitcode.TLSError{Err: &tlsError{msg: msg, err: err}}
}

// certConn is a TLS client connection whose server asked for a client
// certificate. If the server breaks the connection before sending anything,
// the error says why it most likely did, and is a TLS failure (exit 5)
// rather than a reset.
type certConn struct {
	*tls.Conn
	cr    *certRequest
	heard atomic.Bool
}

func (c *certConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.heard.Store(true)
	}
	return n, c.explain(err)
}

func (c *certConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	return n, c.explain(err)
}

func (c *certConn) explain(err error) error {
	if err == nil || c.heard.Load() || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	return c.cr.explain(err)
}

func isIP(host string) bool {
	_, err := netip.ParseAddr(host)
	return err == nil
}

// OpError is a failed connect, bind or listen, worded for a person:
// "connect tcp://127.0.0.1:8888: connection refused".
type OpError struct {
	Op       string
	Endpoint string
	Err      error
}

func (e *OpError) Error() string {
	msg := e.Op + " " + e.Endpoint + ": " + Cause(e.Err)
	if strings.HasPrefix(e.Endpoint, "udp") && errors.Is(e.Err, syscall.ECONNREFUSED) {
		msg += " (an ICMP port unreachable came back: nothing listens on that UDP port)"
	}
	if strings.HasPrefix(e.Endpoint, "udp") && errors.Is(e.Err, syscall.EMSGSIZE) {
		msg += " (a UDP datagram carries at most 65,507 bytes over IPv4, 65,527 over IPv6)"
	}
	return msg
}
func (e *OpError) Unwrap() error { return e.Err }

// Cause renders an error without the layers Go's net package adds
// ("dial tcp 127.0.0.1:1: connect: connection refused" becomes
// "connection refused").
func Cause(err error) string {
	for {
		var op *net.OpError
		var sc *os.SyscallError
		switch {
		case errors.As(err, &op) && op.Err != nil && err == error(op):
			err = op.Err
		case errors.As(err, &sc) && err == error(sc):
			err = sc.Err
		default:
			if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
				return "timed out"
			}
			return err.Error()
		}
	}
}

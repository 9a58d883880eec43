package endpoint

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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

	"github.com/sockit/sockit/internal/fail"
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
	TLS       *tls.Config   // for tls://, wss:// and dtls:// endpoints; nil uses system roots and the host as name
	Trace     Tracer        // socket steps (--trace); nil is off
	// Control, if set, is called on the socket before it connects, for
	// socket options of the caller's own (bench's TCP_MAXSEG).
	Control func(fd uintptr) error

	Sockopts            // --ttl, --tos, --bind-dev, --broadcast
	Multicast Multicast // sending to a multicast group: --iface, --multicast-loop
	WebSocket WebSocket // ws:// and wss://: -H, --ws-protocol, --ws-binary, --ws-ping
	Retry     Retry     // --retry, --retry-delay, --forever
}

// Dial connects to ep. For udp:// it returns a connected UDP socket, so
// ICMP port-unreachable surfaces as "connection refused" on the next read
// (to a multicast group or a broadcast address, an unconnected one that
// reads replies from anyone). With Retry set, a failed connect is tried
// again after a growing pause.
func (d *Dialer) Dial(ctx context.Context, ep Endpoint) (net.Conn, error) {
	return d.Retry.do(ctx, ep, d.dialOnce)
}

func (d *Dialer) dialOnce(ctx context.Context, ep Endpoint) (net.Conn, error) {
	c, err := d.dial(ctx, ep)
	if err != nil {
		var refused *RefusedError
		var te *TLSError
		if errors.As(err, &refused) || errors.As(err, &te) && te.named {
			return nil, err // names the connect already
		}
		return nil, &OpError{Op: "connect", Endpoint: ep.String(), Err: err}
	}
	return c, nil
}

func (d *Dialer) dial(ctx context.Context, ep Endpoint) (net.Conn, error) {
	switch {
	case ep.IsSerial():
		if d.Proxy != "" {
			return nil, fail.Inputf("%s carries TCP only, not %s", OptProxy, ep.Scheme)
		}
		return openSerial(ep, d.Trace)
	case ep.IsWebSocket():
		if d.Timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d.Timeout)
			defer cancel()
		}
		return d.dialWS(ctx, ep)
	case ep.Scheme == "dtls":
		if d.Proxy != "" {
			return nil, fail.Inputf("%s carries TCP only, not %s", OptProxy, ep.Scheme)
		}
		if d.Timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d.Timeout)
			defer cancel()
		}
		return d.dialDTLS(ctx, ep)
	}
	if err := d.Sockopts.Check(); err != nil {
		return nil, err
	}
	if err := checkScheme(ep); err != nil {
		return nil, err
	}
	if d.NoDNS && !ep.IsUnix() && !isIP(ep.Host) {
		return nil, fail.Inputf("host %q is a name and %s forbids DNS", ep.Host, OptNoDNS).
			WithHint("Note that %s takes IP addresses only.", OptNoDNS)
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
	var tempAddr *net.UnixAddr
	if ep.Scheme == "unixgram" && d.Source == "" && !abstractAutobind {
		tempAddr = tempUnixgram()
		nd.LocalAddr = tempAddr
	}
	nd.Control = d.control(ep)

	var (
		c   net.Conn
		err error
	)
	if d.Proxy != "" {
		if ep.IsPacket() || ep.IsUnix() {
			return nil, fail.Inputf("%s carries TCP only, not %s", OptProxy, ep.Scheme)
		}
		c, err = d.dialProxy(ctx, nd, ep)
	} else if ep.IsUDP() && (IsMulticast(ep.Host) || isBroadcast(ep.Host)) {
		c, err = d.dialGroup(ctx, ep, nd)
	} else {
		tcp := !ep.IsPacket() && !ep.IsUnix()
		var held heldSockets
		if tcp {
			nd.Control = held.control(nd.Control)
		}
		start := time.Now()
		c, err = nd.DialContext(ctx, ep.Network(), ep.Address())
		if tcp {
			// A reset that overtook connect, after the server had sent
			// something: those bytes are still to be read, then the reset.
			if rc := held.rescue(err); rc != nil {
				c, err = rc, nil
			}
			held.release()
		}
		if err == nil && d.Trace != nil {
			d.Trace.connected(c, ep, time.Since(start))
		}
		if errors.Is(err, syscall.ECONNRESET) && !ep.IsPacket() && !ep.IsUnix() {
			// The handshake completed and the server reset the connection
			// before connect returned: it accepted and refused at once
			// (a reset answering the SYN would be "connection refused").
			return nil, &RefusedError{Endpoint: ep.String(), Err: err}
		}
	}
	if err != nil {
		if tempAddr != nil {
			os.Remove(tempAddr.Name)
		}
		return nil, err
	}
	if uc, ok := c.(*net.UnixConn); ok && tempAddr != nil {
		c = &unixgramConn{UnixConn: uc, path: tempAddr.Name}
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
		return nil, fail.Inputf("bad %s %q: want ADDR, PORT or ADDR:PORT", OptSource, src)
	}
	var ip net.IP
	if host != "" {
		a, err := netip.ParseAddr(host)
		if err != nil {
			return nil, fail.Inputf("bad %s %q: %q is not an IP address", OptSource, src, host)
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
	// back to. Go does not bind an empty name, so bind here: on Linux the
	// kernel then picks an abstract one (autobind, unix(7)).
	autobound := ep.Scheme == "unixgram" && d.Source == "" && abstractAutobind
	if d.Buffer == 0 && d.Trace == nil && !autobound && d.Sockopts.empty() && d.Control == nil {
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
			if autobound {
				if serr = autobind(fd); serr != nil {
					return
				}
			}
			if serr = d.Sockopts.apply(int(fd), network, d.Trace); serr != nil {
				return
			}
			if serr = setBuffers(fd, d.Buffer, d.Trace); serr == nil && d.Control != nil {
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
		refused := Refusal(c, ep.String(), err, false)
		c.Close()
		if refused != nil {
			// Reset before the server said a word: refused, not a TLS
			// failure (sockit refuses before the handshake).
			return nil, refused
		}
		if cr.asked.Load() {
			return nil, cr.explain(ep.String(), err)
		}
		return nil, tlsFailure(err, cfg.RootCAs)
	}
	if d.Trace != nil {
		st := tc.ConnectionState()
		d.Trace("tls established: %s, %s, alpn %q", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), st.NegotiatedProtocol)
	}
	if cr.asked.Load() {
		return &certConn{Conn: tc, cr: &cr, ep: ep.String()}, nil
	}
	return tc, nil
}

// tlsFailure marks handshake errors as TLS failures (exit 5) unless the
// cause is a plain network error such as a reset or a timeout. roots are
// the ones the client verified by (nil: the system's).
func tlsFailure(err error, roots *x509.CertPool) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return fmt.Errorf("tls handshake: %w", err)
	}
	var msg *fail.Error
	if cause := untrusted(err, roots); cause != nil {
		msg = fail.Errorf(fail.TLS, "TLS handshake failed: %s", cause.name).Because(err).About(cause.name.Option())
		pin := Fingerprint(cause.leaf.Raw)
		if selfSigned(cause.leaf) {
			msg.WithHint("Note that the certificate is self-signed: %s %s accepts exactly this one (compare it with the fingerprint the server printed), %s accepts any.", OptPin, pin, OptInsecure)
		} else {
			msg.WithHint("Note that %s %s accepts exactly this certificate, %s FILE the ones its issuer signed, %s any.", OptPin, pin, OptCA, OptInsecure)
		}
	} else {
		msg = fail.Wrapf(tlsCause(err).Because(err), "TLS handshake failed")
	}
	return &TLSError{msg: msg}
}

// certRequest records whether the server asked for a client certificate
// and whether one was sent.
type certRequest struct {
	asked, sent atomic.Bool
}

// explain words a failure after the server asked for a client certificate:
// most likely it did not accept what it got. The message names the
// connection, the same whether the handshake, a read, a write or the
// shutdown met the failure (the server's alert, or the reset that may
// overtake it), so that a client without a certificate reports the same
// line every time. It keeps no errno for callers to find (a reset here is
// the TLS failure, not exit 6); an alert's text says what the server
// objected to, when the alert was read.
func (cr *certRequest) explain(ep string, err error) error {
	var op *net.OpError
	alert := ""
	if errors.As(err, &op) && op.Op == "remote error" {
		alert = " (alert " + strings.TrimPrefix(op.Err.Error(), "tls: ") + ")"
	}
	msg := fail.Errorf(fail.TLS, "connect %s: the server asked for a client certificate, none was given, and it ended the connection", ep).About(OptClientCert).
		WithHint("Note that %s FILE and %s FILE give one; it must be signed by a CA the server trusts (its %s).", OptClientCert, OptClientKey, OptCA)
	if cr.sent.Load() {
		msg = fail.Errorf(fail.TLS, "connect %s: the server did not accept the client certificate and ended the connection%s", ep, alert).About(OptClientCert).
			WithHint("Note that the server takes certificates signed by the CA it trusts (its %s), valid now, for client use.", OptCA)
	}
	return &TLSError{msg: msg, named: true}
}

// certConn is a TLS client connection whose server asked for a client
// certificate. If the server breaks the connection before sending anything
// (with TLS 1.3 it checks the certificate only after the client has
// finished its handshake, so its alert, or the reset after it, meets the
// client's first read, write or shutdown), the error says why it most
// likely did, and is a TLS failure (exit 5) rather than a reset.
type certConn struct {
	*tls.Conn
	cr    *certRequest
	ep    string
	heard atomic.Bool
	shut  atomic.Bool
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

func (c *certConn) CloseWrite() error {
	c.shut.Store(true)
	return c.explain(c.Conn.CloseWrite())
}

func (c *certConn) explain(err error) error {
	if err == nil || c.heard.Load() || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	if errors.Is(err, io.EOF) && c.shut.Load() {
		// This side closed first: a server that answers that with its
		// own close said nothing wrong.
		return err
	}
	return c.cr.explain(c.ep, err)
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
	if e.broadcast() {
		msg += " (sending to a broadcast address must be allowed first: SO_BROADCAST)"
	}
	if strings.HasPrefix(e.Endpoint, "udp") && errors.Is(e.Err, syscall.EMSGSIZE) {
		msg += " (a UDP datagram carries at most 65,507 bytes over IPv4, 65,527 over IPv6)"
	}
	return msg
}
func (e *OpError) Unwrap() error { return e.Err }

// broadcast reports a UDP send the system refused as it refuses one to a
// broadcast address without SO_BROADCAST.
func (e *OpError) broadcast() bool {
	return strings.HasPrefix(e.Endpoint, "udp") && errors.Is(e.Err, syscall.EACCES)
}

// Option is the option that allows what the system refused, if one does
// (see fail.OptionOf).
func (e *OpError) Option() fail.Option {
	if e.broadcast() {
		return OptBroadcast
	}
	return ""
}

// HintText is what to try, with the option written by name, or "".
func (e *OpError) HintText(name fail.Namer) string {
	if e.broadcast() {
		return fail.Sprintf(name, "Note that %s allows sending to broadcast addresses.", OptBroadcast)
	}
	return ""
}

// Hint is what to try when a server cannot have its address (a front
// end asks): one this machine does not have, or a port below 1024 without the
// privilege to bind it.
func (e *OpError) Hint() string {
	if e.Op != "listen" {
		// The cause may know (a proxy's error does).
		var h interface{ Hint() string }
		if errors.As(e.Err, &h) {
			return h.Hint()
		}
		return ""
	}
	host, port := e.Endpoint, ""
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	if h, p, err := net.SplitHostPort(host); err == nil {
		host, port = h, p
	}
	switch {
	case errors.Is(e.Err, syscall.EADDRNOTAVAIL):
		return "Note that " + host + " is not an address of this machine; listen on :" + port + " for all of them, or on one that 'ip addr' lists."
	case errors.Is(e.Err, syscall.EACCES):
		if n, err := strconv.Atoi(port); err == nil && n > 0 && n < 1024 {
			return "Note that ports below 1024 need root or the CAP_NET_BIND_SERVICE capability; pick a port from 1024 up."
		}
	}
	return ""
}

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

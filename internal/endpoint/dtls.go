package endpoint

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/pion/dtls/v4"

	"github.com/sockit/sockit/internal/fail"
)

// dtlsHandshakeTimeout bounds a DTLS handshake when the Dialer has no
// timeout: over UDP a server that is not there may never answer at all.
const dtlsHandshakeTimeout = 30 * time.Second

// dialDTLS connects a UDP socket with the Dialer's options and does the
// DTLS handshake on it, verifying the server as for tls:// (system roots,
// --ca, --pin, --insecure, --sni) and offering the client certificate.
func (d *Dialer) dialDTLS(ctx context.Context, ep Endpoint) (net.Conn, error) {
	under := ep
	under.Scheme = ep.Network() // udp, udp4 or udp6
	uc, err := d.dial(ctx, under)
	if err != nil {
		return nil, err
	}
	cfg := d.TLS
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	name := cfg.ServerName
	if name == "" {
		name = ep.Host
	}
	opts := []dtls.ClientOption{
		dtls.WithServerName(name),
		dtls.WithInsecureSkipVerify(cfg.InsecureSkipVerify),
		dtls.WithExtendedMasterSecret(dtls.RequestExtendedMasterSecret),
		dtls.WithReceiveBufferSize(65535),
	}
	if cfg.RootCAs != nil {
		opts = append(opts, dtls.WithRootCAs(cfg.RootCAs))
	}
	if cfg.VerifyPeerCertificate != nil {
		opts = append(opts, dtls.WithVerifyPeerCertificate(cfg.VerifyPeerCertificate))
	}
	if len(cfg.Certificates) > 0 {
		opts = append(opts, dtls.WithCertificates(cfg.Certificates...))
	}
	if len(cfg.NextProtos) > 0 {
		opts = append(opts, dtls.WithSupportedProtocols(cfg.NextProtos...))
	}
	dc, err := dtls.Client(packetOf(uc), uc.RemoteAddr(), opts...)
	if err != nil {
		uc.Close()
		return nil, err
	}
	hctx := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		hctx, cancel = context.WithTimeout(ctx, dtlsHandshakeTimeout)
		defer cancel()
	}
	if d.Trace != nil {
		d.Trace("dtls handshake (client, server name %q)", name)
	}
	if err := dc.HandshakeContext(hctx); err != nil {
		dc.Close()
		uc.Close()
		return nil, dtlsFailure(err)
	}
	if d.Trace != nil {
		if st, ok := dc.ConnectionState(); ok {
			d.Trace("dtls established: cipher suite %v", st.CipherSuiteID)
		}
	}
	return &dtlsConn{Conn: dc}, nil
}

// dtlsFailure marks handshake errors as TLS failures (exit 5), except the
// network's own (refused, timed out).
func dtlsFailure(err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return &timeoutError{msg: "DTLS handshake timed out: no answer (is a DTLS server there? openssl s_server -dtls answers)", err: err}
	}
	// An ICMP port unreachable on the connected socket: nothing listens.
	// Said plainly, without the layers of the read that met it.
	if errors.Is(err, syscall.ECONNREFUSED) {
		return syscall.ECONNREFUSED
	}
	if errors.Is(err, syscall.ECONNRESET) {
		return err
	}
	msg := strings.TrimPrefix(Cause(err), "dtls fatal: ")
	var pe *pinError
	if errors.As(err, &pe) {
		msg = pe.Error()
	}
	return &TLSError{msg: fail.Errorf(fail.TLS, "DTLS handshake failed: %s", msg).Because(err)}
}

// timeoutError is a timeout with a message of its own.
type timeoutError struct {
	msg string
	err error
}

func (e *timeoutError) Error() string   { return e.msg }
func (e *timeoutError) Unwrap() error   { return os.ErrDeadlineExceeded }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return false }

// dtlsConn is a DTLS connection: each Read is one record, each Write one.
type dtlsConn struct {
	*dtls.Conn
}

// PreservesMessages marks the conn as one whose reads are whole messages.
func (c *dtlsConn) PreservesMessages() bool { return true }

// maxRecord is the most application data one DTLS record carries (2^14,
// RFC 6347 §4.3.1). A larger write goes as several records.
const maxRecord = 16384

func (c *dtlsConn) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 || n == 0 {
		chunk := p[:min(len(p), maxRecord)]
		m, err := c.Conn.Write(chunk)
		n += m
		if err != nil {
			return n, dtlsIOError(err)
		}
		p = p[len(chunk):]
		if len(p) == 0 {
			break
		}
	}
	return n, nil
}

func (c *dtlsConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	return n, dtlsIOError(err)
}

// dtlsIOError gives a deadline that passed as os.ErrDeadlineExceeded, as
// the net package does, so that callers tell it by errors.Is.
func dtlsIOError(err error) error {
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w (%v)", os.ErrDeadlineExceeded, err)
	}
	return err
}

// PeerCertificates is the certificate chain the peer sent, leaf first.
func (c *dtlsConn) PeerCertificates() [][]byte {
	st, ok := c.ConnectionState()
	if !ok {
		return nil
	}
	return st.PeerCertificates
}

// dtlsListen opens a UDP socket on ep with the ListenConfig's options and
// serves DTLS on it: Accept returns one conversation per client address,
// whose handshake runs at its first read or write (or when the server
// calls HandshakeContext, as sockit's does).
func (lc *ListenConfig) dtlsListen(ctx context.Context, ep Endpoint) (net.Listener, error) {
	if lc.TLS == nil {
		return nil, &OpError{Op: "listen", Endpoint: ep.String(), Err: errors.New("no TLS configuration")}
	}
	under := ep
	under.Scheme = ep.Network() // udp, udp4 or udp6
	pc, err := lc.ListenPacket(ctx, under)
	if err != nil {
		return nil, err
	}
	cfg := lc.TLS
	opts := []dtls.ServerOption{
		dtls.WithCertificates(cfg.Certificates...),
		dtls.WithExtendedMasterSecret(dtls.RequestExtendedMasterSecret),
		dtls.WithReceiveBufferSize(65535),
	}
	if cfg.ClientCAs != nil {
		opts = append(opts, dtls.WithClientCAs(cfg.ClientCAs), dtls.WithClientAuth(dtls.RequireAndVerifyClientCert))
	}
	if len(cfg.NextProtos) > 0 {
		opts = append(opts, dtls.WithSupportedProtocols(cfg.NextProtos...))
	}
	ln, err := dtls.Listen(pc, opts...)
	if err != nil {
		pc.Close()
		return nil, &OpError{Op: "listen", Endpoint: ep.String(), Err: err}
	}
	return &dtlsListener{Listener: ln, pc: pc}, nil
}

type dtlsListener struct {
	net.Listener
	pc net.PacketConn
}

func (l *dtlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if dc, ok := c.(*dtls.Conn); ok {
		return &dtlsConn{Conn: dc}, nil
	}
	return c, nil
}

// Addr is the UDP address served (the DTLS listener reports it too, but
// from the socket it was given, which is this one).
func (l *dtlsListener) Addr() net.Addr { return l.pc.LocalAddr() }

// packetOf presents a connected datagram socket as the net.PacketConn
// pion's DTLS client wants: its reads come from the one peer, and its
// writes go there (a connected UDP socket refuses sendto with an address,
// but lets ICMP errors such as port unreachable reach the reader).
func packetOf(c net.Conn) net.PacketConn { return connectedPacket{c} }

type connectedPacket struct{ net.Conn }

func (c connectedPacket) ReadFrom(p []byte) (int, net.Addr, error) {
	n, err := c.Read(p)
	return n, c.RemoteAddr(), err
}

func (c connectedPacket) WriteTo(p []byte, _ net.Addr) (int, error) { return c.Write(p) }

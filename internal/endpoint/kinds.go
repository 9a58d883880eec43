package endpoint

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strconv"
)

// listenKind opens the listeners of the endpoints that are not plain
// sockets: a serial port, a WebSocket server, a DTLS server. ok is false
// for the others.
func (lc *ListenConfig) listenKind(ctx context.Context, ep Endpoint) (ln net.Listener, err error, ok bool) {
	switch {
	case ep.IsSerial():
		l, err := newSerialListener(ep, lc.Trace)
		if err != nil {
			return nil, &OpError{Op: "open", Endpoint: ep.String(), Err: err}, true
		}
		return l, nil, true
	case ep.IsWebSocket():
		ln, err := lc.wsListen(ctx, ep)
		return ln, err, true
	case ep.Scheme == "dtls":
		ln, err := lc.dtlsListen(ctx, ep)
		return ln, err, true
	}
	if err := lc.Sockopts.Check(); err != nil {
		return nil, err, true
	}
	return nil, nil, false
}

// PreservesMessages reports whether each read of c returns one whole
// message and each write sends one (a WebSocket, a DTLS connection),
// looking through wrappers such as --trace's. Session treats such a conn
// as it treats datagrams.
func PreservesMessages(c net.Conn) bool {
	for range 8 {
		if m, ok := c.(interface{ PreservesMessages() bool }); ok {
			return m.PreservesMessages()
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return false
		}
		c = u.NetConn()
	}
	return false
}

// MessageRemaining is how much of the message a message-preserving conn
// (PreservesMessages) still holds after a Read that filled its buffer, 0
// when none or when c does not say.
func MessageRemaining(c net.Conn) int {
	for range 8 {
		if m, ok := c.(interface{ MessageRemaining() int }); ok {
			return m.MessageRemaining()
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return 0
		}
		c = u.NetConn()
	}
	return 0
}

// PeerClose describes how the peer closed c when its protocol says (a
// WebSocket close frame: "close 1000 (normal closure)"), or "".
func PeerClose(c net.Conn) string {
	for range 8 {
		if m, ok := c.(interface{ PeerClose() string }); ok {
			if s := m.PeerClose(); s != "" {
				return "close " + s
			}
			return ""
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return ""
		}
		c = u.NetConn()
	}
	return ""
}

// PeerCertificate is the certificate the peer of a TLS, wss or DTLS
// connection presented, or nil (a plain connection, or none was sent).
func PeerCertificate(c net.Conn) *x509.Certificate {
	for range 8 {
		switch u := c.(type) {
		case interface{ ConnectionState() tls.ConnectionState }:
			if pc := u.ConnectionState().PeerCertificates; len(pc) > 0 {
				return pc[0]
			}
			return nil
		case interface{ PeerCertificates() [][]byte }:
			if raw := u.PeerCertificates(); len(raw) > 0 {
				cert, err := x509.ParseCertificate(raw[0])
				if err == nil {
					return cert
				}
			}
			return nil
		case interface{ Under() net.Conn }:
			c = u.Under()
		case interface{ NetConn() net.Conn }:
			c = u.NetConn()
		default:
			return nil
		}
	}
	return nil
}

// DescribeCertificate is one line about a peer's certificate, for -v:
// subject, issuer, validity and the SHA-256 fingerprint --pin takes.
func DescribeCertificate(cert *x509.Certificate) string {
	return "peer certificate: subject " + strconv.Quote(cert.Subject.String()) +
		", issuer " + strconv.Quote(cert.Issuer.String()) +
		", valid until " + cert.NotAfter.UTC().Format("2006-01-02") +
		", SHA256 " + Fingerprint(cert.Raw)
}

package talk

import (
	"context"
	"net"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/server"
)

// Listening is a server's listening side, set up the same way for every
// command that listens (listen, relay, replay --as server) and for the
// web UI's servers: where, the socket options, and for TLS the server
// certificate, an ephemeral self-signed one when none is given (its
// fingerprint in Ephemeral, for the front end to show so that clients
// can pin it).
type Listening struct {
	Endpoint endpoint.Endpoint
	Config   *endpoint.ListenConfig
	// Ephemeral is the SHA-256 fingerprint of the self-signed certificate
	// made for this listener, or "" (a certificate was given, or no TLS).
	Ephemeral string

	sends     bool // Options.ListenSends
	broadcast bool
}

// NewListening sets up listening on ep with opt's socket and endpoint
// kind options, and for a TLS endpoint the certificate opt.TLSOptions
// names (or an ephemeral one).
func NewListening(ep endpoint.Endpoint, opt Options) (*Listening, error) {
	lc := &endpoint.ListenConfig{
		NoReuseAddr: opt.NoReuseAddr,
		Buffer:      opt.Buffer,
		Trace:       opt.Trace,
		Sockopts:    opt.Sockopts,
		Multicast:   opt.Multicast,
		WebSocket:   opt.WebSocket,
	}
	if !opt.ListenSends {
		lc.Sockopts.Broadcast = false // a sender's option
	}
	if err := lc.Sockopts.Check(); err != nil {
		return nil, err
	}
	l := &Listening{Endpoint: ep, Config: lc, sends: opt.ListenSends, broadcast: opt.Sockopts.Broadcast}
	if ep.IsTLS() {
		cfg, fp, err := opt.TLSOptions.Server()
		if err != nil {
			return nil, err
		}
		lc.TLS = cfg
		if opt.TLSOptions.Cert == "" {
			l.Ephemeral = fp
		}
	}
	return l, nil
}

// Socket is an open listening socket, not yet served: a stream listener,
// a datagram socket, or for the batched UDP echo one datagram socket per
// core.
type Socket struct {
	ln    net.Listener
	pc    net.PacketConn
	pcs   []net.PacketConn
	bench bool // pcs count bench datagrams rather than echo them
}

// Open opens the listening socket. For a datagram server that only
// echoes (srv.PacketEcho) and can take the batched path, it opens one
// socket per core on the same port.
func (l *Listening) Open(ctx context.Context, srv *server.Server) (*Socket, error) {
	ep := l.Endpoint
	if !ep.IsPacket() {
		ln, err := l.Config.Listen(ctx, ep)
		if err != nil {
			return nil, err
		}
		return &Socket{ln: ln}, nil
	}
	if srv != nil && srv.PacketBench && ep.IsUDP() {
		// Datagrams counted on one socket per core, with room for the
		// bursts of a one-way sender that nothing slows down.
		cfg := l.Config
		if cfg.Buffer == 0 {
			c := *cfg
			c.Buffer = 4 << 20
			cfg = &c
		}
		pcs, err := server.ListenPacketPerCore(ctx, cfg, ep, 0)
		if err != nil {
			return nil, err
		}
		return &Socket{pcs: pcs, bench: true}, nil
	}
	if srv != nil && srv.PacketEcho && ep.IsUDP() && srv.FastPacketEcho() {
		pcs, err := server.ListenPacketPerCore(ctx, l.Config, ep, 0)
		if err != nil {
			return nil, err
		}
		return &Socket{pcs: pcs}, nil
	}
	pc, err := l.Config.ListenPacket(ctx, ep)
	if err != nil {
		return nil, err
	}
	if l.sends && ep.IsUDP() {
		if err := endpoint.PrepareSender(pc, l.broadcast, l.Config.Multicast); err != nil {
			pc.Close()
			return nil, &endpoint.OpError{Op: "setsockopt", Endpoint: ep.String(), Err: err}
		}
	}
	return &Socket{pc: pc}, nil
}

// Addr is the address the socket is bound to.
func (so *Socket) Addr() net.Addr {
	switch {
	case so.ln != nil:
		return so.ln.Addr()
	case so.pc != nil:
		return so.pc.LocalAddr()
	}
	return so.pcs[0].LocalAddr()
}

// PacketConn is the datagram socket (nil for a stream listener, or the
// batched echo's sockets): the web UI sends from it to addresses that are
// not peers yet.
func (so *Socket) PacketConn() net.PacketConn { return so.pc }

// Serve runs srv on the socket until it ends (see server.Server.Serve).
func (so *Socket) Serve(ctx context.Context, srv *server.Server) error {
	switch {
	case so.ln != nil:
		return srv.Serve(ctx, so.ln)
	case so.pc != nil:
		return srv.ServePacket(ctx, so.pc)
	case so.bench:
		return srv.ServePacketBench(ctx, so.pcs)
	}
	return srv.ServePacketEcho(ctx, so.pcs)
}

// Close closes a socket that will not be served.
func (so *Socket) Close() error {
	switch {
	case so.ln != nil:
		return so.ln.Close()
	case so.pc != nil:
		return so.pc.Close()
	}
	for _, pc := range so.pcs {
		pc.Close()
	}
	return nil
}

// Serve opens the listening socket and runs srv on it until it ends.
func (l *Listening) Serve(ctx context.Context, srv *server.Server) error {
	so, err := l.Open(ctx, srv)
	if err != nil {
		return err
	}
	return so.Serve(ctx, srv)
}

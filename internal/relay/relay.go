package relay

import (
	"context"
	"net"
	"time"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/server"
	"github.com/sockit/sockit/internal/session"
)

// Relay listens on From and forwards every connection (or, for datagram
// endpoints, every client address) to To. The zero value of each optional
// field works.
type Relay struct {
	From, To endpoint.Endpoint
	Listen   *endpoint.ListenConfig // for From; its TLS config terminates tls:// (nil: defaults)
	Dialer   *endpoint.Dialer       // for To; its TLS config originates tls:// (nil: defaults)

	MaxConns    int         // refuse clients beyond this many at once; as server.Server.MaxConns (0: its default)
	Allow, Deny *server.ACL // as listen --allow/--deny
	Sink        event.Sink  // events: listen, connect, close, refused, and data when Data is set
	Data        bool        // emit data events (--log, --hex); off keeps the fast path
	Idle        time.Duration
	// Idle closes a conversation after this long without traffic: for
	// datagram mappings the default is 60s; streams have none by default.

	// WrapClient and WrapUpstream, if set, wrap each accepted client
	// connection and each upstream connection before data moves, and
	// WrapPacket wraps the datagram socket on From: the hooks relay
	// --impair slots its fault injection into. Wrapped streams are copied
	// through a buffer instead of spliced.
	WrapClient   func(net.Conn) net.Conn
	WrapUpstream func(net.Conn) net.Conn
	WrapPacket   func(net.PacketConn) net.PacketConn

	// Ready, if set, is called with the bound address once From listens.
	Ready func(net.Addr)
}

// Check reports whether a relay can forward from one endpoint to the
// other: stream to stream, datagram to datagram, and datagrams to a
// stream (one connection per client address). A stream cannot be
// forwarded to datagrams: it has no message boundaries to cut them at,
// and a datagram upstream has no end to pass back to the client.
func Check(from, to endpoint.Endpoint) error {
	if !from.Messages() && to.IsPacket() {
		return exitcode.WithHint(
			"Note that relay forwards stream to stream, datagram to datagram, and datagrams to a stream (udp:// to tcp://, one connection per client address).",
			"cannot forward a stream (%s) to datagrams (%s): a byte stream has no message boundaries to cut datagrams at", from, to)
	}
	return nil
}

// DefaultPacketIdle is how long a datagram mapping lives without traffic.
const DefaultPacketIdle = 60 * time.Second

// Run listens and relays until ctx is cancelled; it returns ctx.Err()
// then, or the error that stopped the listener.
func (r *Relay) Run(ctx context.Context) error {
	if err := Check(r.From, r.To); err != nil {
		return err
	}
	lc := r.Listen
	if lc == nil {
		lc = &endpoint.ListenConfig{}
	}
	d := r.Dialer
	if d == nil {
		d = &endpoint.Dialer{}
	}
	fw := &Forward{
		Dial:         func(ctx context.Context) (net.Conn, error) { return d.Dial(ctx, r.To) },
		WrapUpstream: r.WrapUpstream,
	}
	srv := &server.Server{
		Handler:  fw.Handler(),
		MaxConns: r.MaxConns,
		Allow:    r.Allow,
		Deny:     r.Deny,
		Sink:     r.Sink,
		Conn: session.Options{
			Proto:  r.From.Proto(),
			Sink:   r.Sink,
			NoData: !r.Data,
		},
	}
	if r.From.IsPacket() {
		fw.Idle = r.Idle
		if fw.Idle <= 0 {
			fw.Idle = DefaultPacketIdle
		}
		pc, err := lc.ListenPacket(ctx, r.From)
		if err != nil {
			return err
		}
		if r.WrapPacket != nil {
			pc = r.WrapPacket(pc)
		}
		if r.Ready != nil {
			r.Ready(pc.LocalAddr())
		}
		return srv.ServePacket(ctx, pc)
	}
	srv.Conn.IdleTimeout = r.Idle
	ln, err := lc.Listen(ctx, r.From)
	if err != nil {
		return err
	}
	if r.WrapClient != nil {
		ln = &wrapListener{Listener: ln, wrap: r.WrapClient}
	}
	if r.Ready != nil {
		r.Ready(ln.Addr())
	}
	return srv.Serve(ctx, ln)
}

type wrapListener struct {
	net.Listener
	wrap func(net.Conn) net.Conn
}

func (l *wrapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return wrap(c, l.wrap), nil
}

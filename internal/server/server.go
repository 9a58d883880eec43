// Package server runs sockit's servers: it accepts connections on stream
// listeners and sorts datagrams into per-peer conversations on packet
// sockets, applies --allow/--deny and --max-conns, and hands each
// conversation to a behaviour (stdio, echo, discard, chat, reply, exec,
// forward…).
//
// It does not parse flags or print: events go to the Sink it is given.
package server

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/session"
)

// Handler is a behaviour: what the server does with one conversation. It
// returns when the conversation is over; the server then closes it.
type Handler func(ctx context.Context, c *session.Conn) error

// Server accepts conversations and runs Handler on each. Configure it with
// its fields before calling Serve or ServePacket, and do not change them
// afterwards.
type Server struct {
	Handler  Handler
	Conn     session.Options // template for every conversation (framing, sink, idle timeout); ID is set per conversation
	MaxConns int             // 0 is unlimited
	Allow    *ACL
	Deny     *ACL
	Once     bool            // serve one conversation, then stop (listen without -k)
	Sink     event.Sink      // server-wide events: listen, refused, error
	Trace    endpoint.Tracer // recvfrom/sendto steps on datagram servers

	// PacketEcho says that Handler is Echo, so that a datagram server may
	// take the batched path (FastPacketEcho, ServePacketEcho).
	PacketEcho bool
	// PacketBench says that Handler is Bench, so that a datagram server
	// counts datagrams on its sockets' own goroutines (ServePacketBench).
	PacketBench bool

	// OnOpen, if set, is called for each new conversation before Handler.
	OnOpen func(c *session.Conn)

	nextID  atomic.Uint64
	mu      sync.Mutex
	conns   map[uint64]*session.Conn
	wg      sync.WaitGroup
	proto   string
	dropped atomic.Int64

	fastActive atomic.Int64 // peers of ServePacketEcho
}

// ErrServerClosed is returned by Serve after the context is cancelled.
var ErrServerClosed = errors.New("server closed")

func (s *Server) emit(e *event.Event) {
	if s.Sink == nil {
		return
	}
	e.Time = time.Now()
	if e.Proto == "" {
		e.Proto = s.proto
	}
	s.Sink(e)
}

// Serve accepts connections on ln until ctx is cancelled (then it closes
// every conversation and returns ctx.Err()), or, with Once, until the first
// conversation ends (then it returns that conversation's error).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.init(protoOf(ln.Addr()))
	s.emit(&event.Event{Kind: event.Listen, Local: ln.Addr().String()})
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer ln.Close()

	var onceErr chan error
	if s.Once {
		onceErr = make(chan error, 1)
	}
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				s.closeAll("server shutting down")
				s.wg.Wait()
				return ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of file descriptors and the like: wait, then retry,
				// as net/http does, rather than spin or give up.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.emit(&event.Event{Kind: event.Error, Local: ln.Addr().String(), Err: "accept: " + endpoint.Cause(err)})
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
				}
				continue
			}
			s.closeAll("server shutting down")
			s.wg.Wait()
			return err
		}
		backoff = 0
		if !s.admit(nc.RemoteAddr()) {
			nc.Close()
			continue
		}
		if hs, ok := nc.(handshaker); ok {
			// TLS: a client that fails the handshake is logged and is not
			// a conversation, so it does not use up listen's one client.
			// With -k the handshakes run beside the accept loop.
			if s.Once {
				if !s.handshake(ctx, nc, hs) {
					continue
				}
			} else {
				s.wg.Add(1)
				go func() {
					defer s.wg.Done()
					if s.handshake(ctx, nc, hs) {
						s.start(ctx, nc, false, nil)
					}
				}()
				continue
			}
		}
		s.start(ctx, nc, false, onceErr)
		if s.Once {
			// One conversation only: later connections are refused by the
			// kernel, as with nc -l and ncat -l.
			ln.Close()
			err := <-onceErr
			s.wg.Wait()
			return err
		}
	}
}

// handshaker is a connection with a handshake to do first (*tls.Conn).
type handshaker interface {
	HandshakeContext(context.Context) error
}

// handshakeTimeout bounds a TLS handshake, so a client that connects and
// says nothing cannot hold a server that serves one client.
const handshakeTimeout = 10 * time.Second

// handshake completes a TLS handshake, or logs why it failed and closes nc.
func (s *Server) handshake(ctx context.Context, nc net.Conn, hs handshaker) bool {
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	if err := hs.HandshakeContext(hctx); err != nil {
		nc.Close()
		if ctx.Err() == nil {
			s.emit(&event.Event{Kind: event.Error, Peer: nc.RemoteAddr().String(), Err: "tls handshake failed: " + endpoint.TLSCause(err)})
		}
		return false
	}
	return true
}

func protoOf(a net.Addr) string {
	switch a.Network() {
	case "unix", "unixgram":
		return a.Network()
	case "udp", "udp4", "udp6":
		return "udp"
	}
	return "tcp"
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func (s *Server) init(proto string) {
	s.mu.Lock()
	if s.conns == nil {
		s.conns = map[uint64]*session.Conn{}
	}
	if s.Conn.Proto != "" {
		proto = s.Conn.Proto
	}
	s.proto = proto
	s.mu.Unlock()
}

// admit applies --allow, --deny and --max-conns to a new peer.
func (s *Server) admit(addr net.Addr) bool {
	if ap, ok := addrPort(addr); ok {
		if ok, why := admit(s.Allow, s.Deny, ap.Addr()); !ok {
			s.emit(&event.Event{Kind: event.Refused, Peer: addr.String(), Reason: why})
			return false
		}
	}
	if s.MaxConns > 0 && s.Active() >= s.MaxConns {
		s.emit(&event.Event{Kind: event.Refused, Peer: addr.String(), Reason: "--max-conns " + strconv.Itoa(s.MaxConns) + " reached"})
		return false
	}
	return true
}

func addrPort(a net.Addr) (netip.AddrPort, bool) {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort(), true
	case *net.UDPAddr:
		return a.AddrPort(), true
	}
	return netip.AddrPort{}, false
}

// start runs the handler for a new connection on its own goroutine.
func (s *Server) start(ctx context.Context, nc net.Conn, packet bool, done chan<- error) *session.Conn {
	opt := s.Conn
	opt.ID = s.nextID.Add(1)
	opt.Packet = packet
	if opt.Proto == "" {
		opt.Proto = s.proto
	}
	c := session.New(nc, opt)
	s.mu.Lock()
	s.conns[opt.ID] = c
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if s.OnOpen != nil {
			s.OnOpen(c)
		}
		err := s.Handler(ctx, c)
		if ctx.Err() != nil {
			c.SetReason("server shutting down")
		}
		// Free the slot before Close reports "closed": a client that
		// connects once it has seen that line must not meet a full
		// --max-conns.
		s.mu.Lock()
		delete(s.conns, opt.ID)
		s.mu.Unlock()
		c.Close(err)
		if done != nil {
			done <- err
		}
	}()
	return c
}

// Active is the number of conversations now open.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns) + int(s.fastActive.Load())
}

// Conns returns the open conversations, oldest first.
func (s *Server) Conns() []*session.Conn {
	s.mu.Lock()
	out := make([]*session.Conn, 0, len(s.conns))
	for _, c := range s.conns {
		out = append(out, c)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out
}

// Lookup finds an open conversation by peer address or by "#ID".
func (s *Server) Lookup(peer string) *session.Conn {
	for _, c := range s.Conns() {
		if c.Peer() == peer || "#"+strconv.FormatUint(c.ID(), 10) == peer || strconv.FormatUint(c.ID(), 10) == peer {
			return c
		}
	}
	return nil
}

// Broadcast writes msg to every open conversation and returns the first
// error.
func (s *Server) Broadcast(msg []byte) error {
	var first error
	for _, c := range s.Conns() {
		if err := c.Write(msg); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// closeAll closes every conversation, for shutdown.
func (s *Server) closeAll(reason string) {
	for _, c := range s.Conns() {
		c.SetReason(reason)
		c.NetConn().Close()
	}
}

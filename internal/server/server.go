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
	"fmt"
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
	"github.com/sockit/sockit/internal/tcpsock"
)

// Handler is a behaviour: what the server does with one conversation. It
// returns when the conversation is over; the server then closes it.
type Handler func(ctx context.Context, c *session.Conn) error

// Server accepts conversations and runs Handler on each. Configure it with
// its fields before calling Serve or ServePacket, and do not change them
// afterwards.
type Server struct {
	Handler Handler
	Conn    session.Options // template for every conversation (framing, sink, idle timeout); ID is set per conversation
	// MaxConns caps the conversations at once (TLS handshakes in progress
	// count too); a peer beyond it is refused. 0 is the default for the
	// kind of server: DefaultMaxPeers for datagram servers, whose senders
	// cost a conversation each and can be spoofed at will; no cap for
	// stream servers, whose clients must complete a handshake and are
	// bounded by the listen backlog and file descriptors. Negative is no
	// cap at all.
	MaxConns int
	Allow    *ACL // nil: no allow list; empty: admit no one
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

	fastActive  atomic.Int64 // peers of ServePacketEcho
	handshaking atomic.Int64 // TLS handshakes in progress (Serve)

	refusedN atomic.Int64 // peers turned away, in all
	rmu      sync.Mutex   // the refusal log's rate limit:
	rwindow  time.Time    // start of the current second
	rshown   int          // refusals logged in it
	rhidden  int64        // refusals not logged since the last one that was

	queued      atomic.Int64 // bytes of datagrams waiting for their handlers (ServePacket)
	queueBudget int64        // the most that may wait; 0 is maxQueued (tests lower it)
}

// The default caps (README "Server flags (listen)").
const (
	// DefaultMaxPeers caps a datagram server's peers at once: each one
	// is a conversation (a goroutine and a queue; with --exec a process;
	// in relay an upstream socket), and a UDP source address costs a
	// sender nothing to forge.
	DefaultMaxPeers = 1024
	// DefaultMaxExec caps the --exec processes alive at once, on any
	// transport (the CLI sets it).
	DefaultMaxExec = 100
)

// refusedBurst is how many refusals a second are logged one by one; the
// rest are counted and said in the next line logged, so that a flood (of
// forged UDP senders, say) is not a flood on stderr.
const refusedBurst = 20

func (s *Server) emit(e *event.Event) {
	if s.Sink == nil {
		return
	}
	e.Time = time.Now()
	if e.Proto == "" {
		// Under mu: a Hub may speak before Serve has set it.
		s.mu.Lock()
		e.Proto = s.proto
		s.mu.Unlock()
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
	defer s.refusedSummary()

	var onceErr chan error
	if s.Once {
		onceErr = make(chan error, 1)
	}
	// TLS handshakes run beside the accept loop, each on its own
	// goroutine, so that a client that connects and says nothing holds up
	// no one. Without -k the first to complete is the one client: it
	// closes the listener and refuses the handshakes still in progress.
	var hs handshakes
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if hs.over() {
				err := <-onceErr
				s.wg.Wait()
				return err
			}
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
			refuse(nc)
			continue
		}
		if h, ok := nc.(handshaker); ok {
			// TLS: a client that fails the handshake is logged and is not
			// a conversation, so it does not use up listen's one client.
			if s.handshaking.Add(1) > maxHandshakes {
				s.handshaking.Add(-1)
				s.refused(nc.RemoteAddr().String(), refusal{why: "too many TLS handshakes in progress (" + strconv.Itoa(maxHandshakes) + ")"})
				refuse(nc)
				continue
			}
			if !hs.add(nc) {
				s.handshaking.Add(-1)
				s.refused(nc.RemoteAddr().String(), oneOnly("client"))
				refuse(nc)
				continue
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				ok := s.handshake(ctx, nc, h, &hs)
				s.handshaking.Add(-1)
				switch {
				case !ok:
				case !s.Once:
					hs.done(nc)
					s.start(ctx, nc, false, nil)
				case hs.win(nc):
					ln.Close() // before "connected": see below
					s.start(ctx, nc, false, onceErr)
				default:
					s.refused(nc.RemoteAddr().String(), oneOnly("client"))
					refuse(nc)
				}
			}()
			continue
		}
		if s.Once {
			// One conversation only: later connections are refused by the
			// kernel, as with nc -l and ncat -l. From the moment the client
			// is announced ("connected"), not some time after it: a client
			// that connects on seeing that line must be refused, not left
			// in a backlog nobody accepts from.
			ln.Close()
		}
		s.start(ctx, nc, false, onceErr)
		if s.Once {
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
// says nothing cannot hold a place for long.
const handshakeTimeout = 10 * time.Second

// maxHandshakes bounds the TLS handshakes in progress at once: beyond it a
// new connection is refused rather than given a goroutine and buffers.
// Idle connections cost a place for handshakeTimeout at most.
const maxHandshakes = 512

// handshake completes a TLS handshake, or logs why it failed and closes nc.
// A handshake cut short because another client got through first (listen
// without -k) is logged as refused, not as a failure.
func (s *Server) handshake(ctx context.Context, nc net.Conn, h handshaker, hs *handshakes) bool {
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	err := h.HandshakeContext(hctx)
	if err == nil {
		return true
	}
	lost := !hs.done(nc)
	switch {
	case lost:
		s.refused(nc.RemoteAddr().String(), oneOnly("client"))
	case ctx.Err() != nil:
		nc.Close() // shutting down
	default:
		nc.Close()
		why, opt := endpoint.TLSCauseOption(err)
		s.emit(&event.Event{Kind: event.Error, Peer: nc.RemoteAddr().String(), Err: "tls handshake failed: " + why, Option: string(opt)})
	}
	return false
}

// handshakes are the TLS handshakes in progress on a server that serves
// one client: the first to complete wins, and the others are refused
// with a reset (refuse), as any refused client is, rather than with the
// FIN a cancelled crypto/tls handshake would send.
type handshakes struct {
	mu      sync.Mutex
	pending map[net.Conn]struct{}
	won     bool
}

// add records a handshake about to start; false when a client has won
// already.
func (h *handshakes) add(nc net.Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.won {
		return false
	}
	if h.pending == nil {
		h.pending = map[net.Conn]struct{}{}
	}
	h.pending[nc] = struct{}{}
	return true
}

// done records a handshake that ended; false when it had been refused
// already because another client won.
func (h *handshakes) done(nc net.Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.pending[nc]
	delete(h.pending, nc)
	return ok
}

// win makes nc the one client, if none is yet, and refuses the others.
func (h *handshakes) win(nc net.Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.pending, nc)
	if h.won {
		return false
	}
	h.won = true
	for c := range h.pending {
		// Their handshakes fail now, and done says they lost.
		refuse(c)
		delete(h.pending, c)
	}
	return true
}

// over reports whether a client has won.
func (h *handshakes) over() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.won
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

// admit applies the allow and deny lists and the connection limit to a
// new peer.
func (s *Server) admit(addr net.Addr) bool {
	if ap, ok := addrPort(addr); ok {
		if ok, why := admit(s.Allow, s.Deny, ap.Addr()); !ok {
			s.refused(addr.String(), why)
			return false
		}
	} else if s.Allow != nil || s.Deny != nil {
		// A list given for a peer without an IP address (a Unix socket):
		// refuse rather than let the list be silently ignored.
		opt := OptAllow
		if s.Allow == nil {
			opt = OptDeny
		}
		s.refused(addr.String(), refusal{opt, "no IP address to check against the allow and deny lists"})
		return false
	}
	if max := s.maxConns(); max > 0 && s.Active()+int(s.handshaking.Load()) >= max {
		s.refused(addr.String(), maxConnsReached(max))
		return false
	}
	return true
}

// maxConns is the cap in force: MaxConns, or the default for the kind of
// server; 0 for none.
func (s *Server) maxConns() int {
	switch {
	case s.MaxConns > 0:
		return s.MaxConns
	case s.MaxConns == 0 && (s.proto == "udp" || s.proto == "unixgram"):
		return DefaultMaxPeers
	}
	return 0
}

// refused logs a peer turned away (at most refusedBurst lines a second)
// and counts it.
func (s *Server) refused(peer string, r refusal) {
	reason := r.why
	total := s.refusedN.Add(1)
	now := time.Now()
	s.rmu.Lock()
	if now.Sub(s.rwindow) >= time.Second {
		s.rwindow, s.rshown = now, 0
	}
	if s.rshown >= refusedBurst {
		s.rhidden++
		s.rmu.Unlock()
		return
	}
	s.rshown++
	hidden := s.rhidden
	s.rhidden = 0
	s.rmu.Unlock()
	if hidden > 0 {
		reason += fmt.Sprintf(" (and %d more refused, not logged one by one; %d in all)", hidden, total)
	}
	s.emit(&event.Event{Kind: event.Refused, Peer: peer, Reason: reason, Option: string(r.opt)})
}

// refusedSummary says, when a server stops, how many refusals were not
// logged one by one.
func (s *Server) refusedSummary() {
	s.rmu.Lock()
	hidden := s.rhidden
	s.rhidden = 0
	s.rmu.Unlock()
	if hidden > 0 {
		s.emit(&event.Event{Kind: event.Info, Msg: fmt.Sprintf("%d peers refused in all, %d of them not logged one by one", s.refusedN.Load(), hidden)})
	}
}

// Refused is the number of peers turned away so far (--allow/--deny,
// --max-conns and its defaults, one client only).
func (s *Server) Refused() int64 { return s.refusedN.Load() }

// refuse closes a connection the server will not serve with a reset
// (SO_LINGER 0), not a FIN. A FIN would look to the client like a server
// that had nothing to say, and if the client had already sent data, the
// kernel would answer it with a reset anyway: which of the two the client
// met depended on timing. A reset before any byte is one signal every
// client can read the same way every time (endpoint.Refusal).
func refuse(nc net.Conn) {
	if tc := tcpsock.Conn(nc); tc != nil {
		tc.SetLinger(0)
	}
	nc.Close()
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
	opt.Accepted = true
	if opt.Proto == "" {
		opt.Proto = s.proto
	}
	opt.Unannounced = true
	c := session.New(nc, opt)
	s.mu.Lock()
	s.conns[opt.ID] = c
	s.mu.Unlock()
	// Listed first, then announced: whoever sees "connected" and sends to
	// every conversation (listen -k's stdin, the UI's peer list) finds it.
	c.Announce()
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

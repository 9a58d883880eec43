//go:build linux && !sockit_portable

package server

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/udpbatch"
)

// batch is how many datagrams one recvmmsg or sendmmsg call moves at most.
const batch = 32

// echoBatch is one socket's buffers for batched echo, made once: each
// slot holds a datagram of any size and its sender's address.
type echoBatch struct {
	recv  [batch]udpbatch.Msg
	send  [batch]udpbatch.Msg
	riov  [batch]unix.Iovec
	siov  [batch]unix.Iovec
	names [batch]unix.RawSockaddrAny
	bufs  [batch][]byte
	rctl  [batch][64]byte // UDP_GRO: the segment size of a coalesced read
	sctl  [batch][64]byte // UDP_SEGMENT: the same, for sending it back
	gro   bool
}

func newEchoBatch() *echoBatch {
	b := &echoBatch{}
	for i := range b.recv {
		b.bufs[i] = make([]byte, 65536)
		b.riov[i].Base = &b.bufs[i][0]
		b.riov[i].SetLen(len(b.bufs[i]))
		b.recv[i].Hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.recv[i].Hdr.Iov = &b.riov[i]
		b.recv[i].Hdr.SetIovlen(1)
		b.siov[i].Base = &b.bufs[i][0]
		b.send[i].Hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.send[i].Hdr.Iov = &b.siov[i]
		b.send[i].Hdr.SetIovlen(1)
	}
	return b
}

// FastPacketEcho reports whether an echo server's datagrams can take the
// batched path: nobody watches or changes the data (connection events
// are still reported), no framing, no tap, no trace.
func (s *Server) FastPacketEcho() bool {
	return (s.Conn.Sink == nil || s.Conn.NoData) && s.Conn.Tap == nil && s.Trace == nil && s.Conn.Frame.IsRaw() && s.OnOpen == nil && !s.Once
}

// ServePacketEcho is ServePacket for the echo behaviour on the fast path
// (see FastPacketEcho): each socket in pcs (several sockets bound to one
// port with SO_REUSEPORT, one per core, let the kernel spread senders
// over them) reads datagrams in batches with recvmmsg and sends each back
// to its sender with sendmmsg, from the same buffers, with no goroutine
// per peer and no allocation per datagram. Peers are still tracked for
// --allow/--deny, --max-conns, open and close events and the idle
// timeout. It returns when ctx is cancelled.
func (s *Server) ServePacketEcho(ctx context.Context, pcs []net.PacketConn) error {
	s.init("udp")
	for _, pc := range pcs[:1] {
		s.emit(&event.Event{Kind: event.Listen, Local: pc.LocalAddr().String()})
	}
	stop := context.AfterFunc(ctx, func() {
		for _, pc := range pcs {
			pc.Close()
		}
	})
	defer stop()

	idle := s.Conn.IdleTimeout
	if idle <= 0 {
		idle = 60 * time.Second
	}
	tables := make([]*peerTable, len(pcs))
	errc := make(chan error, len(pcs))
	for i, pc := range pcs {
		tables[i] = &peerTable{s: s, local: pc.LocalAddr().String(), peers: map[netip.AddrPort]*fastPeer{}}
		go func() { errc <- s.echoLoop(pc, tables[i]) }()
	}
	sweep := time.NewTicker(min(idle/2, time.Second))
	defer sweep.Stop()
	var first error
	running := len(pcs)
	for running > 0 {
		select {
		case err := <-errc:
			running--
			if first == nil && ctx.Err() == nil {
				first = err
				for _, pc := range pcs {
					pc.Close()
				}
			}
		case now := <-sweep.C:
			for _, t := range tables {
				t.expire(now, idle, "idle timeout")
			}
		}
	}
	for _, t := range tables {
		t.expire(time.Time{}, 0, "server shutting down")
	}
	s.refusedSummary()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// fastPeer is one sender on the fast path.
type fastPeer struct {
	id      uint64
	addr    string
	last    time.Time
	in, out int64
}

// peerTable tracks one socket's senders. The socket's loop holds mu for
// a whole batch, the sweeper for a sweep.
type peerTable struct {
	s       *Server
	local   string
	mu      sync.Mutex
	peers   map[netip.AddrPort]*fastPeer
	refused map[netip.AddrPort]bool
}

// peer returns the sender's record, making one (and emitting its open
// event) for a new sender, or nil when the sender is refused.
func (t *peerTable) peer(ap netip.AddrPort, now time.Time) *fastPeer {
	if p := t.peers[ap]; p != nil {
		return p
	}
	if t.refused[ap] {
		return nil
	}
	s := t.s
	if ok, why := admit(s.Allow, s.Deny, ap.Addr()); !ok {
		// Remembered, so that a refused sender's flood is not an event
		// flood.
		if t.refused == nil {
			t.refused = map[netip.AddrPort]bool{}
		}
		if len(t.refused) < 4096 {
			t.refused[ap] = true
		}
		s.refused(ap.String(), why)
		return nil
	}
	if max := s.maxConns(); max > 0 && int(s.fastActive.Load()) >= max {
		// Not remembered: the sender gets in once a slot frees.
		s.refused(ap.String(), maxConnsReached(max))
		return nil
	}
	p := &fastPeer{id: s.nextID.Add(1), addr: ap.String(), last: now}
	t.peers[ap] = p
	s.fastActive.Add(1)
	t.event(&event.Event{Kind: event.Connect, Conn: p.id, Peer: p.addr})
	return p
}

// event emits a conversation event the way session.Conn would.
func (t *peerTable) event(e *event.Event) {
	sink := t.s.Conn.Sink
	if sink == nil {
		return
	}
	e.Time = time.Now()
	e.Proto = "udp"
	e.Local = t.local
	sink(e)
}

// expire ends the peers idle since before now-idle (all of them when now
// is zero).
func (t *peerTable) expire(now time.Time, idle time.Duration, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for ap, p := range t.peers {
		if !now.IsZero() && now.Sub(p.last) < idle {
			continue
		}
		delete(t.peers, ap)
		t.s.fastActive.Add(-1)
		t.event(&event.Event{Kind: event.Close, Conn: p.id, Peer: p.addr, Reason: reason, BytesIn: p.in, BytesOut: p.out})
	}
}

// echoLoop echoes datagrams on one socket until it is closed.
func (s *Server) echoLoop(pc net.PacketConn, t *peerTable) error {
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return errors.New("batched echo needs a socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	b := newEchoBatch()
	b.gro = udpbatch.SetGRO(rc)
	defer runtime.KeepAlive(b)
	for {
		for i := range b.recv {
			b.recv[i].Hdr.Namelen = uint32(unsafe.Sizeof(b.names[i]))
			b.recv[i].Hdr.Flags = 0
			if b.gro {
				b.recv[i].Hdr.Control = &b.rctl[i][0]
				b.recv[i].Hdr.SetControllen(len(b.rctl[i]))
			}
		}
		n, errno, err := udpbatch.Recv(rc, b.recv[:])
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if errno != 0 {
			if errno == unix.EINTR || errno == unix.ECONNREFUSED {
				continue
			}
			return errno
		}
		// Decide which datagrams go back: refused senders get nothing.
		now := time.Now()
		m := 0
		t.mu.Lock()
		var last netip.AddrPort
		var lastPeer *fastPeer
		for i := 0; i < n; i++ {
			ap, ok := addrPortOf(&b.names[i])
			if !ok {
				continue // an unnamed sender (unixgram): nowhere to reply
			}
			p := lastPeer
			if ap != last || p == nil {
				p = t.peer(ap, now)
				last, lastPeer = ap, p
			}
			if p == nil {
				continue
			}
			size := int(b.recv[i].Len)
			p.last = now
			p.in += int64(size)
			p.out += int64(size)
			b.send[m].Hdr.Name = b.recv[i].Hdr.Name
			b.send[m].Hdr.Namelen = b.recv[i].Hdr.Namelen
			b.send[m].Hdr.Iov = &b.siov[i]
			b.siov[i].SetLen(size)
			b.send[m].Hdr.Control = nil
			b.send[m].Hdr.SetControllen(0)
			if b.gro {
				if seg := udpbatch.GROSize(b.rctl[i][:], int(b.recv[i].Hdr.Controllen)); seg > 0 && seg < size {
					b.send[m].Hdr.Control = &b.sctl[i][0]
					b.send[m].Hdr.SetControllen(udpbatch.PutSegment(b.sctl[i][:], seg))
				}
			}
			m++
		}
		t.mu.Unlock()
		if err := sendAll(rc, b.send[:m]); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
	}
}

// sendAll sends every message, waiting while the socket buffer is full.
// A message the kernel refuses (an unreachable sender) is skipped, as a
// lost datagram would be.
func sendAll(rc syscall.RawConn, msgs []udpbatch.Msg) error {
	for len(msgs) > 0 {
		n, errno, err := udpbatch.Send(rc, msgs)
		if err != nil {
			return err
		}
		switch {
		case errno == unix.EINTR:
		case errno != 0:
			msgs = msgs[1:] // this one failed; go on with the rest
		default:
			msgs = msgs[n:]
		}
	}
	return nil
}

// addrPortOf reads an IPv4 or IPv6 socket address without allocating.
func addrPortOf(sa *unix.RawSockaddrAny) (netip.AddrPort, bool) {
	switch sa.Addr.Family {
	case unix.AF_INET:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&p.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(p.Addr), port), true
	case unix.AF_INET6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&p.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(p.Addr), port), true
	}
	return netip.AddrPort{}, false
}

// ListenPacketPerCore binds n datagram sockets to ep's address (n = the
// number of cores when n <= 0), among which the kernel spreads senders by
// address so that each core serves its own socket. The port is still
// sockit's alone: see endpoint.ListenConfig.ListenPacketGroup, which may
// return fewer sockets (one) where the kernel cannot keep it so.
func ListenPacketPerCore(ctx context.Context, lc *endpoint.ListenConfig, ep endpoint.Endpoint, n int) ([]net.PacketConn, error) {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return lc.ListenPacketGroup(ctx, ep, n)
}

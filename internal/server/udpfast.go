package server

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/sockit/sockit/internal/event"
)

// The datagram fast paths, echo's batched loop (udpfast_linux.go) and the
// bench behaviour's counting loop (bench_udp.go), serve each socket on a
// goroutine of its own and keep their senders in a table per socket,
// with no goroutine per sender. What they share is here: the supervisor
// that runs the sockets' loops and ends idle senders, and the admission
// of a new sender.

// maxRefusedKept bounds a socket's memory of the senders it refused.
const maxRefusedKept = 4096

// fastSocket is what a fast path keeps for each of its sockets, beside
// its senders. The socket's loop holds mu for a batch, the sweeper for a
// sweep.
type fastSocket struct {
	s       *Server
	local   string
	mu      sync.Mutex
	refused map[netip.AddrPort]bool // refused by --allow/--deny
}

// open admits a new sender, ap, or refuses it; t.mu is held. An admitted
// sender gets a conversation number (id, never 0) and its address as
// text, counts toward --max-conns until closed, and has had its open
// event. A refused one has been reported, and id is 0; busy is then the
// reason when --max-conns refused it (it gets in once a slot frees), ""
// when --allow/--deny did (remembered, so that a refused sender's flood
// is not an event flood).
func (t *fastSocket) open(ap netip.AddrPort) (id uint64, addr, busy string) {
	if t.refused[ap] {
		return 0, "", ""
	}
	s := t.s
	addr = ap.String()
	if ok, why := admit(s.Allow, s.Deny, ap.Addr()); !ok {
		if t.refused == nil {
			t.refused = map[netip.AddrPort]bool{}
		}
		if len(t.refused) < maxRefusedKept {
			t.refused[ap] = true
		}
		s.refused(addr, why)
		return 0, "", ""
	}
	if max := s.maxConns(); max > 0 && int(s.fastActive.Load()) >= max {
		why := maxConnsReached(max)
		s.refused(addr, why)
		return 0, "", "busy: " + why.why
	}
	id = s.nextID.Add(1)
	s.fastActive.Add(1)
	t.event(&event.Event{Kind: event.Connect, Conn: id, Peer: addr})
	return id, addr, ""
}

// closed ends a sender's conversation that open admitted: its slot is
// free, and its close event says why and how many bytes it moved.
func (t *fastSocket) closed(id uint64, addr, reason string, in, out int64) {
	t.s.fastActive.Add(-1)
	t.event(&event.Event{Kind: event.Close, Conn: id, Peer: addr, Reason: reason, BytesIn: in, BytesOut: out})
}

// event emits a conversation event the way session.Conn would.
func (t *fastSocket) event(e *event.Event) {
	sink := t.s.Conn.Sink
	if sink == nil {
		return
	}
	e.Time = time.Now()
	e.Proto = "udp"
	e.Local = t.local
	sink(e)
}

// serveFast runs loop(i) for each socket of pcs on a goroutine of its
// own until ctx is cancelled (which closes the sockets) or a loop ends
// by itself (which closes them all, and whose error serveFast returns).
// Every half idle timeout (a second at most) expire ends the senders
// idle for the idle timeout (60 s by default); once all loops are done,
// expire ends the rest, with reason "server shutting down", and the
// refusals not logged one by one are counted.
func (s *Server) serveFast(ctx context.Context, pcs []net.PacketConn, loop func(i int) error, expire func(now time.Time, idle time.Duration, reason string)) error {
	closeAll := func() {
		for _, pc := range pcs {
			pc.Close()
		}
	}
	stop := context.AfterFunc(ctx, closeAll)
	defer stop()

	idle := s.Conn.IdleTimeout
	if idle <= 0 {
		idle = 60 * time.Second
	}
	errc := make(chan error, len(pcs))
	for i := range pcs {
		go func() { errc <- loop(i) }()
	}
	sweep := time.NewTicker(min(idle/2, time.Second))
	defer sweep.Stop()
	var first error
	for running := len(pcs); running > 0; {
		select {
		case err := <-errc:
			running--
			if first == nil && ctx.Err() == nil {
				first = err
				closeAll()
			}
		case now := <-sweep.C:
			expire(now, idle, "idle timeout")
		}
	}
	expire(time.Time{}, 0, "server shutting down")
	s.refusedSummary()
	if first != nil {
		return first
	}
	return ctx.Err()
}

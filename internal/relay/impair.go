package relay

import (
	"net"
	"sync/atomic"

	"github.com/sockit/sockit/internal/impair"
)

// Impair makes the relay a bad network on purpose (relay --impair): every
// client connection, every upstream connection and, for datagrams, the
// listening socket meet sp's faults, so that each direction meets them
// once. Each wrapper gets its own random stream, numbered in the order
// connections arrive, so that one client's run repeats with sp.Seed. It
// refuses faults that do not apply to the relay's kind (loss on streams,
// chunks on datagrams). Call it before Run.
func (r *Relay) Impair(sp impair.Spec) error {
	packet := r.From.IsPacket()
	if err := sp.Check(packet); err != nil {
		return err
	}
	var n atomic.Uint64
	wrap := func(c net.Conn) net.Conn { return impair.Conn(c, sp, sp.Rand(n.Add(1))) }
	r.WrapClient, r.WrapUpstream = wrap, wrap
	if packet {
		r.WrapPacket = func(pc net.PacketConn) net.PacketConn { return impair.PacketConn(pc, sp, sp.Rand(n.Add(1))) }
	}
	return nil
}

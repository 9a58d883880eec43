package web

import (
	"net"
	"sync"
	"time"

	"github.com/sockit/sockit/internal/endpoint"
)

// What a page shows of loss: for a UDP session the datagrams the kernel
// dropped because the socket's receive queue was full (the socket's
// SO_RXQ_OVFL counter), and for any session, when asked, the gaps in
// the sequence numbers messages carry (as {{seq}} templates number
// them): where the peer numbers its messages, a missing number is a
// message lost on the way, wherever it was lost.

// lossInfo is that, as the page gets it.
type lossInfo struct {
	Drops      uint64 `json:"drops"`
	DropsKnown bool   `json:"dropsKnown,omitempty"` // a UDP socket on a system that says
	SeqCheck   bool   `json:"seqCheck,omitempty"`
	Gaps       uint64 `json:"gaps"`      // numbers skipped, not (yet) come late
	Reordered  uint64 `json:"reordered"` // numbers that came after a higher one
}

// seqCounter follows each peer's sequence numbers.
type seqCounter struct {
	mu        sync.Mutex
	on        bool
	last      map[string]uint64 // peer → highest number seen
	gaps      uint64
	reordered uint64
}

// firstNumber is the first run of ASCII digits in p (at most 19 of them),
// as {{seq}} writes it, and whether there was one.
func firstNumber(p []byte) (uint64, bool) {
	i := 0
	for i < len(p) && (p[i] < '0' || p[i] > '9') {
		i++
	}
	if i == len(p) {
		return 0, false
	}
	var n uint64
	for j := 0; i < len(p) && p[i] >= '0' && p[i] <= '9' && j < 19; i, j = i+1, j+1 {
		n = n*10 + uint64(p[i]-'0')
	}
	return n, true
}

// see counts a message from peer.
func (c *seqCounter) see(peer string, p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on {
		return
	}
	n, ok := firstNumber(p)
	if !ok {
		return
	}
	last, seen := c.last[peer]
	switch {
	case !seen:
		c.last[peer] = n
	case n > last:
		c.gaps += n - last - 1
		c.last[peer] = n
	case n == last:
		c.reordered++ // repeated
	default:
		// Late: it fills a gap counted before.
		c.reordered++
		if c.gaps > 0 {
			c.gaps--
		}
	}
}

func (c *seqCounter) set(on bool) {
	c.mu.Lock()
	c.on = on
	c.reset()
	c.mu.Unlock()
}

func (c *seqCounter) reset() {
	c.last = map[string]uint64{}
	c.gaps, c.reordered = 0, 0
}

func (c *seqCounter) zero() {
	c.mu.Lock()
	c.reset()
	c.mu.Unlock()
}

// loss is the session's loss figures; the kernel's count is read at
// most twice a second.
func (s *sess) loss(now time.Time) *lossInfo {
	li := &lossInfo{}
	s.seq.mu.Lock()
	li.SeqCheck, li.Gaps, li.Reordered = s.seq.on, s.seq.gaps, s.seq.reordered
	s.seq.mu.Unlock()
	// The kernel's table is read outside s.mu: a UDP server's one read
	// loop takes s.mu for every datagram.
	s.mu.Lock()
	var pc net.PacketConn
	if s.sock != nil {
		pc = s.sock.PacketConn()
	}
	due := pc != nil && now.Sub(s.dropsAt) >= 500*time.Millisecond
	if due {
		s.dropsAt = now
	}
	gen := s.dropsGen
	s.mu.Unlock()
	if pc == nil {
		return li
	}
	if due {
		drops, known := s.dropped(pc)
		s.mu.Lock()
		// Kept only if no reset took a base since the read began (an
		// older count would be below it), and if the kernel's count
		// could be read where it could before (a socket the table did
		// not list this time): the last count stands, never one short.
		if gen == s.dropsGen && (known || !s.dropsKnown) {
			s.drops, s.dropsKnown = drops, known
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	li.Drops, li.DropsKnown = s.drops-s.dropsBase, s.dropsKnown
	s.mu.Unlock()
	return li
}

// dropped is how many datagrams for the session were dropped: by the
// kernel, its socket's receive queue full (endpoint.Drops), and by the
// server, a peer's queue of datagrams waiting for the session full
// (server.Server.Dropped). It is a system call (a /proc table
// before Linux 4.12): never under s.mu.
func (s *sess) dropped(pc net.PacketConn) (uint64, bool) {
	n, known := socketDrops(pc)
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv != nil {
		n += uint64(srv.Dropped())
	}
	return n, known
}

// socketDrops is endpoint.Drops, and zeroDropsHook runs as zeroDrops
// reads it: the tests hold or fake them.
var (
	socketDrops   = endpoint.Drops
	zeroDropsHook = func() {}
)

// zeroDrops makes the drops count start again from now (the counters'
// reset). A reset calls it before it zeroes the other counters: a page
// that shows them at zero then counts every datagram dropped since, where
// a base taken after them would hide the drops in between (a datagram
// dropped just before the reset may count as after it instead).
func (s *sess) zeroDrops() {
	s.mu.Lock()
	var pc net.PacketConn
	if s.sock != nil {
		pc = s.sock.PacketConn()
	}
	s.mu.Unlock()
	if pc == nil {
		return
	}
	zeroDropsHook()
	drops, known := s.dropped(pc) // outside s.mu, as in loss
	s.mu.Lock()
	s.drops, s.dropsKnown = drops, known
	s.dropsAt, s.dropsBase = time.Now(), drops
	s.dropsGen++
	s.mu.Unlock()
}

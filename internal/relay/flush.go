package relay

import (
	"net"
	"time"
)

// A relay that is about to reset a conversation first passes on what it
// holds of it: a peer that reads gets everything the other side sent
// before it broke the conversation, as it would connected directly.
// The relay waits while those bytes move; a peer that takes none for
// flushStall (it stopped reading) is reset with them, and none waits for
// longer than flushLinger.
const (
	flushStall  = 2 * time.Second
	flushLinger = 30 * time.Second
)

// settle watches what the relay still holds of a conversation that is
// ending in a reset: whether any of it moves.
type settle struct {
	conns []net.Conn
	queue []int // each socket's send queue when last looked at
	moved time.Time
	end   time.Time
	pause time.Duration
}

func newSettle(conns ...net.Conn) *settle {
	now := time.Now()
	s := &settle{conns: conns, queue: make([]int, len(conns)), moved: now, end: now.Add(flushLinger)}
	for i, c := range conns {
		s.queue[i], _ = sendQueue(c)
	}
	return s
}

// wait pauses briefly (the kernel has no event for a send queue that
// shrinks, so the relay looks again: soon at first, then every 10ms)
// and reports whether to go on waiting: until something has stood still
// for flushStall, or flushLinger has passed.
func (s *settle) wait() bool {
	s.pause = min(max(2*s.pause, 100*time.Microsecond), 10*time.Millisecond)
	time.Sleep(s.pause)
	now := time.Now()
	for i, c := range s.conns {
		if n, _ := sendQueue(c); n != s.queue[i] {
			s.queue[i] = n
			s.moved = now
		}
	}
	return now.Sub(s.moved) < flushStall && now.Before(s.end)
}

// flush waits for what has been written to c to reach its peer: first
// what a wrapper still holds (--impair's delayed bytes), then the
// socket's send queue (sent and acknowledged). Resetting a socket
// discards its queue, and a reset sent at once can overtake bytes sent
// just before it; after flush, the bytes are with the peer's kernel.
func (s *settle) flush(c net.Conn) {
	for range 8 {
		if f, ok := c.(interface{ Flush() error }); ok {
			c.SetWriteDeadline(s.end)
			f.Flush()
			break
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		c = u.NetConn()
	}
	for {
		if n, ok := sendQueue(c); !ok || n == 0 || !s.wait() {
			return
		}
	}
}

// Flush passes on to the hook's wrapper, which may hold bytes (delayed
// by --impair) that must go out before a reset.
func (w *wrapped) Flush() error {
	if f, ok := w.Conn.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

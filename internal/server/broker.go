package server

import (
	"context"
	"sync"
	"time"

	"github.com/sockit/sockit/internal/session"
)

// Broker is the --broker behaviour (ncat --broker): whatever one client
// sends goes, byte for byte, to every other client: no prefix, no
// notices, no escaping (a chat is for people; a broker is for programs
// that talk to each other through one port). Each client has its own
// queue; a client that takes nothing for Stall is dropped, as in a chat.
type Broker struct {
	Queue int           // messages that may wait for one client; 0 is 256
	Stall time.Duration // how long a full queue may stay full; 0 is 5s

	once sync.Once
	hub  Chat // the queues and delivery of a chat, without its wording
}

// Handle is the Handler.
func (b *Broker) Handle(ctx context.Context, c *session.Conn) error {
	b.once.Do(func() { b.hub.Queue, b.hub.Stall = b.Queue, b.Stall })
	stop := context.AfterFunc(ctx, func() { c.NetConn().Close() })
	defer stop()
	box := b.hub.join(c)
	defer b.hub.leave(c, box)
	for {
		msg, err := c.Read()
		if err != nil {
			return endErr(err)
		}
		// Read's slice is reused at the next Read; the queues keep this one.
		b.hub.deliver(c, append([]byte(nil), msg...))
	}
}

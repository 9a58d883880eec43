package server

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockit/sockit/internal/session"
)

// Chat is the --chat behaviour: each message a client sends goes to every
// other client, after the sender's address in brackets:
//
//	[127.0.0.1:51234] hello
//
// A message is a framed message with --frame, a datagram on UDP, and a
// line on raw streams (a chat is made of lines; a TCP read can end in the
// middle of one). Each client has a queue of outgoing messages of its own.
//
// A chat goes from one person's terminal to the others': with Escape set
// (the CLI sets it for text chats, as ncat --chat does), control bytes
// such as ESC sequences reach the others escaped (as \x1b), never raw,
// and with Announce the others are told when a client joins or leaves,
// in a line of their own: "* 127.0.0.1:51234 joined (3 here)".
//
// When a client's queue is full, the sender waits for it (a flood is
// slowed to what the readers take), but only up to Stall: a client that
// takes nothing for that long is disconnected, so it cannot stall the
// others.
type Chat struct {
	// Encode appends text the chat itself writes (the "[PEER] " before
	// each message, the notices) in the clients' encoding; nil writes it
	// as UTF-8. The CLI encodes it with the send encoding.
	Encode func(dst []byte, text string) []byte
	// Escape appends msg made safe for a terminal; nil sends each
	// message's bytes as they came (binary framing). See EscapeText.
	Escape func(dst, msg []byte) []byte
	// Announce tells the others when a client joins or leaves.
	Announce bool
	// Queue is how many messages may wait for one client; 0 is 256.
	Queue int
	// Stall is how long a full queue may stay full before its client is
	// dropped; 0 is 5s.
	Stall time.Duration

	mu      sync.Mutex
	members map[*session.Conn]*outbox
}

// maxChatLine is where a raw stream's line without an end is cut and sent
// anyway, so one client cannot make the server buffer without limit.
const maxChatLine = 64 << 10

type outbox struct {
	ch   chan []byte
	gone chan struct{} // closed when its client leaves
	done chan struct{} // closed when the writer has finished
	slow atomic.Bool
}

// Handle is the Handler.
func (ch *Chat) Handle(ctx context.Context, c *session.Conn) error {
	stop := context.AfterFunc(ctx, func() { c.NetConn().Close() })
	defer stop()
	box := ch.join(c)
	if ch.Announce {
		ch.notice(c, "joined")
	}
	defer func() {
		ch.leave(c, box)
		if ch.Announce {
			ch.notice(c, "left")
		}
	}()

	lines := !c.Framed() && !c.Packet()
	var pending []byte
	for {
		msg, err := c.Read()
		if err != nil {
			if len(pending) > 0 {
				ch.broadcast(c, pending)
			}
			return endErr(err)
		}
		if !lines {
			ch.broadcast(c, msg)
			continue
		}
		for len(msg) > 0 {
			i := bytes.IndexByte(msg, '\n')
			if i < 0 {
				pending = append(pending, msg...)
				if len(pending) >= maxChatLine {
					ch.broadcast(c, pending)
					pending = pending[:0]
				}
				break
			}
			if len(pending) > 0 {
				pending = append(pending, msg[:i+1]...)
				ch.broadcast(c, pending)
				pending = pending[:0]
			} else {
				ch.broadcast(c, msg[:i+1])
			}
			msg = msg[i+1:]
		}
	}
}

// join adds c to the chat and starts the goroutine that writes its queue.
func (ch *Chat) join(c *session.Conn) *outbox {
	n := ch.Queue
	if n <= 0 {
		n = 256
	}
	box := &outbox{ch: make(chan []byte, n), gone: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(box.done)
		for {
			select {
			case msg := <-box.ch:
				if err := c.Write(msg); err != nil {
					// The reader side notices the broken connection.
					box.slow.Store(true)
					return
				}
			case <-box.gone:
				// Its client stopped sending; what is queued still goes out.
				for {
					select {
					case msg := <-box.ch:
						if c.Write(msg) != nil {
							return
						}
					default:
						return
					}
				}
			}
		}
	}()
	ch.mu.Lock()
	if ch.members == nil {
		ch.members = map[*session.Conn]*outbox{}
	}
	ch.members[c] = box
	ch.mu.Unlock()
	return box
}

// leave removes c and waits until what was queued for it is written.
func (ch *Chat) leave(c *session.Conn, box *outbox) {
	ch.mu.Lock()
	delete(ch.members, c)
	ch.mu.Unlock()
	close(box.gone)
	<-box.done
}

// notice tells every other member that c joined or left.
func (ch *Chat) notice(c *session.Conn, what string) {
	ch.mu.Lock()
	n := len(ch.members)
	ch.mu.Unlock()
	text := "* " + c.Peer() + " " + what + " (" + strconv.Itoa(n) + " here)"
	if c.Framed() || c.Packet() {
		ch.deliver(c, ch.text(nil, text)) // the framing or the datagram ends it
		return
	}
	ch.deliver(c, ch.text(nil, text+"\n"))
}

func (ch *Chat) text(dst []byte, s string) []byte {
	if ch.Encode != nil {
		return ch.Encode(dst, s)
	}
	return append(dst, s...)
}

// broadcast queues msg, prefixed with the sender, for every other member.
func (ch *Chat) broadcast(from *session.Conn, msg []byte) {
	out := ch.text(nil, "["+from.Peer()+"] ")
	// One copy, shared read-only by every queue.
	if ch.Escape != nil {
		out = ch.Escape(out, msg)
	} else {
		out = append(out, msg...)
	}
	ch.deliver(from, out)
}

// deliver queues out for every member but from.
func (ch *Chat) deliver(from *session.Conn, out []byte) {
	ch.mu.Lock()
	to := make(map[*session.Conn]*outbox, len(ch.members))
	for c, box := range ch.members {
		if c != from && !box.slow.Load() {
			to[c] = box
		}
	}
	ch.mu.Unlock()
	for c, box := range to {
		select {
		case box.ch <- out:
			continue
		default:
		}
		stall := ch.Stall
		if stall <= 0 {
			stall = 5 * time.Second
		}
		t := time.NewTimer(stall)
		select {
		case box.ch <- out:
		case <-box.gone:
		case <-t.C:
			// This client takes nothing: drop it rather than hold up
			// everyone else (its handler ends when the close wakes it).
			box.slow.Store(true)
			c.SetReason("too slow for the chat: took nothing for " + stall.String())
			c.NetConn().Close()
		}
		t.Stop()
	}
}

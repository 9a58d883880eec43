package server

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"

	"github.com/sockit/sockit/internal/platform"
	"github.com/sockit/sockit/internal/session"
)

// Drain reads until the peer is done, so that the conversation's sink and
// tap see everything (the stdio behaviour's receive side).
func Drain(ctx context.Context, c *session.Conn) error {
	stop := context.AfterFunc(ctx, func() { c.NetConn().Close() })
	defer stop()
	for {
		if _, err := c.Read(); err != nil {
			return endErr(err)
		}
	}
}

// Echo sends every message back as it came: byte for byte on raw streams,
// message for message (re-framed) with framing, datagram for datagram.
func Echo(ctx context.Context, c *session.Conn) error {
	stop := context.AfterFunc(ctx, func() { c.NetConn().Close() })
	defer stop()
	if !c.Observed() && !c.Framed() && !c.Packet() && !c.HasIdle() {
		if in, ok, err := echoOnLoop(ctx, c.NetConn()); ok {
			c.AddStats(in, in)
			return endErr(err)
		}
		return endErr(echoFast(c))
	}
	for {
		msg, err := c.Read()
		if err != nil {
			return endErr(err)
		}
		if err := c.Write(msg); err != nil {
			return err
		}
	}
}

// echoFast is the unobserved echo: one read, one write, with a buffer that
// starts small (so ten thousand idle connections stay cheap) and grows when
// reads fill it.
func echoFast(c *session.Conn) error {
	nc := c.NetConn()
	buf := make([]byte, 4<<10)
	var in int64
	defer func() { c.AddStats(in, in) }()
	for {
		n, err := nc.Read(buf)
		if n > 0 {
			in += int64(n)
			if _, werr := nc.Write(buf[:n]); werr != nil {
				return werr
			}
			if n == len(buf) && len(buf) < 256<<10 {
				buf = make([]byte, 4*len(buf))
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				// The peer is done sending: finish our side too.
				c.CloseWrite()
			}
			return err
		}
	}
}

// Discard reads and throws away everything (a sink for bench --mode tx).
func Discard(ctx context.Context, c *session.Conn) error {
	stop := context.AfterFunc(ctx, func() { c.NetConn().Close() })
	defer stop()
	if !c.Observed() && !c.Framed() && !c.Packet() && !c.HasIdle() {
		n, err := discardFast(c.NetConn())
		c.AddStats(n, 0)
		return endErr(err)
	}
	for {
		if _, err := c.Read(); err != nil {
			return endErr(err)
		}
	}
}

// discardFast throws away what r sends. From a bare TCP or Unix stream
// socket the kernel splices it into /dev/null, so the bytes are never
// copied into sockit; otherwise (TLS) they are read into one large buffer.
func discardFast(r net.Conn) (int64, error) {
	if platform.Spliceable(r) {
		if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
			defer null.Close()
			// *os.File's ReadFrom splices from a stream socket.
			return null.ReadFrom(r)
		}
	}
	buf := make([]byte, 256<<10)
	var total int64
	for {
		n, err := r.Read(buf)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
}

// Source sends an endless stream until the peer goes away (a source for
// bench --mode rx). What arrives is read and thrown away, so that a
// client that talks does not stall.
func Source(ctx context.Context, c *session.Conn) error {
	stop := context.AfterFunc(ctx, func() { c.NetConn().Close() })
	defer stop()
	nc := c.NetConn()
	drained := make(chan struct{})
	go func() {
		// What the peer sends is not wanted; its reset or close ends the
		// writes below.
		discardFast(nc)
		close(drained)
	}()
	defer func() {
		nc.Close()
		<-drained
	}()
	buf := sourceData()
	if !c.Observed() {
		var out int64
		defer func() { c.AddStats(0, out) }()
		for {
			n, err := nc.Write(buf)
			out += int64(n)
			if err != nil {
				return peerGone(err)
			}
		}
	}
	for {
		if err := c.WriteRaw(buf); err != nil {
			return peerGone(err)
		}
	}
}

// sourceData is what Source sends: a 256 KiB block of printable text,
// shared read-only by every connection.
var sourceData = sync.OnceValue(func() []byte {
	b := make([]byte, 256<<10)
	const line = "sockit source: 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"
	for i := range b {
		b[i] = line[i%len(line)]
	}
	return b
})

// peerGone turns the ways a peer leaves a source (closed, reset) into a
// normal end.
func peerGone(err error) error {
	if errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
		return nil
	}
	return err
}

// endErr turns the normal end of a conversation into nil.
func endErr(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

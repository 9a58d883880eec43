package server

import (
	"context"
	"errors"
	"io"

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

func discardFast(r io.Reader) (int64, error) {
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

// endErr turns the normal end of a conversation into nil.
func endErr(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

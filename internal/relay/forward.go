package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/server"
	"github.com/sockit/sockit/internal/session"
)

// Forward configures the behaviour that forwards one conversation to an
// upstream connection (relay, and listen --forward).
type Forward struct {
	// Dial opens the upstream connection for one conversation. Required.
	Dial func(ctx context.Context) (net.Conn, error)

	// WrapUpstream, if set, wraps each upstream connection before data
	// moves (relay --impair). A wrapper that should keep half-close
	// working implements CloseWrite or exposes the wrapped connection as
	// NetConn() net.Conn.
	WrapUpstream func(net.Conn) net.Conn

	// Retry is the upstream's retrying (what Dial does), for the events
	// that report it.
	Retry endpoint.Retry

	// Idle closes a datagram mapping after this long without a datagram
	// either way; 0 never. Streams end when their peers close them (the
	// conversation's own idle timeout, if any, still applies).
	Idle time.Duration
}

// retriesOf is " of N" for --retry N, "" for --forever.
func (f *Forward) retriesOf() string {
	if f.Retry.Forever {
		return ""
	}
	return fmt.Sprintf(" of %d", f.Retry.Times)
}

// Handler returns the server behaviour that forwards each conversation.
// Data events (--log, --hex) come from the conversation: "in" is what the
// client sent towards the upstream, "out" what the upstream sent back.
func (f *Forward) Handler() server.Handler {
	return func(ctx context.Context, c *session.Conn) error {
		// The client waits, its bytes held by its socket, while the
		// upstream is tried again (--retry, --forever): each try is an
		// event of its conversation.
		ctx = endpoint.WithOnRetry(ctx, func(n int, err error, wait time.Duration) {
			c.Emit(&event.Event{Kind: event.Retry, Attempt: n, Wait: wait, Err: err.Error(),
				Msg: fmt.Sprintf("trying again in %s (retry %d%s)", wait, n, f.retriesOf())})
		})
		up, err := f.Dial(ctx)
		if err != nil {
			c.SetReason("upstream unreachable")
			if !c.Packet() && ctx.Err() == nil {
				// The client's connect succeeded, but its conversation
				// cannot happen: a reset tells it so, where a FIN would
				// read as an empty answer.
				Abort(c.NetConn())
			}
			return err
		}
		if f.WrapUpstream != nil {
			up = wrap(up, f.WrapUpstream)
		}
		stop := context.AfterFunc(ctx, func() {
			c.NetConn().Close()
			up.Close()
		})
		defer stop()
		defer up.Close()
		if c.Packet() {
			return f.packets(c, up)
		}
		return stream(c, up)
	}
}

// stream relays a stream conversation: on the fast path the bare
// connections, so that io.Copy can splice; observed, through the
// conversation so that each chunk is an event.
func stream(c *session.Conn, up net.Conn) error {
	if !c.Observed() && !c.Framed() && !c.HasIdle() {
		in, out, err := Join(c.NetConn(), up)
		c.AddStats(in, out)
		return endErr(err)
	}
	client := &convConn{Conn: c.NetConn(), c: c, up: up}
	_, _, err := Join(client, up)
	return endErr(err)
}

// convConn is the client side seen through its conversation: reads come
// from Conn.Read (events, framing, idle timeout) and are copied to the
// upstream by the conversation's tap, so the upstream gets exactly the
// bytes that arrived whatever the framing; writes go through
// Conn.WriteRaw (events).
type convConn struct {
	net.Conn
	c      *session.Conn
	up     net.Conn
	tapped bool
}

func (cc *convConn) Read(p []byte) (int, error) {
	if !cc.tapped {
		cc.tapped = true
		cc.c.SetTap(cc.up)
	}
	for {
		_, err := cc.c.Read()
		// A failed write to the upstream ends this direction at once,
		// rather than after reading what the client still sends.
		if terr := cc.c.TapErr(); terr != nil {
			return 0, terr
		}
		if err != nil {
			return 0, err
		}
	}
}

func (cc *convConn) Write(p []byte) (int, error) {
	if err := cc.c.WriteRaw(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (cc *convConn) CloseWrite() error { return cc.c.CloseWrite() }

// NetConn is the client connection, for Abort and the reset check.
func (cc *convConn) NetConn() net.Conn { return cc.Conn }

// packets relays datagrams between a conversation (one client address on
// the server's socket) and its own upstream socket, datagram for
// datagram, until neither side has sent anything for Idle.
//
// The upstream may be a stream (udp:// to tcp://, as socat does it): each
// datagram is written to it as bytes, and each read from it (at most
// MaxDatagram bytes) goes back to the client as one datagram. A stream
// has no message boundaries, so replies are cut where the reads fall. The
// upstream's FIN or reset ends the client's mapping; its next datagram
// opens a new connection.
func (f *Forward) packets(c *session.Conn, up net.Conn) error {
	client := c.NetConn()
	observed := c.Observed()
	var last atomic.Int64 // unix nanoseconds of the last datagram either way
	last.Store(time.Now().UnixNano())
	// expired reports whether the mapping has been idle for f.Idle, and
	// otherwise moves conn's read deadline to when it would be.
	expired := func(conn net.Conn, err error) bool {
		if f.Idle <= 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			return true
		}
		l := time.Unix(0, last.Load())
		if time.Since(l) >= f.Idle {
			return true
		}
		conn.SetReadDeadline(l.Add(f.Idle))
		return false
	}
	if f.Idle > 0 {
		dl := time.Now().Add(f.Idle)
		client.SetReadDeadline(dl)
		up.SetReadDeadline(dl)
	}

	// Each pump adds its byte count before it reports: the close event,
	// emitted once both have reported, must see both counts.
	done := make(chan error, 2)
	go func() { // client → upstream
		bp := packetBufs.Get().(*[]byte)
		defer packetBufs.Put(bp)
		var in int64
		end := func(err error) { c.AddStats(in, 0); done <- err }
		for {
			var (
				p   []byte
				err error
			)
			if observed {
				p, err = c.Read()
			} else {
				var n int
				n, err = client.Read(*bp)
				p = (*bp)[:n]
			}
			if err != nil {
				if expired(client, err) {
					end(err)
					return
				}
				continue
			}
			last.Store(time.Now().UnixNano())
			if !observed {
				in += int64(len(p))
			}
			if _, err := up.Write(p); err != nil && !refused(err) {
				end(err)
				return
			}
		}
	}()
	go func() { // upstream → client
		bp := packetBufs.Get().(*[]byte)
		defer packetBufs.Put(bp)
		buf := *bp
		// (The socket under any wrapper tells which it is.)
		if _, dgram := socket(up).(net.PacketConn); !dgram {
			// A stream upstream (udp:// to tcp://): each read becomes
			// one datagram back to the client, so no read may be larger
			// than the largest datagram the client's socket can take.
			buf = buf[:MaxDatagram]
		}
		var out int64
		end := func(err error) { c.AddStats(0, out); done <- err }
		for {
			n, err := up.Read(buf)
			if err != nil {
				if refused(err) {
					// An ICMP port unreachable from the upstream: the
					// datagram is lost, as it would be without the relay.
					continue
				}
				if expired(up, err) {
					end(err)
					return
				}
				continue
			}
			last.Store(time.Now().UnixNano())
			if observed {
				err = c.WriteRaw(buf[:n])
			} else if _, err = client.Write(buf[:n]); err == nil {
				out += int64(n)
			}
			if err != nil {
				end(err)
				return
			}
		}
	}()
	err := <-done
	client.Close()
	up.Close()
	<-done
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.SetReason("idle timeout")
		return nil
	}
	return endErr(err)
}

// MaxDatagram is the largest UDP payload over IPv4 (65,535 less the IP
// and UDP headers): the most one datagram sent to a client carries when
// the upstream is a stream.
const MaxDatagram = 65507

// packetBufs hold one datagram of any size.
var packetBufs = sync.Pool{New: func() any { b := make([]byte, 65536); return &b }}

func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// endErr turns the normal ends of a conversation into nil.
func endErr(err error) error {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

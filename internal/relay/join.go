// Package relay forwards every connection or datagram that arrives on one
// endpoint to another: TCP, TLS and Unix streams with each direction
// half-closed on its own, and datagrams with one upstream socket (a
// mapping) per client address that expires when idle.
//
// Between two plain TCP (or Unix) connections the bytes never enter user
// space: the pumps hand the bare *net.TCPConn values to io.Copy, which
// splices. Anything that watches the bytes (--log, --hex) or changes them
// (a conn wrapper such as relay --impair's) takes a buffered path instead;
// when nothing does, the fast path is untouched.
//
// A relay passes on how a conversation ends as well as its bytes: a FIN
// is passed on as a FIN (half-close), and a reset, or any other error on
// either side, as a reset of both sides, so that neither peer mistakes a
// broken transfer for a complete one.
//
// It does not parse flags or print: events go to the Sink it is given.
package relay

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/sockit/sockit/internal/platform"
)

// Join moves bytes between a and b in both directions until both
// directions have ended, and returns the bytes moved each way. When one
// side ends its stream (EOF), the other side's write half is shut down
// (CloseWrite), so each direction closes on its own, as the peers asked.
//
// On the first error Join ends both connections and waits for both pumps
// before it returns that error. A reset or any other failure resets both
// (SO_LINGER 0 on TCP), so that the peer on the other side learns the
// conversation broke instead of reading a clean end; an idle timeout or a
// connection the caller closed (net.ErrClosed) closes them. An EOF that
// the kernel reports for a TCP connection that was in fact reset (the
// reset's error went to the other pump's write) counts as the reset.
//
// Before a reset, each side gets what the relay already took from the
// other: the pump from a side that was reset moves the bytes that came
// before its reset, and what was written is flushed to the peer (see
// settle.flush) while the peer takes it. The peer then reads what it
// would have read connected directly, then the reset.
// Join closes neither connection on a clean end: the caller does.
func Join(a, b net.Conn) (aToB, bToA int64, err error) {
	type result struct {
		ab  bool
		n   int64
		err error
	}
	sa, sb := &side{Conn: a}, &side{Conn: b}
	// Capacity 2: neither pump ever blocks on reporting, so the owner
	// can always wait for both.
	done := make(chan result, 2)
	go func() {
		n, err := pump(sb, sa)
		done <- result{true, n, err}
	}()
	go func() {
		n, err := pump(sa, sb)
		done <- result{false, n, err}
	}()
	pending := 2
	take := func(r result) {
		pending--
		if r.ab {
			aToB = r.n
		} else {
			bToA = r.n
		}
	}
	for pending > 0 {
		r := <-done
		take(r)
		if r.err == nil || err != nil {
			continue
		}
		err = r.err
		if quiet(err) {
			a.Close()
			b.Close()
			continue
		}
		st := newSettle(a, b)
		// The pump still running reads b if the one that ended read a.
		from := b
		if !r.ab {
			from = a
		}
		if pending > 0 && resetByPeer(from) {
			// Its source was reset: it is moving the bytes that came
			// before the reset, and ends by itself when they are through.
		wait:
			for {
				select {
				case r := <-done:
					take(r)
					break wait
				default:
				}
				if !st.wait() {
					break
				}
			}
		}
		st.flush(a)
		st.flush(b)
		Abort(a)
		Abort(b)
	}
	return aToB, bToA, err
}

// quiet reports whether err ends a conversation without either peer
// having broken it: the relay's own idle timeout, or a connection closed
// by its owner (shutdown). Those close with a FIN; everything else resets.
func quiet(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded)
}

// side is one connection of a Join, with whether its write half has been
// shut down: until it has, a TCP connection in state CLOSE was reset.
type side struct {
	net.Conn
	wrShut atomic.Bool
}

// pump copies src to dst and, at src's EOF, shuts down dst's write half.
func pump(dst, src *side) (int64, error) {
	n, err := copyStream(dst.Conn, src.Conn)
	if err != nil {
		return n, err
	}
	// The state is read before the flag: the other pump sets the flag
	// before it shuts src down, so CLOSE seen with the flag still clear
	// cannot come from our own orderly close.
	if resetByPeer(src.Conn) && !src.wrShut.Load() {
		return n, &net.OpError{Op: "read", Net: src.LocalAddr().Network(), Source: src.LocalAddr(), Addr: src.RemoteAddr(), Err: syscall.ECONNRESET}
	}
	dst.wrShut.Store(true)
	if err := closeWrite(dst.Conn); err != nil && !errors.Is(err, net.ErrClosed) {
		return n, err
	}
	return n, nil
}

// copyStream is io.Copy where the kernel can splice or sendfile (both
// ends bare TCP or Unix stream sockets), and a copy through a large pooled
// buffer otherwise (TLS, wrapped connections), instead of io.Copy's 32 KiB
// buffer allocated per call.
func copyStream(dst, src net.Conn) (int64, error) {
	if platform.Spliceable(dst) && platform.Spliceable(src) {
		return io.Copy(dst, src)
	}
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	// Hide ReaderFrom/WriterTo so io.CopyBuffer uses our buffer.
	return io.CopyBuffer(writerOnly{dst}, readerOnly{src}, *bp)
}

type readerOnly struct{ io.Reader }
type writerOnly struct{ io.Writer }

// bufs are the stream copy buffers: large enough that a TLS record or a
// full socket buffer moves in one read.
var bufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// closeWrite shuts down c's write half, looking through wrappers that
// expose the connection they wrap (NetConn) when they cannot do it
// themselves.
func closeWrite(c net.Conn) error {
	for {
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			return cw.CloseWrite()
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return nil // datagram sockets and the like: nothing to half-close
		}
		c = u.NetConn()
	}
}

// socket is the connection at the bottom of c's wrappers: the one that
// owns the file descriptor. Wrappers are seen through by NetConn (TLS,
// the conversation's view) or by rawConn (the relay's record of what a
// wrap hook such as --impair's was given).
func socket(c net.Conn) net.Conn {
	for range 8 {
		switch u := c.(type) {
		case interface{ rawConn() net.Conn }:
			c = u.rawConn()
		case interface{ NetConn() net.Conn }:
			c = u.NetConn()
		default:
			return c
		}
	}
	return c
}

// Abort ends c with a reset where the transport has one: SO_LINGER 0 on
// the TCP socket under any wrappers, closed directly so that a TLS
// wrapper sends no close_notify first (which the peer would read as a
// clean end). Unix sockets have no reset: they are closed.
func Abort(c net.Conn) {
	s := socket(c)
	if l, ok := s.(interface{ SetLinger(int) error }); ok {
		l.SetLinger(0)
	}
	s.Close()
	c.Close()
}

// wrapped is a connection as a wrap hook (WrapClient, WrapUpstream)
// returned it, with the connection the hook was given, so that Abort
// reaches the socket through wrappers that do not expose it.
type wrapped struct {
	net.Conn
	raw net.Conn
}

func wrap(c net.Conn, hook func(net.Conn) net.Conn) net.Conn {
	return &wrapped{Conn: hook(c), raw: c}
}

func (w *wrapped) rawConn() net.Conn { return w.raw }

// CloseWrite goes through the wrapper, which may still hold data
// (delayed by --impair) that must go out before the FIN.
func (w *wrapped) CloseWrite() error { return closeWrite(w.Conn) }

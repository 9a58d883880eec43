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
// It does not parse flags or print: events go to the Sink it is given.
package relay

import (
	"errors"
	"io"
	"net"
	"sync"

	"github.com/sockit/sockit/internal/platform"
)

// Join moves bytes between a and b in both directions until both
// directions have ended, and returns the bytes moved each way. When one
// side ends its stream (EOF), the other side's write half is shut down
// (CloseWrite), so each direction closes on its own, as the peers asked.
// On the first error both connections are closed and Join waits for both
// pumps before it returns that error. Join closes neither connection on a
// clean end: the caller does.
func Join(a, b net.Conn) (aToB, bToA int64, err error) {
	type result struct {
		ab  bool
		n   int64
		err error
	}
	// Capacity 2: neither pump ever blocks on reporting, so the owner
	// can always wait for both.
	done := make(chan result, 2)
	go func() {
		n, err := pump(b, a)
		done <- result{true, n, err}
	}()
	go func() {
		n, err := pump(a, b)
		done <- result{false, n, err}
	}()
	for i := 0; i < 2; i++ {
		r := <-done
		if r.ab {
			aToB = r.n
		} else {
			bToA = r.n
		}
		if r.err != nil && err == nil {
			err = r.err
			a.Close()
			b.Close()
		}
	}
	return aToB, bToA, err
}

// pump copies src to dst and, at src's EOF, shuts down dst's write half.
func pump(dst, src net.Conn) (int64, error) {
	n, err := copyStream(dst, src)
	if err != nil {
		return n, err
	}
	if err := closeWrite(dst); err != nil && !errors.Is(err, net.ErrClosed) {
		return n, err
	}
	return n, nil
}

// copyStream is io.Copy where the kernel can splice or sendfile (both
// ends bare TCP or Unix stream sockets), and a copy through a large pooled
// buffer otherwise (TLS, wrapped connections), instead of io.Copy's 32 KiB
// buffer allocated per call.
func copyStream(dst, src net.Conn) (int64, error) {
	if spliceable(dst) && spliceable(src) {
		return io.Copy(dst, src)
	}
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	// Hide ReaderFrom/WriterTo so io.CopyBuffer uses our buffer.
	return io.CopyBuffer(writerOnly{dst}, readerOnly{src}, *bp)
}

func spliceable(c net.Conn) bool {
	if !platform.Fast {
		// Only Linux splices socket to socket; elsewhere io.Copy would
		// copy through a 32 KiB buffer, smaller than ours.
		return false
	}
	switch c := c.(type) {
	case *net.TCPConn:
		return true
	case *net.UnixConn:
		return c.LocalAddr().Network() == "unix"
	}
	return false
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

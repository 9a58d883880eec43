package session

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"

	"github.com/sockit/sockit/internal/endpoint"
)

// Reconnect makes a client's conversation outlive its connection (connect
// --retry, --forever): given the connection that broke, already closed,
// and why (nil or io.EOF: the peer closed), it returns the next one, or
// the error that ends the conversation (it gave up, or ctx ended).
type Reconnect func(ctx context.Context, broken *Conn, why error) (*Conn, error)

// BrokenByPeer reports whether err, which ended conversation c, is the
// peer going away (it closed, reset, refused, or its side of the link
// failed) rather than this side's doing (a local output that failed, the
// idle timeout, a TLS or usage error, an interrupt): the breaks a
// reconnecting client mends. nil and io.EOF are the peer closing.
func BrokenByPeer(c *Conn, err error) bool {
	if err == nil || errors.Is(err, io.EOF) {
		return c.TapErr() == nil
	}
	if c.TapErr() != nil || errors.Is(err, context.Canceled) {
		return false
	}
	var idle *IdleError
	if errors.As(err, &idle) {
		return false
	}
	var op *endpoint.OpError
	var refused *endpoint.RefusedError
	if errors.As(err, &op) || errors.As(err, &refused) || errors.Is(err, io.ErrUnexpectedEOF) {
		return endpoint.Retryable(err)
	}
	return false
}

// link is the connection a reconnecting Pipe sends on: the current one,
// or, between a break and the next connection, none (a Sender waits).
//
// What was handed to a connection that then broke may be lost with it;
// nothing is sent twice and nothing is skipped: a unit of input (a
// message; on a raw stream the bytes of a chunk) that the broken
// connection did not take is sent first on the next one, and once a
// break is seen nothing more goes to the broken connection.
type link struct {
	mu     sync.Mutex
	c      *Conn
	broken bool           // c broke; writers wait for the next
	next   chan struct{}  // closed when c is replaced or the link ends
	err    error          // the link ended: no next connection
	breaks chan sendBreak // a Sender's write failed
}

// sendBreak is a write that failed on a connection because it broke.
type sendBreak struct {
	c   *Conn
	err error
}

func newLink(c *Conn) *link {
	return &link{c: c, next: make(chan struct{}), breaks: make(chan sendBreak, 1)}
}

// current is the connection to send on, waiting while there is none.
func (l *link) current() (*Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.broken && l.err == nil {
		ch := l.next
		l.mu.Unlock()
		<-ch
		l.mu.Lock()
	}
	if l.err != nil {
		return nil, l.err
	}
	return l.c, nil
}

// broke marks c broken, if it is the current connection, and reports
// whether the link goes on (the caller sends what c did not take on the
// next connection). A Sender passes the error its write met, so that Run
// learns of the break; Run passes nil.
func (l *link) broke(c *Conn, werr error) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c != c {
		return true // already replaced
	}
	if !l.broken {
		l.broken = true
		if werr != nil {
			select {
			case l.breaks <- sendBreak{c, werr}:
			default:
			}
		}
	}
	return l.err == nil
}

// set makes c the current connection.
func (l *link) set(c *Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.c, l.broken = c, false
	close(l.next)
	l.next = make(chan struct{})
}

// end ends the link: waiting and later senders get err.
func (l *link) end(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = err
		close(l.next)
	}
}

// errLinkEnded is what a Sender gets once the conversation is over.
var errLinkEnded = errors.New("the conversation ended")

// deliver sends p on the link's current connection, and on a break sends
// what the broken connection did not take on the next one. raw says p is
// a chunk of a raw stream: its bytes that a connection took are not sent
// again; otherwise p is one message, sent whole.
func (s *Sender) deliver(c *Conn, p []byte, raw bool) (*Conn, error) {
	l := s.link
	if l == nil {
		return c, c.Write(p)
	}
	for {
		var err error
		if c, err = l.current(); err != nil {
			return nil, err
		}
		var n int
		if raw {
			n, err = c.writeN(p)
		} else {
			err = c.Write(p)
		}
		if err == nil {
			return c, nil
		}
		if !BrokenByPeer(c, err) && !errors.Is(err, net.ErrClosed) {
			return c, err
		}
		if raw {
			p = p[n:]
		}
		if !l.broke(c, err) {
			return c, errLinkEnded
		}
	}
}

package web

import (
	"container/list"
	"context"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The UI's HTTP server answers anything that can reach its port, token or
// not. httpLimits bound what a client can hold, and above all what a
// client without the token can: otherwise idle keep-alive connections, one
// fd each, would pile up until the process runs out and the real user is
// locked out.
type httpLimits struct {
	readHeader time.Duration // for a request's headers to arrive
	read       time.Duration // for a whole request (the page sends no bodies)
	write      time.Duration // for a response; a download gets this per 64 KiB
	idle       time.Duration // a keep-alive connection between requests
	// pending is how many connections may be open at once before any
	// request on them has shown the token. A new connection beyond it
	// closes the oldest such one, so a flood of idle connections cannot
	// keep the real user's out: the user's own connection shows the
	// token the moment its request is read.
	pending int
}

var defaultLimits = httpLimits{
	readHeader: 5 * time.Second,
	read:       30 * time.Second,
	write:      30 * time.Second,
	idle:       120 * time.Second,
	pending:    32,
}

const (
	maxHeaderBytes = 64 << 10
	// acceptLogEvery spaces out the line about failing accepts (out of
	// file descriptors), which net/http retries, and would log, every few
	// milliseconds.
	acceptLogEvery = time.Minute
)

// WebSocket connections are hijacked: net/http clears the deadlines it
// set on them (read, write) and no longer applies idle, so a page's
// WebSocket lives as long as the page.

// newHTTPServer is the UI's http.Server, with its limits. It is to serve
// a pendingListener, whose connections the guard admits.
func (u *UI) newHTTPServer(ctx context.Context, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: u.limits.readHeader,
		ReadTimeout:       u.limits.read,
		WriteTimeout:      u.limits.write,
		IdleTimeout:       u.limits.idle,
		MaxHeaderBytes:    maxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
		// net/http's own log lines ("http: Accept error: … too many open
		// files; retrying in 5ms") are not for the user's terminal.
		ErrorLog: log.New(&httpLog{logf: u.logf}, "", 0),
	}
}

type connKey struct{}

// admitted marks the connection r came on as one that showed the token.
func admitted(r *http.Request) {
	if c, ok := r.Context().Value(connKey{}).(*pendingConn); ok {
		c.admit()
	}
}

// pendingListener counts the connections that have not shown the token
// yet, and closes the oldest of them when there are more than max.
type pendingListener struct {
	net.Listener
	max int

	mu      sync.Mutex
	pending list.List // of *pendingConn, oldest first
	evicted int
}

func (l *pendingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &pendingConn{Conn: nc, l: l}
	var oldest *pendingConn
	l.mu.Lock()
	if l.pending.Len() >= l.max {
		oldest = l.pending.Remove(l.pending.Front()).(*pendingConn)
		oldest.elem = nil
		l.evicted++
	}
	c.elem = l.pending.PushBack(c)
	l.mu.Unlock()
	if oldest != nil {
		// Its server goroutine sees the read fail and ends it.
		oldest.Conn.Close()
	}
	return c, nil
}

// counts returns how many connections are pending now and how many were
// closed to make room.
func (l *pendingListener) counts() (pending, evicted int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pending.Len(), l.evicted
}

type pendingConn struct {
	net.Conn
	l    *pendingListener
	elem *list.Element // in l.pending while pending; guarded by l.mu
}

func (c *pendingConn) admit() {
	c.l.mu.Lock()
	if c.elem != nil {
		c.l.pending.Remove(c.elem)
		c.elem = nil
	}
	c.l.mu.Unlock()
}

func (c *pendingConn) Close() error {
	c.admit() // no longer pending either way
	return c.Conn.Close()
}

// httpLog takes net/http's error log: failing accepts become one line
// of sockit's now and then; the rest (a client's broken request and the
// like) is dropped.
type httpLog struct {
	logf func(format string, args ...any)
	mu   sync.Mutex
	last time.Time
}

func (h *httpLog) Write(p []byte) (int, error) {
	s := strings.TrimSpace(string(p))
	cause, ok := strings.CutPrefix(s, "http: Accept error: ")
	if !ok {
		return len(p), nil
	}
	cause, _, _ = strings.Cut(cause, "; retrying")
	h.mu.Lock()
	now := time.Now()
	show := h.last.IsZero() || now.Sub(h.last) >= acceptLogEvery
	if show {
		h.last = now
	}
	h.mu.Unlock()
	if show {
		if strings.Contains(cause, "too many open files") {
			cause += " (ulimit -n)"
		}
		h.logf("ui: %s; retrying", cause)
	}
	return len(p), nil
}

// deadlineWriter extends the connection's write deadline before each
// write, so that a long download that keeps moving is not cut off by the
// write timeout, and one that stops is.
type deadlineWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	per time.Duration
}

func newDeadlineWriter(w http.ResponseWriter, per time.Duration) *deadlineWriter {
	return &deadlineWriter{w: w, rc: http.NewResponseController(w), per: per}
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.rc.SetWriteDeadline(time.Now().Add(d.per))
	return d.w.Write(p)
}

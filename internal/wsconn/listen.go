package wsconn

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// ListenOptions configure a Listener.
type ListenOptions struct {
	// Path is the request path upgrades are accepted on; "" or "/"
	// accepts every path. The query is not compared.
	Path string
	// Subprotocols the server agrees to, in its order of preference; a
	// client that offers none of them still gets a WebSocket, without a
	// subprotocol (as RFC 6455 allows).
	Subprotocols []string
	Conn         Options
}

// Listener is an HTTP server whose WebSocket upgrades are its
// connections: Accept returns one *Conn per WebSocket. Requests that are
// not upgrades get an HTTP error that says what this server is.
type Listener struct {
	ln     net.Listener
	opt    ListenOptions
	srv    *http.Server
	conns  chan *Conn
	closed chan struct{}
	once   sync.Once
	served chan struct{}
}

type connKey struct{}

// Serve starts serving HTTP on ln (a TCP listener, or a TLS one for
// wss) and returns the Listener of its WebSockets. Close stops it.
func Serve(ln net.Listener, opt ListenOptions) *Listener {
	l := &Listener{
		ln:     ln,
		opt:    opt,
		conns:  make(chan *Conn),
		closed: make(chan struct{}),
		served: make(chan struct{}),
	}
	errLog := log.New(io.Discard, "", 0)
	if opt.Conn.Logf != nil {
		errLog = log.New(logWriter(opt.Conn.Logf), "websocket server: ", 0)
	}
	l.srv = &http.Server{
		Handler:           l,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          errLog,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
	go func() {
		defer close(l.served)
		l.srv.Serve(ln)
	}()
	return l
}

type logWriter func(format string, args ...any)

func (w logWriter) Write(p []byte) (int, error) {
	w("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// ServeHTTP upgrades a request and hands the WebSocket to Accept.
func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := l.opt.Path; p != "" && p != "/" && r.URL.Path != pathOnly(p) {
		http.Error(w, "sockit: no WebSocket at "+r.URL.Path+"; this server takes WebSocket connections on "+pathOnly(p), http.StatusNotFound)
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		w.Header().Set("Upgrade", "websocket")
		http.Error(w, "sockit: this is a WebSocket server; connect with a WebSocket client (ws:// or wss://)", http.StatusUpgradeRequired)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: l.opt.Subprotocols,
		// A debugging server takes WebSockets from any page, as a plain
		// TCP server takes connections from anyone: what it serves is
		// the user's own choice (--allow limits who).
		InsecureSkipVerify: true,
	})
	if err != nil {
		if l.opt.Conn.Logf != nil {
			l.opt.Conn.Logf("websocket: upgrade from %s failed: %v", r.RemoteAddr, err)
		}
		return
	}
	var local, remote net.Addr
	if nc, ok := r.Context().Value(connKey{}).(net.Conn); ok {
		local, remote = nc.LocalAddr(), nc.RemoteAddr()
	}
	if l.opt.Conn.Logf != nil {
		l.opt.Conn.Logf("websocket: upgrade from %s: GET %s, subprotocol %q", remote, r.URL.RequestURI(), ws.Subprotocol())
	}
	c := New(ws, local, remote, l.opt.Conn)
	select {
	case l.conns <- c:
	case <-l.closed:
		ws.Close(websocket.StatusGoingAway, "server shutting down")
		c.Close()
	}
}

func pathOnly(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if p == "" {
		return "/"
	}
	return p
}

// Accept waits for the next WebSocket.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close stops the HTTP server. WebSockets already accepted go on until
// their owners close them.
func (l *Listener) Close() error {
	l.once.Do(func() {
		close(l.closed)
		l.srv.Close()
	})
	<-l.served
	return nil
}

// Addr is the address the HTTP server listens on.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

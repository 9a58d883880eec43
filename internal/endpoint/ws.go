package endpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/net/http/httpguts"

	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/wsconn"
)

// WebSocket are the options of ws:// and wss:// endpoints, for dialing and
// listening.
type WebSocket struct {
	Header    http.Header   // extra request headers (-H), client only
	Protocols []string      // subprotocols to offer (client) or accept (server), --ws-protocol
	Binary    bool          // send every message as binary (--ws-binary); otherwise text when valid UTF-8
	Ping      time.Duration // send a ping this often, and close when no pong comes back within it; 0 never (--ws-ping)
}

func (o WebSocket) conn(t Tracer) wsconn.Options {
	opt := wsconn.Options{Binary: o.Binary, Ping: o.Ping}
	if t != nil {
		opt.Logf = t
	}
	return opt
}

// dialWS opens the TCP (or TLS) connection with the Dialer's own
// options (source, proxy, trace, TLS and pins), then does the WebSocket
// handshake over it.
func (d *Dialer) dialWS(ctx context.Context, ep Endpoint) (net.Conn, error) {
	under := ep
	under.Scheme, under.Path = "tcp", ""
	if ep.Scheme == "wss" {
		under.Scheme = "tls"
	}
	var (
		mu sync.Mutex
		nc net.Conn
	)
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		c, err := d.dial(ctx, under)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		nc = c
		mu.Unlock()
		return c, nil
	}
	tr := &http.Transport{DialContext: dial, DialTLSContext: dial, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	hdr := d.WebSocket.Header.Clone()
	if hdr == nil {
		hdr = http.Header{}
	}
	host := ""
	if h := hdr.Get("Host"); h != "" {
		host = h
		hdr.Del("Host")
	}
	if d.Trace != nil {
		d.Trace("websocket handshake: GET %s (Upgrade: websocket, subprotocols %q)", ep.Path, d.WebSocket.Protocols)
	}
	ws, resp, err := websocket.Dial(ctx, ep.Scheme+"://"+ep.Address()+ep.Path, &websocket.DialOptions{
		HTTPClient:   &http.Client{Transport: tr},
		HTTPHeader:   hdr,
		Host:         host,
		Subprotocols: d.WebSocket.Protocols,
	})
	if err != nil {
		mu.Lock()
		c := nc
		mu.Unlock()
		if c == nil {
			// The connection itself failed: that error, unwrapped from
			// the HTTP client's layers, says why.
			var ue *url.Error
			if errors.As(err, &ue) {
				return nil, ue.Err
			}
			return nil, err
		}
		c.Close()
		return nil, handshakeError(resp, err)
	}
	mu.Lock()
	c := nc
	mu.Unlock()
	if d.Trace != nil {
		d.Trace("websocket established: %s, subprotocol %q", ep, ws.Subprotocol())
	}
	conn := wsconn.New(ws, c.LocalAddr(), c.RemoteAddr(), d.WebSocket.conn(d.Trace))
	return &wsConn{Conn: conn, under: c}, nil
}

// wsConn is a client WebSocket with the connection it runs on, for the
// peer certificate (-v) of wss.
type wsConn struct {
	*wsconn.Conn
	under net.Conn
}

// Under is the TCP or TLS connection the WebSocket runs on (not
// NetConn: what is under a WebSocket must not be written to, half-closed
// or spliced by anyone else).
func (c *wsConn) Under() net.Conn { return c.under }

// handshakeError says why an HTTP server did not switch to WebSocket.
func handshakeError(resp *http.Response, err error) error {
	if resp == nil {
		return &HandshakeError{Msg: "WebSocket handshake failed: " + Cause(err), Err: err}
	}
	msg := fmt.Sprintf("the server answered HTTP %s instead of switching to WebSocket", resp.Status)
	if resp.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		if s := strings.TrimSpace(firstLine(string(b))); s != "" {
			msg += ": " + printable(s)
		}
	}
	hint := "Note that the path is part of a ws:// endpoint (ws://HOST:PORT/PATH); check it, and whether the server wants a subprotocol (--ws-protocol) or headers (-H)."
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		hint = "Note that -H 'Authorization: …' (or a cookie) sends credentials, and -H 'Origin: …' the origin a server may check."
	}
	return &HandshakeError{Msg: msg, Status: resp.StatusCode, Err: err, hint: hint}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// HandshakeError is a WebSocket handshake the server refused.
type HandshakeError struct {
	Msg    string
	Status int // the HTTP status, 0 when there was no answer
	Err    error
	hint   string
}

func (e *HandshakeError) Error() string { return e.Msg }
func (e *HandshakeError) Unwrap() error { return e.Err }
func (e *HandshakeError) Hint() string  { return e.hint }

// wsListen serves HTTP on ep, and returns the listener of its WebSockets.
func (lc *ListenConfig) wsListen(ctx context.Context, ep Endpoint) (net.Listener, error) {
	under := ep
	under.Scheme, under.Path = "tcp", ""
	if ep.Scheme == "wss" {
		under.Scheme = "tls"
	}
	ln, err := lc.Listen(ctx, under)
	if err != nil {
		return nil, err
	}
	opt := lc.WebSocket.conn(lc.Trace)
	if lc.Trace != nil {
		lc.Trace("websocket server: HTTP on %s, upgrades on %s", ln.Addr(), ep.Path)
	}
	return wsconn.Serve(ln, wsconn.ListenOptions{Path: ep.Path, Subprotocols: lc.WebSocket.Protocols, Conn: opt}), nil
}

// ParseHeader reads one -H value, "Name: value".
func ParseHeader(h http.Header, s string) error {
	name, value, ok := strings.Cut(s, ":")
	value = strings.TrimSpace(value)
	if !ok || !httpguts.ValidHeaderFieldName(name) || !httpguts.ValidHeaderFieldValue(value) {
		return exitcode.WithHint("Note that -H takes one header as 'Name: value', e.g. -H 'Authorization: Bearer abc'.",
			"bad header %q: want 'Name: value'", s)
	}
	switch strings.ToLower(name) {
	case "upgrade", "connection", "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions":
		return exitcode.Usagef("bad header %q: sockit sets %s itself for the WebSocket handshake", s, name)
	case "sec-websocket-protocol":
		return exitcode.WithHint("Note that --ws-protocol NAME offers a subprotocol.", "bad header %q: use --ws-protocol", s)
	}
	h.Add(name, value)
	return nil
}

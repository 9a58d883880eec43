package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/server"
	"github.com/sockit/sockit/internal/session"
)

// manager holds the open sessions, in the order they were opened.
type manager struct {
	ctx  context.Context
	sig  *signal // poked on any change a page should see
	logf func(format string, args ...any)

	mu       sync.Mutex
	sessions []*sess
	nextID   int
}

func newManager(ctx context.Context, logf func(format string, args ...any)) *manager {
	return &manager{ctx: ctx, sig: newSignal(), logf: logf}
}

func (m *manager) list() []*sess {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*sess(nil), m.sessions...)
}

func (m *manager) get(id int) (*sess, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sessions {
		if s.id == id {
			return s, nil
		}
	}
	return nil, fmt.Errorf("no session %d (closed?)", id)
}

// open checks the command's settings, opens the session's socket (a
// server's listener at once, so a port in use is an error in the form; a
// client connects in the background) and adds it.
func (m *manager) open(c *command) (*sess, error) {
	s, err := newSess(m, c)
	if err != nil {
		return nil, err
	}
	where := exposure(s.kind, s.localEP)
	if where != "" && !c.Confirm {
		s.cancel()
		return nil, &confirmError{kind: s.kind, where: where}
	}
	m.mu.Lock()
	m.nextID++
	s.id = m.nextID
	m.mu.Unlock()
	if err := s.start(); err != nil {
		s.cancel()
		return nil, err
	}
	if where != "" {
		msg := "a " + kindTitle(s.kind) + " on " + where + ", confirmed in the page"
		m.logf("ui: opened %s", msg)
		s.note(event.Info, "", "Opened "+msg+".")
	}
	m.mu.Lock()
	m.sessions = append(m.sessions, s)
	m.mu.Unlock()
	m.sig.poke()
	return s, nil
}

// close closes a session's sockets and forgets it.
func (m *manager) close(id int) error {
	s, err := m.get(id)
	if err != nil {
		return err
	}
	m.mu.Lock()
	for i, t := range m.sessions {
		if t == s {
			m.sessions = append(m.sessions[:i], m.sessions[i+1:]...)
			break
		}
	}
	m.mu.Unlock()
	s.stop()
	m.sig.poke()
	return nil
}

func (m *manager) closeAll() {
	for _, s := range m.list() {
		m.close(s.id)
	}
}

// sess is one session of the page: a TCP client, a TCP server or a UDP
// socket, with its log and its own settings. What it does on the network
// is the engine's: endpoint dials and listens, server accepts and sorts
// datagrams by sender, session frames, composes and reports events.
type sess struct {
	id     int
	m      *manager
	kind   string
	name   string
	log    *logbook
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// Settings, fixed when opened.
	frameName string
	spec      frame.Spec
	remoteEP  endpoint.Endpoint // client: where to connect; udp: the default remote (Port 0 when none)
	localEP   endpoint.Endpoint // server, udp: where to listen
	dialer    *endpoint.Dialer
	lc        *endpoint.ListenConfig
	tlsOn     bool
	fp        string // server TLS certificate's SHA-256
	udpRemote *net.UDPAddr

	version atomic.Uint64 // bumps on every change of state a page shows
	rules   atomic.Pointer[ruleSet]

	mu      sync.Mutex
	state   string // connecting, connected, listening, closed, failed
	status  string
	enc     *codec.Encoding
	conn    *session.Conn // client: the live connection
	connSeq uint64
	srv     *server.Server
	pc      net.PacketConn
	local   string
	history []string
	rep     *repeater
	closing bool // stop has begun: no new goroutines
}

const (
	dialTimeout     = 10 * time.Second
	udpIdle         = 60 * time.Second // UDP peers are forgotten after this long (as listen -u)
	maxHistory      = 30
	maxHistoryEntry = 4 << 10
)

func newSess(m *manager, c *command) (*sess, error) {
	s := &sess{m: m, kind: c.Kind, name: strings.TrimSpace(c.Name)}
	s.log = newLogbook(m.sig.poke)
	var err error
	if s.enc, err = codec.Lookup(c.Encoding); err != nil {
		return nil, err
	}
	if s.spec, err = frame.Parse(c.Frame); err != nil {
		return nil, err
	}
	s.frameName = s.spec.String()
	t := c.TLS
	if t == nil {
		t = &tlsConfig{}
	}
	s.tlsOn = t.On
	switch c.Kind {
	case kindClient:
		if c.Remote == "" {
			return nil, errors.New("a TCP client needs a remote endpoint (HOST:PORT)")
		}
		if s.remoteEP, err = endpoint.Parse(c.Remote, endpoint.Options{}); err != nil {
			return nil, err
		}
		if s.remoteEP.IsPacket() {
			return nil, fmt.Errorf("%s is a datagram endpoint: open a UDP session for it", c.Remote)
		}
		if t.On {
			if s.remoteEP.IsUnix() {
				return nil, errors.New("TLS needs a TCP endpoint, not a Unix socket")
			}
			s.remoteEP = s.remoteEP.WithTLS()
		}
		s.tlsOn = s.remoteEP.IsTLS()
		s.dialer = &endpoint.Dialer{Timeout: dialTimeout, Source: c.Local}
		if s.tlsOn {
			opts := endpoint.TLSOptions{Insecure: t.Insecure, Pin: t.Pin, SNI: t.SNI, CA: t.CA}
			if s.dialer.TLS, err = opts.Client(); err != nil {
				return nil, err
			}
		}
	case kindServer:
		if c.Local == "" {
			return nil, errors.New("a TCP server needs a local endpoint to listen on (such as 127.0.0.1:8888)")
		}
		if s.localEP, err = endpoint.Parse(c.Local, endpoint.Options{Listen: true}); err != nil {
			return nil, err
		}
		if s.localEP.IsPacket() {
			return nil, fmt.Errorf("%s is a datagram endpoint: open a UDP session for it", c.Local)
		}
		if t.On {
			if s.localEP.IsUnix() {
				return nil, errors.New("TLS needs a TCP endpoint, not a Unix socket")
			}
			s.localEP = s.localEP.WithTLS()
		}
		s.tlsOn = s.localEP.IsTLS()
		s.lc = &endpoint.ListenConfig{}
		if s.tlsOn {
			opts := endpoint.TLSOptions{Cert: t.Cert, Key: t.Key, CA: t.CA}
			if s.lc.TLS, s.fp, err = opts.Server(); err != nil {
				return nil, err
			}
		}
	case kindUDP:
		if t.On {
			return nil, errors.New("TLS is for TCP sessions, not UDP")
		}
		if !s.spec.IsRaw() {
			return nil, errors.New("framing is for TCP streams: each UDP datagram is already one message")
		}
		local := c.Local
		if local == "" {
			local = ":0"
		}
		if s.localEP, err = endpoint.Parse(local, endpoint.Options{UDP: true, Listen: true}); err != nil {
			return nil, err
		}
		if !s.localEP.IsUDP() {
			return nil, fmt.Errorf("%s is not a UDP endpoint", c.Local)
		}
		if c.Remote != "" {
			if s.remoteEP, err = endpoint.Parse(c.Remote, endpoint.Options{UDP: true}); err != nil {
				return nil, err
			}
			if !s.remoteEP.IsUDP() {
				return nil, fmt.Errorf("%s is not a UDP endpoint", c.Remote)
			}
			if s.udpRemote, err = net.ResolveUDPAddr(s.remoteEP.Network(), s.remoteEP.Address()); err != nil {
				return nil, &endpoint.OpError{Op: "resolve", Endpoint: s.remoteEP.String(), Err: err}
			}
		}
		s.lc = &endpoint.ListenConfig{}
	}
	s.ctx, s.cancel = context.WithCancel(m.ctx)
	return s, nil
}

// sink receives the session's events: they go to the log, and opens and
// closes change the peer list.
func (s *sess) sink(e *event.Event) {
	s.log.sink(e)
	switch e.Kind {
	case event.Connect, event.Close, event.Listen:
		s.touch()
	}
}

// note adds an event of the UI's own to the log: a failed connect, a
// repeat that stopped on an error.
func (s *sess) note(kind event.Kind, peer, msg string) {
	e := &event.Event{Time: time.Now(), Kind: kind, Peer: peer}
	if kind == event.Error {
		e.Err = msg
	} else {
		e.Msg = msg
	}
	s.log.sink(e)
}

func (s *sess) touch() {
	s.version.Add(1)
	s.m.sig.poke()
}

func (s *sess) setState(state, status string) {
	s.mu.Lock()
	s.state, s.status = state, status
	s.mu.Unlock()
	s.touch()
}

func (s *sess) encoding() *codec.Encoding {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enc
}

func (s *sess) start() error {
	switch s.kind {
	case kindClient:
		s.wg.Add(1)
		go s.dial()
		return nil
	case kindServer:
		ln, err := s.lc.Listen(s.ctx, s.localEP)
		if err != nil {
			return err
		}
		s.serve(ln.Addr().String(), func(srv *server.Server) error { return srv.Serve(s.ctx, ln) })
		return nil
	case kindUDP:
		pc, err := s.lc.ListenPacket(s.ctx, s.localEP)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.pc = pc
		s.mu.Unlock()
		s.serve(pc.LocalAddr().String(), func(srv *server.Server) error { return srv.ServePacket(s.ctx, pc) })
		return nil
	}
	return fmt.Errorf("unknown session kind %q", s.kind)
}

// serve runs a server (TCP or UDP) whose conversations answer by the
// session's response rules.
func (s *sess) serve(local string, run func(*server.Server) error) {
	srv := &server.Server{
		Handler: s.respond,
		Conn:    session.Options{Proto: s.localEP.Proto(), Frame: s.spec, Sink: s.sink},
		Sink:    s.sink,
	}
	if s.kind == kindUDP {
		srv.Conn.IdleTimeout = udpIdle
	}
	status := "listening on " + local
	if s.kind == kindUDP {
		status = "bound to " + local
		if s.udpRemote != nil {
			status += ", default remote " + s.udpRemote.String()
		}
	}
	if s.fp != "" {
		status += " · TLS, certificate SHA-256 " + s.fp
	} else if s.tlsOn {
		status += " · TLS"
	}
	s.mu.Lock()
	s.srv, s.local = srv, local
	s.mu.Unlock()
	s.setState("listening", status)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := run(srv)
		if s.ctx.Err() == nil && err != nil {
			s.note(event.Error, "", err.Error())
			s.setState("failed", "stopped: "+err.Error())
		}
	}()
}

// dial connects a client session and talks until the connection ends.
func (s *sess) dial() {
	defer s.wg.Done()
	s.setState("connecting", "connecting to "+s.remoteEP.String()+"…")
	nc, err := s.dialer.Dial(s.ctx, s.remoteEP)
	if err != nil {
		if s.ctx.Err() != nil {
			return
		}
		s.note(event.Error, s.remoteEP.Address(), err.Error())
		s.setState("failed", err.Error())
		return
	}
	s.mu.Lock()
	s.connSeq++
	c := session.New(nc, session.Options{ID: s.connSeq, Proto: s.remoteEP.Proto(), Frame: s.spec, Sink: s.sink})
	s.conn = c
	s.local = c.Local()
	s.mu.Unlock()
	s.setState("connected", "connected to "+c.Peer()+" from "+c.Local())
	err = s.respond(s.ctx, c)
	if s.ctx.Err() != nil {
		c.SetReason("closed by you")
	}
	c.Close(err)
	s.mu.Lock()
	s.conn = nil
	s.mu.Unlock()
	if s.ctx.Err() != nil {
		return
	}
	why := "closed by the peer"
	if err != nil && !errors.Is(err, net.ErrClosed) {
		why = "closed: " + endpoint.Cause(err)
	} else if err != nil {
		why = "disconnected"
	}
	s.setState("closed", why)
}

// goTracked runs f on a goroutine the session waits for when it closes,
// unless it is closing already (then it reports false).
func (s *sess) goTracked(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// reconnect dials a client session again after it closed or failed.
func (s *sess) reconnect() error {
	if s.kind != kindClient {
		return errors.New("only a client session reconnects")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == "connecting" || s.state == "connected" {
		return errors.New("already connected or connecting")
	}
	if s.closing {
		return errors.New("session closed")
	}
	s.state = "connecting" // so a second click does not dial twice
	s.wg.Add(1)
	go s.dial()
	return nil
}

// stop closes the session's sockets and waits for its goroutines.
func (s *sess) stop() {
	s.stopRepeat()
	s.mu.Lock()
	s.closing = true
	if s.conn != nil {
		s.conn.SetReason("closed by you")
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// kick disconnects one peer of a server or UDP session, or a client's
// connection.
func (s *sess) kick(peer string) error {
	var c *session.Conn
	s.mu.Lock()
	if s.kind == kindClient {
		c = s.conn
	} else if s.srv != nil {
		c = s.srv.Lookup(peer)
	}
	s.mu.Unlock()
	if c == nil {
		if s.kind == kindClient {
			return errors.New("not connected")
		}
		return fmt.Errorf("no peer %s (gone already?)", peer)
	}
	c.SetReason("disconnected by you")
	c.NetConn().Close()
	return nil
}

func (s *sess) addHistory(data string) {
	if data == "" || len(data) > maxHistoryEntry {
		return // the page gets the history with every state: keep it small
	}
	s.mu.Lock()
	if n := len(s.history); n == 0 || s.history[n-1] != data {
		s.history = append(s.history, data)
		if len(s.history) > maxHistory {
			s.history = append([]string(nil), s.history[len(s.history)-maxHistory:]...)
		}
	}
	s.mu.Unlock()
}

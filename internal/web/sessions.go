package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/server"
	"github.com/sockit/sockit/internal/session"
	"github.com/sockit/sockit/internal/talk"
)

// manager holds the open sessions, in the order they were opened.
type manager struct {
	ctx    context.Context
	sig    *signal // poked on any change a page should see
	logf   func(format string, args ...any)
	ws     *workspace // nil in tests that make a manager alone
	maxLog int        // each session's log bound in bytes (Options.MaxLog)

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
	where := exposure(s.kind, s.ep)
	if where != "" && !c.Confirm {
		s.cancel()
		return nil, &confirmError{kind: s.kind, where: where}
	}
	if err := s.open(); err != nil {
		s.cancel()
		return nil, err
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
	m.changed()
	return s, nil
}

// changed says the workspace has something new to keep.
func (m *manager) changed() {
	if m.ws != nil {
		m.ws.changed()
	}
}

// collect is the open sessions as the workspace keeps them.
func (m *manager) collect() []savedSession {
	var out []savedSession
	for _, s := range m.list() {
		out = append(out, s.saved())
	}
	return out
}

// restore reopens sessions of the last run, all of them or the one keyed
// key; those that fail to open stay on offer, and the error names them.
func (m *manager) restore(key string) error {
	var failed []savedSession
	var errs []string
	for _, ss := range m.ws.take(key) {
		c := ss.Open
		c.Op, c.Confirm = "open", true // confirmed when first opened
		c.saved = &ss
		if _, err := m.open(&c); err != nil {
			failed = append(failed, ss)
			errs = append(errs, ss.Title+": "+oneLine(err.Error()))
		}
	}
	m.ws.putBack(failed)
	m.sig.poke()
	if len(errs) > 0 {
		return errors.New("not reopened: " + strings.Join(errs, "; "))
	}
	return nil
}

// forget drops the sessions of the last run that were not reopened.
func (m *manager) forget(key string) {
	m.ws.take(key)
	m.sig.poke()
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
	m.changed()
	return nil
}

func (m *manager) closeAll() {
	for _, s := range m.list() {
		m.close(s.id)
	}
}

// sess is one session of the page: a TCP client, a TCP server or a UDP
// socket, with its log and its own settings. It is set up as the command
// line sets up its conversations (talk.New), and what it does on the
// network is the engine's: endpoint dials and listens, server accepts and
// sorts datagrams by sender, session frames, composes and reports events.
type sess struct {
	id     int
	key    string // names it in the workspace, across runs
	m      *manager
	kind   kind
	name   string
	opened command // the open command, kept in the workspace
	log    *logbook
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// Settings, fixed when opened.
	setup     *talk.Setup
	ep        endpoint.Endpoint // client: where to connect; server, udp: where to listen
	remoteEP  endpoint.Endpoint // udp: the default remote (Scheme "" when none)
	udpRemote net.Addr          // udp, unixgram: the default remote, resolved
	sock      *talk.Socket      // server, udp: the listening socket, until served

	version atomic.Uint64 // bumps on every change of state a page shows
	rules   atomic.Pointer[ruleSet]

	mu      sync.Mutex
	state   state
	status  string
	enc     *codec.Encoding
	conn    *session.Conn // client: the live connection
	connSeq uint64
	srv     *server.Server
	hub     *server.Hub
	local   string
	history []string
	view    viewState
	rep     *repeater
	closing bool // stop has begun: no new goroutines
	// sendSeq is the {{seq}} of single sends: it counts on through the
	// session, from one send to the next (a repeat counts on its own).
	sendSeq atomic.Uint64

	seq        seqCounter // gaps in the peers' sequence numbers
	dropsAt    time.Time  // when drops was read
	drops      uint64     // the drops counted: the kernel's and sockit's
	dropsBase  uint64     // …at the last reset
	dropsGen   uint64     // resets so far: a read from before one is stale
	dropsKnown bool

	recv    *recvFile // receiving to a file (or done)
	sending *fileSend // a file being sent (or done)

	// A client's reconnecting.
	autoReconnect bool
	dialing       bool          // dial runs (connecting, connected, or waiting to reconnect)
	retry         *retryInfo    // waiting to reconnect
	userClosed    bool          // the user disconnected: no reconnecting this time
	wakeDial      bool          // connect now, even with auto-reconnect off
	wake          chan struct{} // ends a wait to reconnect
}

// kind is what a session is, as the page names it.
type kind string

const (
	kindClient kind = "tcp-client"
	kindServer kind = "tcp-server"
	kindUDP    kind = "udp"
)

// state is where a session stands, as the page shows it.
type state string

const (
	stateConnecting state = "connecting"
	stateConnected  state = "connected"
	stateListening  state = "listening"
	stateClosed     state = "closed"
	stateFailed     state = "failed"
)

const (
	dialTimeout     = 10 * time.Second
	maxHistory      = 30
	maxHistoryEntry = 4 << 10
)

// options are the session's conversation options from the open command,
// and the page's own rules about kinds: a TCP client needs a remote, a
// server a local endpoint, a UDP session binds to a UDP one. The rules
// between options (TLS needs a TCP endpoint…) are talk's, as on the
// command line.
func (c *command) options() (talk.Options, error) {
	opt := talk.Options{Encoding: c.Encoding, Frame: c.Frame}
	t := c.TLS
	if t == nil {
		t = &tlsConfig{}
	}
	opt.TLS = t.On
	// The advanced fold: each the command line's option of the same name,
	// checked by talk as there.
	opt.Idle = time.Duration(c.Idle) * time.Second
	if c.Verify != "" {
		opt.VerifyChecksum, opt.Input.Checksum = true, c.Verify
	}
	var alpn []string
	for _, p := range strings.Split(t.ALPN, ",") {
		if p = strings.TrimSpace(p); p != "" {
			alpn = append(alpn, p)
		}
	}
	switch kind(c.Kind) {
	case kindClient:
		if c.Remote == "" {
			return opt, errors.New("a TCP client needs a remote endpoint (HOST:PORT)")
		}
		opt.Role, opt.Endpoint = talk.Client, c.Remote
		opt.Source, opt.Timeout, opt.Proxy = c.Local, dialTimeout, strings.TrimSpace(c.Proxy)
		opt.TLSOptions = endpoint.TLSOptions{Insecure: t.Insecure, Pin: t.Pin, SNI: t.SNI, CA: t.CA,
			ClientCert: t.ClientCert, ClientKey: t.ClientKey, ALPN: alpn, Min: t.Min}
	case kindServer:
		if c.Local == "" {
			return opt, errors.New("a TCP server needs a local endpoint to listen on (such as 127.0.0.1:8888)")
		}
		opt.Role, opt.Endpoint, opt.KeepOpen = talk.Server, c.Local, true
		opt.TLSOptions = endpoint.TLSOptions{Cert: t.Cert, Key: t.Key, CA: t.CA, ALPN: alpn, Min: t.Min}
		opt.MaxConns = c.MaxConns
	case kindUDP:
		opt.Role, opt.Endpoint, opt.UDP, opt.KeepOpen = talk.Server, c.Local, true, true
		if opt.Endpoint == "" {
			opt.Endpoint = ":0"
		}
		opt.ListenSends = true
		opt.MaxConns = c.MaxConns
		opt.Sockopts = endpoint.Sockopts{Broadcast: c.Broadcast, TTL: c.TTL}
		opt.Multicast = endpoint.Multicast{Iface: strings.TrimSpace(c.Iface), NoLoop: c.NoLoop}
		if g := strings.TrimSpace(c.Group); g != "" {
			// Joining a group is listening on GROUP:PORT (as on the
			// command line); the port is the local endpoint's.
			ep, err := endpoint.Parse(opt.Endpoint, endpoint.Options{UDP: true, Listen: true})
			if err != nil {
				return opt, err
			}
			if !endpoint.IsMulticast(g) {
				return opt, fmt.Errorf("%s is not a multicast group (224.0.0.0/4, ff00::/8)", g)
			}
			if ep.Port == 0 {
				return opt, errors.New("joining a multicast group needs a port: local :PORT")
			}
			opt.Endpoint = "udp://" + net.JoinHostPort(g, strconv.Itoa(ep.Port))
		}
	}
	if c.Kind != string(kindClient) {
		if a := strings.TrimSpace(c.Allow); a != "" {
			opt.Allow = &a
		}
		if d := strings.TrimSpace(c.Deny); d != "" {
			opt.Deny = &d
		}
	} else if c.Allow != "" || c.Deny != "" || c.MaxConns != 0 {
		return opt, errors.New("allow, deny and max conns are a server's")
	}
	if c.Kind != string(kindClient) && c.Proxy != "" {
		return opt, errors.New("a proxy is a client's")
	}
	return opt, nil
}

func newSess(m *manager, c *command) (*sess, error) {
	s := &sess{m: m, kind: kind(c.Kind), name: strings.TrimSpace(c.Name), key: newKey(), opened: *c, wake: make(chan struct{}, 1)}
	s.autoReconnect = c.AutoReconnect && s.kind == kindClient
	s.seq.set(c.SeqCheck)
	s.opened.Op, s.opened.Req, s.opened.saved = "", "", nil
	s.log = newLogbook(m.sig.poke, m.maxLog)
	if ss := c.saved; ss != nil {
		s.key, s.view = ss.Key, ss.View
		s.history = append([]string(nil), ss.History...)
		if len(s.history) > maxHistory {
			s.history = s.history[len(s.history)-maxHistory:]
		}
	}
	opt, err := c.options()
	if err != nil {
		return nil, err
	}
	opt.Handler = s.respond
	opt.Observers = []talk.Observer{{Sink: s.sink}}
	if s.setup, err = talk.New(opt); err != nil {
		return nil, err
	}
	s.ep = s.setup.Endpoint()
	s.log.crlf = s.setup.Frame().Kind == frame.Line
	s.enc, _ = s.setup.Encodings()
	switch s.kind {
	case kindClient, kindServer:
		if s.ep.IsPacket() {
			return nil, fmt.Errorf("%s is a datagram endpoint: open a UDP session for it", opt.Endpoint)
		}
	case kindUDP:
		// A datagram session: UDP, or a unixgram socket (a path).
		if !s.ep.IsPacket() || s.ep.Scheme == "dtls" {
			return nil, fmt.Errorf("%s is not a UDP (or unixgram) endpoint", c.Local)
		}
		if c.Remote != "" {
			if s.remoteEP, err = endpoint.Parse(c.Remote, endpoint.Options{UDP: true}); err != nil {
				return nil, err
			}
			if s.remoteEP.IsUnix() != s.ep.IsUnix() || !s.remoteEP.IsPacket() || s.remoteEP.Scheme == "dtls" {
				return nil, fmt.Errorf("%s is not a %s endpoint", c.Remote, s.ep.Scheme)
			}
			if s.remoteEP.IsUnix() {
				s.udpRemote = &net.UnixAddr{Name: s.remoteEP.Address(), Net: "unixgram"}
			} else if s.udpRemote, err = net.ResolveUDPAddr(s.remoteEP.Network(), s.remoteEP.Address()); err != nil {
				return nil, &endpoint.OpError{Op: "resolve", Endpoint: s.remoteEP.String(), Err: err}
			}
		}
	}
	if ss := c.saved; ss != nil && len(ss.Rules) > 0 {
		rs, err := parseRules(ss.Rules, s.enc)
		if err != nil {
			return nil, fmt.Errorf("its auto-reply rules: %v", err)
		}
		s.rules.Store(rs)
	}
	s.ctx, s.cancel = context.WithCancel(m.ctx)
	return s, nil
}

// saved is the session as the workspace keeps it: how it was opened (in
// the encoding it has now), its rules, history and view.
func (s *sess) saved() savedSession {
	ss := savedSession{Key: s.key, Rules: s.rules.Load().list()}
	s.mu.Lock()
	ss.Open = s.opened // AutoReconnect changes under s.mu
	ss.Open.Encoding = s.enc.Name()
	ss.History = append([]string(nil), s.history...)
	ss.View = s.view
	local := s.local
	s.mu.Unlock()
	ss.Title = s.title(local)
	return ss
}

// setView keeps how the page shows the session's log.
func (s *sess) setView(v viewState) {
	s.mu.Lock()
	s.view = v
	s.mu.Unlock()
	s.touch()
	s.m.changed()
}

// sink receives the session's events: they go to the log, and opens and
// closes change the peer list.
func (s *sess) sink(e *event.Event) {
	s.log.sink(e)
	if e.Kind == event.Data && e.Dir == event.In {
		s.seq.see(e.Peer, e.Data)
		s.mu.Lock()
		r := s.recv
		s.mu.Unlock()
		if r != nil {
			r.write(e.Data)
		}
	}
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

// noteError adds an error event of the UI's own for err, with the option
// it is about (fail.OptionOf), which the page names by its field's label.
func (s *sess) noteError(peer string, err error) {
	s.log.sink(&event.Event{Time: time.Now(), Kind: event.Error, Peer: peer, Err: err.Error(), Option: string(fail.OptionOf(err))})
}

func (s *sess) touch() {
	s.version.Add(1)
	s.m.sig.poke()
}

func (s *sess) setState(st state, status string) {
	s.mu.Lock()
	s.state, s.status = st, status
	s.mu.Unlock()
	s.touch()
}

func (s *sess) encoding() *codec.Encoding {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enc
}

// open opens a server's listening socket, so that an address in use is
// an error in the page's form; a client connects once started.
func (s *sess) open() error {
	if s.kind == kindClient {
		return nil
	}
	srv := s.setup.Server()
	so, err := s.setup.Listening().Open(s.ctx, srv)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.sock, s.srv = so, srv
	s.hub = &server.Hub{Server: srv}
	s.mu.Unlock()
	return nil
}

func (s *sess) start() error {
	if s.kind == kindClient {
		s.mu.Lock()
		s.dialing = true
		s.mu.Unlock()
		s.wg.Add(1)
		go s.dial()
		return nil
	}
	s.serve()
	return nil
}

// serve runs a server (TCP or UDP) whose conversations answer by the
// session's response rules.
func (s *sess) serve() {
	s.mu.Lock()
	so, srv := s.sock, s.srv
	s.local = so.Addr().String()
	s.mu.Unlock()
	status := "listening on " + s.local
	if s.kind == kindUDP {
		status = "bound to " + s.local
		if endpoint.IsMulticast(s.ep.Host) {
			status += ", joined " + s.ep.Host
		}
		if s.udpRemote != nil {
			status += ", default remote " + s.udpRemote.String()
		}
	}
	if fp := s.setup.Listening().Ephemeral; fp != "" {
		status += " · TLS, certificate SHA-256 " + fp
	} else if s.ep.IsTLS() {
		status += " · TLS"
	}
	s.setState(stateListening, status)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := so.Serve(s.ctx, srv)
		if s.ctx.Err() == nil && err != nil {
			s.noteError("", err)
			s.setState(stateFailed, "stopped: "+err.Error())
		}
	}()
}

// dial connects a client session and talks until the connection ends;
// with auto-reconnect on, it connects again after a pause that doubles
// with each failed attempt (reconnectFirst up to reconnectMax), until
// the session closes, the user disconnects, or auto-reconnect is off.
func (s *sess) dial() {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		s.dialing = false
		s.mu.Unlock()
	}()
	attempt := 0
	for {
		if s.dialOnce() {
			attempt = 0
		}
		if s.ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		again := s.autoReconnect && !s.userClosed
		s.userClosed = false
		s.mu.Unlock()
		if !again {
			return
		}
		attempt++
		d := endpoint.Retry{Delay: reconnectFirst, MaxDelay: reconnectMax}.Backoff(attempt)
		s.mu.Lock()
		s.retry = &retryInfo{Attempt: attempt, At: time.Now().Add(d).UnixMilli(), Delay: d.Milliseconds()}
		s.mu.Unlock()
		s.touch()
		select { // a wake from before the wait is stale
		case <-s.wake:
		default:
		}
		t := time.NewTimer(d)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-s.wake: // Reconnect clicked, or auto-reconnect turned off
			t.Stop()
		}
		s.mu.Lock()
		s.retry = nil
		again = s.autoReconnect || s.wakeDial
		s.wakeDial = false
		s.mu.Unlock()
		if !again {
			s.touch()
			return
		}
	}
}

// How long a client with auto-reconnect waits before connecting again:
// reconnectFirst after the first failure, twice as long after each
// failure after it, at most reconnectMax.
const (
	reconnectFirst = 500 * time.Millisecond
	reconnectMax   = 30 * time.Second
)

// retryInfo is a client's wait before it connects again, as the page
// shows it.
type retryInfo struct {
	Attempt int   `json:"attempt"` // the failed attempts in a row so far
	At      int64 `json:"at"`      // unix ms of the next attempt
	Delay   int64 `json:"delay"`   // ms of this wait
}

// dialOnce connects once and talks until the connection ends. It reports
// whether it connected.
func (s *sess) dialOnce() bool {
	s.setState(stateConnecting, "connecting to "+s.ep.String()+"…")
	nc, err := s.setup.Dialer().Dial(s.ctx, s.ep)
	if err != nil {
		if s.ctx.Err() != nil {
			return false
		}
		s.noteError(s.ep.Address(), err)
		s.setState(stateFailed, err.Error())
		return false
	}
	s.mu.Lock()
	s.connSeq++
	c := session.New(nc, s.setup.Session(s.connSeq))
	s.conn = c
	s.local = c.Local()
	s.mu.Unlock()
	s.setState(stateConnected, "connected to "+c.Peer()+" from "+c.Local())
	err = s.respond(s.ctx, c)
	if s.ctx.Err() != nil {
		c.SetReason("closed by you")
	}
	c.Close(err)
	s.mu.Lock()
	s.conn = nil
	s.mu.Unlock()
	if s.ctx.Err() != nil {
		return true
	}
	why := "closed by the peer"
	if err != nil && !errors.Is(err, net.ErrClosed) {
		why = "closed: " + endpoint.Cause(err)
	} else if err != nil {
		why = "disconnected"
	}
	s.setState(stateClosed, why)
	return true
}

// setAutoReconnect turns a client's auto-reconnect on or off; off ends a
// wait to reconnect, on starts connecting again if it is not connected.
func (s *sess) setAutoReconnect(on bool) error {
	if s.kind != kindClient {
		return errors.New("only a client session reconnects")
	}
	s.mu.Lock()
	s.autoReconnect = on
	s.opened.AutoReconnect = on
	waiting := s.dialing
	s.mu.Unlock()
	if waiting {
		s.poke()
	} else if on {
		s.reconnect()
	}
	s.touch()
	s.m.changed()
	return nil
}

// poke wakes a client waiting to reconnect.
func (s *sess) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
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
	if s.closing {
		return errors.New("session closed")
	}
	if s.dialing {
		if s.retry == nil {
			return errors.New("already connected or connecting")
		}
		// Waiting to reconnect: now.
		s.wakeDial = true
		s.poke()
		return nil
	}
	s.state = stateConnecting // so a second click does not dial twice
	s.dialing = true
	s.wg.Add(1)
	go s.dial()
	return nil
}

// stop closes the session's sockets and waits for its goroutines, and
// the file it receives to.
func (s *sess) stop() {
	s.stopRepeat()
	defer func() {
		s.mu.Lock()
		r := s.recv
		s.mu.Unlock()
		if r != nil {
			r.close()
		}
	}()
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
			if s.setAutoReconnectOffWait() {
				return nil
			}
			return errors.New("not connected")
		}
		return fmt.Errorf("no peer %s (gone already?)", peer)
	}
	if s.kind == kindClient {
		s.mu.Lock()
		s.userClosed = true // not to be reconnected
		s.mu.Unlock()
	}
	c.SetReason("disconnected by you")
	c.NetConn().Close()
	return nil
}

// setSeqCheck turns counting gaps in sequence numbers on or off (and
// starts counting again).
func (s *sess) setSeqCheck(on bool) {
	s.seq.set(on)
	s.mu.Lock()
	s.opened.SeqCheck = on
	s.mu.Unlock()
	s.touch()
	s.m.changed()
}

// setAutoReconnectOffWait ends a client's wait to reconnect, as
// Disconnect does while it waits; it reports whether there was one.
func (s *sess) setAutoReconnectOffWait() bool {
	s.mu.Lock()
	waiting := s.retry != nil
	if waiting {
		s.userClosed = true
		s.autoReconnect = false
		s.opened.AutoReconnect = false
	}
	s.mu.Unlock()
	if waiting {
		s.poke()
		s.touch()
	}
	return waiting
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
	s.m.changed()
}

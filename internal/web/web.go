// Package web is sockit's browser front end, `sockit ui`: the network
// debugging assistant (TCP client, TCP server and UDP sessions, a send box,
// a live log, counters, saved messages, response rules) as a page served by
// the binary itself.
//
// It holds no networking of its own. A session here is the engine's:
// endpoint dials and listens, session composes, frames and counts, server
// accepts and sorts datagrams by sender, and every byte is reported as an
// event; this package keeps those events for the page, sends them over a
// WebSocket in batches, and turns the page's commands into engine calls.
//
// The page is plain HTML, CSS and JavaScript embedded with go:embed: no
// build step. The server listens on loopback unless told otherwise and
// wants the token it was started with on every request (then from an
// HttpOnly cookie); it checks Host and Origin so other web sites cannot
// reach it through the browser. Nothing in it runs programs: --exec is not
// reachable from the page.
package web

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed assets
var assets embed.FS

// Options configure a UI. The zero value makes a random token and keeps
// saved messages in DefaultConfigDir().
type Options struct {
	Token     string                           // required on every request; "" is the workspace's (or a new random one)
	ConfigDir string                           // where saved.json and workspace.json live; "" is DefaultConfigDir()
	Version   string                           // shown on the page
	MaxLog    int64                            // memory a session's log may hold, in bytes; 0 is DefaultMaxLog
	Logf      func(format string, args ...any) // problems worth a line on stderr; nil is silent
}

// UI serves the page and runs the sessions it opens.
type UI struct {
	token   string
	version string
	maxLog  int
	logf    func(format string, args ...any)
	mgr     *manager
	saved   *savedStore
	ws      *workspace
	static  fs.FS

	limits  httpLimits
	pending *pendingListener // its listener is set by Serve

	mu      sync.Mutex
	closing bool
	clients sync.WaitGroup // WebSocket handlers
}

// DefaultConfigDir is $SOCKIT_CONFIG_DIR, or sockit under the user's
// configuration directory (~/.config/sockit on Linux).
func DefaultConfigDir() string {
	if d := os.Getenv("SOCKIT_CONFIG_DIR"); d != "" {
		return d
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "sockit-config")
	}
	return filepath.Join(d, "sockit")
}

// New returns a UI with no sessions open.
func New(opt Options) *UI {
	u := &UI{token: opt.Token, version: opt.Version, logf: opt.Logf, limits: defaultLimits, pending: &pendingListener{}}
	if u.logf == nil {
		u.logf = func(string, ...any) {}
	}
	u.maxLog = int(min(opt.MaxLog, 1<<40))
	if u.version == "" {
		u.version = "dev"
	}
	dir := opt.ConfigDir
	if dir == "" {
		dir = DefaultConfigDir()
	}
	u.saved = loadSaved(filepath.Join(dir, "saved.json"), u.logf)
	u.ws = loadWorkspace(filepath.Join(dir, "workspace.json"), u.logf)
	if u.token == "" {
		// The token of the last run, so that a tab left open reconnects.
		u.token = u.ws.token()
	} else {
		u.ws.setToken(u.token)
	}
	u.static, _ = fs.Sub(assets, "assets")
	return u
}

// LastAddr is the address the UI served on last time ("" if none): the
// command serves there again unless told otherwise, so that a tab left
// open reconnects.
func (u *UI) LastAddr() string { return u.ws.addr() }

// Token is the secret the page's URL carries.
func (u *UI) Token() string { return u.token }

// URL is the address to open for a server listening on addr.
func (u *UI) URL(addr net.Addr) string {
	host := addr.String()
	if ap, err := netip.ParseAddrPort(host); err == nil && ap.Addr().IsUnspecified() {
		host = net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ap.Port())))
	}
	return "http://" + host + "/?token=" + url.QueryEscape(u.token)
}

// Serve serves the UI on ln until ctx is cancelled, then closes every
// session and returns nil.
func (u *UI) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	u.mgr = newManager(ctx, u.logf)
	u.mgr.ws = u.ws
	u.mgr.maxLog = u.maxLog
	u.ws.setAddr(ln.Addr().String())
	wctx, wcancel := context.WithCancel(ctx)
	wdone := make(chan struct{})
	go func() { defer close(wdone); u.ws.run(wctx, u.mgr.collect) }()
	g := &guard{hosts: allowedHosts(ln.Addr()), token: u.token, cookie: cookieName(ln.Addr())}
	hs := u.newHTTPServer(ctx, g.wrap(u.routes(ctx)))
	u.pending.Listener, u.pending.max = ln, u.limits.pending
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(u.pending) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	// WebSocket connections are hijacked: http.Server.Shutdown does not
	// wait for them, so their handlers end on ctx and are waited for here.
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	hs.Shutdown(sctx)
	scancel()
	cancel()
	u.mu.Lock()
	u.closing = true
	u.mu.Unlock()
	u.clients.Wait()
	// The workspace keeps the sessions open now: closing them as the UI
	// shuts down does not forget them.
	wcancel()
	<-wdone
	u.ws.stop()
	u.mgr.closeAll()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (u *UI) routes(ctx context.Context) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", u.serveFile("index.html"))
	mux.HandleFunc("GET /app.js", u.serveFile("app.js"))
	mux.HandleFunc("GET /i18n.js", u.serveFile("i18n.js"))
	mux.HandleFunc("GET /app.css", u.serveFile("app.css"))
	mux.HandleFunc("GET /favicon.svg", u.serveFile("favicon.svg"))
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) { u.serveWS(ctx, w, r) })
	mux.HandleFunc("GET /log/{file}", u.serveLog)
	return mux
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

func (u *UI) serveFile(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(u.static, name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", contentTypes[filepath.Ext(name)])
		w.Write(b)
	}
}

// guard is the security check in front of every request (README "Web UI"):
//
//   - Host must name this server (a loopback address and its port), so a
//     DNS-rebinding page whose name now points at 127.0.0.1 is refused;
//   - Origin, when a browser sends one, must be this server, so another
//     site cannot drive the WebSocket or the downloads;
//   - the token must come with the request: in ?token= the first time,
//     then in an HttpOnly, SameSite=Strict cookie the browser keeps.
type guard struct {
	hosts  func(host string) bool
	token  string
	cookie string
}

func (g *guard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		if !g.hosts(r.Host) {
			refuse(w, "forbidden: Host "+strconv.Quote(r.Host)+" is not this sockit ui (open the URL sockit printed)", http.StatusForbidden)
			return
		}
		if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
			refuse(w, "forbidden: requests from "+strconv.Quote(o)+" are not allowed", http.StatusForbidden)
			return
		}
		// Browsers say where a request comes from; a page on another port
		// of this machine is "same-site", and not this UI either.
		switch r.Header.Get("Sec-Fetch-Site") {
		case "", "same-origin", "none":
		default:
			refuse(w, "forbidden: request from another site", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			refuse(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if q := r.URL.Query().Get("token"); q != "" {
			if !g.match(q) {
				refuse(w, "unauthorized: wrong token (use the URL sockit ui printed)", http.StatusUnauthorized)
				return
			}
			admitted(r)
			http.SetCookie(w, &http.Cookie{Name: g.cookie, Value: g.token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			if r.URL.Path == "/" {
				// Keep the token out of the address bar and the history.
				http.Redirect(w, r, "/", http.StatusSeeOther)
				return
			}
		} else if c, err := r.Cookie(g.cookie); err != nil || !g.match(c.Value) {
			refuse(w, "unauthorized: this page needs the token (open the URL sockit ui printed)", http.StatusUnauthorized)
			return
		}
		admitted(r)
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "+
			"connect-src 'self' ws://"+r.Host+"; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// refuse answers a request the guard turns away, and closes its
// connection after the answer: one without the token is not kept alive.
func refuse(w http.ResponseWriter, msg string, code int) {
	w.Header().Set("Connection", "close")
	http.Error(w, msg, code)
}

func (g *guard) match(s string) bool {
	return subtle.ConstantTimeCompare([]byte(s), []byte(g.token)) == 1
}

// cookieName includes the port: cookies do not tell ports apart, and two
// sockit ui servers on one machine must not overwrite each other's.
func cookieName(a net.Addr) string {
	if _, port, err := net.SplitHostPort(a.String()); err == nil {
		return "sockit_" + port
	}
	return "sockit"
}

// allowedHosts says which Host headers name a server listening on a. On
// loopback: that address or localhost, with its port. On another address
// (an explicit --addr): IP literals, localhost and this machine's name,
// with its port; names that could be rebound are refused.
func allowedHosts(a net.Addr) func(string) bool {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return func(string) bool { return false }
	}
	port := strconv.Itoa(int(ap.Port()))
	hostname, _ := os.Hostname()
	return func(h string) bool {
		host, p, err := net.SplitHostPort(h)
		if err != nil || p != port {
			return false
		}
		if strings.EqualFold(host, "localhost") {
			return true
		}
		ip, err := netip.ParseAddr(host)
		if ap.Addr().IsLoopback() {
			return err == nil && ip.Unmap() == ap.Addr().Unmap()
		}
		if err == nil {
			return ap.Addr().IsUnspecified() || ip.Unmap() == ap.Addr().Unmap()
		}
		return hostname != "" && strings.EqualFold(host, hostname)
	}
}

// IsLoopback reports whether addr (HOST:PORT) listens on loopback only.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

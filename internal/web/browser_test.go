package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/sockit/sockit/internal/sockittest"
)

// The browser tests drive the page in a real headless Chromium. One browser
// serves the whole package (starting it is the slow part); each test gets
// its own tab and its own UI server. Without Chromium they skip, unless
// SOCKIT_REQUIRE_PEERS=1 (as in CI), where a missing browser fails
// (sockittest.Missing).

var browser struct {
	mu     sync.Mutex
	ctx    context.Context
	cancel func()
	dir    string
	err    error
}

func chromium(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	sockittest.Missing(t, "chromium is not installed (scripts/install-peers.sh installs it)")
	return ""
}

func startBrowser(t testing.TB) context.Context {
	t.Helper()
	path := chromium(t)
	browser.mu.Lock()
	defer browser.mu.Unlock()
	if browser.ctx == nil && browser.err == nil {
		dir, err := os.MkdirTemp("", "sockit-chromium-")
		if err != nil {
			t.Fatal(err)
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.UserDataDir(dir), // a new, empty profile
			chromedp.WindowSize(1280, 800),
		)
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		browser.dir = dir
		browser.cancel = func() { bcancel(); acancel() }
		if err := chromedp.Run(bctx); err != nil {
			browser.err = fmt.Errorf("starting %s: %v", path, err)
		} else {
			browser.ctx = bctx
		}
	}
	if browser.err != nil {
		t.Fatal(browser.err)
	}
	return browser.ctx
}

func stopBrowser() {
	browser.mu.Lock()
	defer browser.mu.Unlock()
	if browser.cancel != nil {
		browser.cancel()
		browser.cancel = nil
	}
	if browser.dir != "" {
		os.RemoveAll(browser.dir)
	}
}

// page is one browser tab.
type page struct {
	t   testing.TB
	ctx context.Context

	mu     sync.Mutex
	errors []string // uncaught exceptions and console errors in the page
}

func newPage(t testing.TB, width, height int64) *page {
	t.Helper()
	bctx := startBrowser(t)
	tab, closeTab := chromedp.NewContext(bctx)
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	t.Cleanup(func() { cancel(); closeTab() })
	p := &page{t: t, ctx: ctx}
	chromedp.ListenTarget(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg = ev.ExceptionDetails.Text
			if ex := ev.ExceptionDetails.Exception; ex != nil {
				msg += " " + ex.Description
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type != runtime.APITypeError {
				return
			}
			for _, a := range ev.Args {
				msg += " " + string(a.Value) + a.Description
			}
		default:
			return
		}
		p.mu.Lock()
		p.errors = append(p.errors, msg)
		p.mu.Unlock()
	})
	// A script error in the page fails the test that caused it.
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, e := range p.errors {
			t.Errorf("error in the page: %s", e)
		}
	})
	// The first Run opens the tab and ties it to the context it is given:
	// that must be the tab's own, not one of run's short-lived ones.
	if err := chromedp.Run(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return p
}

// run runs actions, failing the test if they take more than 20 seconds
// (a click on an element that never shows waits forever otherwise).
// lineServerClient opens a TCP server session with line framing on a
// port of its own and connects a client to it, closed when the test ends.
func (p *page) lineServerClient() net.Conn {
	p.t.Helper()
	p.open(kindServer, map[string]string{"local": "127.0.0.1:0", "frame": "line"})
	p.wait(has(active(".status"), "listening on"))
	addr := listeningRE.FindStringSubmatch(p.text(active(".status")))[1]
	c, err := net.Dial("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { c.Close() })
	return c
}

func (p *page) run(actions ...chromedp.Action) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		p.t.Fatalf("browser: %v%s", err, p.debug())
	}
}

// debug is what the page shows, for failure messages.
func (p *page) debug() string {
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	var s string
	chromedp.Run(ctx, chromedp.Evaluate(`(() => {
		const p = document.querySelector('.panel.active');
		const t = (sel) => ((p && p.querySelector(sel)) || {}).textContent || '';
		return 'status: ' + t('.status') + '\nerror: ' + t('.send-error') + ' ' + ((document.querySelector('#new-error')||{}).textContent||'') +
			'\nstate: ' + JSON.stringify(Array.from(window.sockit.sessions.values()).map(s => ({sid: s.sid, items: s.items.length, rows: s.rows.length, drawn: s.drawn.size, follow: s.follow, paused: s.paused, active: window.sockit.active, frame: window.sockit.frame, info: s.el.querySelector('.loginfo').textContent}))) +
			'\nlink: ' + document.querySelector('#link').textContent + '\nlog:\n' + t('.log').slice(-2000);
	})()`, &s))
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.errors) > 0 {
		s += "\nerrors in the page:\n" + strings.Join(p.errors, "\n")
	}
	return "\npage " + s
}

// js quotes s for a JavaScript expression.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// has is a JavaScript test: the element sel contains text.
func has(sel, text string) string {
	return fmt.Sprintf(`((document.querySelector(%s) || {}).textContent || '').includes(%s)`, js(sel), js(text))
}

// wait polls the JavaScript expression until it is true.
func (p *page) wait(expr string) {
	p.t.Helper()
	start := time.Now()
	defer func() {
		if d := time.Since(start); d > 500*time.Millisecond {
			p.t.Logf("waited %v for %.80s", d.Round(time.Millisecond), expr)
		}
	}()
	err := chromedp.Run(p.ctx, chromedp.Poll(expr, nil, chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(20*time.Millisecond)))
	if err != nil {
		if errors.Is(err, chromedp.ErrPollingTimeout) {
			p.t.Fatalf("page never satisfied %s%s", expr, p.debug())
		}
		p.t.Fatalf("waiting for %s: %v%s", expr, err, p.debug())
	}
}

func (p *page) eval(expr string, res any) {
	p.t.Helper()
	p.run(chromedp.Evaluate(expr, res, func(ep *runtime.EvaluateParams) *runtime.EvaluateParams { return ep.WithAwaitPromise(true) }))
}

func (p *page) text(sel string) string {
	p.t.Helper()
	var s string
	p.eval(fmt.Sprintf(`(document.querySelector(%s) || {}).textContent || ''`, js(sel)), &s)
	return s
}

func (p *page) click(sel string) {
	p.t.Helper()
	p.run(chromedp.Click(sel, chromedp.ByQuery, chromedp.NodeVisible))
}

// set sets the value of a form field and tells the page, as typing would.
func (p *page) set(sel, value string) {
	p.t.Helper()
	var ok bool
	p.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) return false;
		e.value = %s; e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change')); return true })()`, js(sel), js(value)), &ok)
	if !ok {
		p.t.Fatalf("no %s to set%s", sel, p.debug())
	}
}

func (p *page) check(sel string, on bool) {
	p.t.Helper()
	p.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%s); e.checked = %v; e.dispatchEvent(new Event('change')); return true })()`, js(sel), on), nil)
}

// open fills the new-session form and opens the session, and waits for
// its tab to show.
func (p *page) open(k kind, fields map[string]string) {
	p.t.Helper()
	p.wait(`window.sockit && window.sockit.connected`)
	if p.visible("#new-form") == false {
		p.click("#new-session")
	}
	p.click("#kind-" + string(k))
	for _, id := range []string{"new-remote", "new-local", "new-name", "new-frame-arg"} {
		p.set("#"+id, fields[strings.TrimPrefix(id, "new-")])
	}
	enc := fields["encoding"]
	if enc == "" {
		enc = "utf-8"
	}
	p.set("#new-encoding", enc)
	if v := fields["verify"]; v != "" {
		p.set("#new-verify", v)
	}
	if k != kindUDP {
		frame := fields["frame"]
		if frame == "" {
			frame = "raw"
		}
		p.set("#new-frame", frame)
	}
	var before int
	p.eval(`window.sockit.sessions.size`, &before)
	p.click("#new-open")
	p.wait(fmt.Sprintf(`window.sockit.sessions.size > %d && document.querySelector('#new-form').hidden && !!document.querySelector('.panel.active')`, before))
}

func (p *page) visible(sel string) bool {
	var v bool
	p.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && !e.hidden && e.offsetParent !== null })()`, js(sel)), &v)
	return v
}

// active is a selector inside the active session's panel.
func active(sel string) string { return ".panel.active " + sel }

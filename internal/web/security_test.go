package web

import (
	"context"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/net/html"
)

// get sends a GET with the given headers and returns the status and body.
func get(t *testing.T, c *http.Client, u string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestSecurity checks, over plain HTTP, what a browser cannot be trusted
// to enforce: the token, Host (DNS rebinding) and Origin (cross-site
// requests and WebSockets).
func TestSecurity(t *testing.T) {
	u := startUI(t)
	base := "http://" + u.addr
	c := httpClient(t)
	wrong := base + "/?token=" + url.QueryEscape(strings.Repeat("0", len(u.Token())))

	refused := []struct {
		name string
		url  string
		hdr  map[string]string
		want int
	}{
		{"no token", base + "/", nil, 401},
		{"no token, script", base + "/app.js", nil, 401},
		{"no token, log download", base + "/log/1.jsonl", nil, 401},
		{"no token, websocket", base + "/ws", nil, 401},
		{"wrong token", wrong, nil, 401},
		{"wrong cookie", base + "/", map[string]string{"Cookie": cookieName(addrOf(t, u.addr)) + "=nope"}, 401},
		{"foreign Host (DNS rebinding)", u.url, map[string]string{"Host": "evil.example:" + portOf(u.addr)}, 403},
		{"foreign Host, right port as name", u.url, map[string]string{"Host": "attacker.test:" + portOf(u.addr)}, 403},
		{"Host with another port", u.url, map[string]string{"Host": "127.0.0.1:1"}, 403},
		{"foreign Origin", u.url, map[string]string{"Origin": "http://evil.example"}, 403},
		{"foreign Origin, same host other port", u.url, map[string]string{"Origin": "http://127.0.0.1:1"}, 403},
		{"cross-site fetch", u.url, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site: another port of this machine", u.url, map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
	}
	for _, tt := range refused {
		code, _, body := get(t, c, tt.url, tt.hdr)
		if code != tt.want {
			t.Errorf("%s: status %d, want %d (%s)", tt.name, code, tt.want, strings.TrimSpace(body))
		}
	}

	// The right token: a cookie (HttpOnly, SameSite=Strict) and a
	// redirect that drops the token from the address.
	code, hdr, _ := get(t, c, u.url, nil)
	if code != http.StatusSeeOther || hdr.Get("Location") != "/" {
		t.Fatalf("with the token: %d to %q, want 303 to /", code, hdr.Get("Location"))
	}
	sc := hdr.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %s", sc, want)
		}
	}
	code, hdr, body := get(t, c, base+"/", nil)
	if code != 200 || !strings.Contains(body, `<script src="/app.js"`) {
		t.Fatalf("with the cookie: %d\n%s", code, body)
	}
	csp := hdr.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP allows unsafe sources: %q", csp)
	}
	// With the cookie, a foreign Origin is still refused.
	if code, _, _ := get(t, c, base+"/app.js", map[string]string{"Origin": "http://evil.example"}); code != 403 {
		t.Errorf("cookie and foreign Origin: %d, want 403", code)
	}
	if code, _, _ := get(t, c, base+"/nothing", nil); code != 404 {
		t.Errorf("unknown path: %d, want 404", code)
	}
	req, _ := http.NewRequest("POST", base+"/", strings.NewReader("x"))
	if resp, err := c.Do(req); err != nil || resp.StatusCode != 405 {
		t.Errorf("POST: %v %v, want 405", resp.Status, err)
	} else {
		resp.Body.Close()
	}
}

// TestSecurityWebSocket: the WebSocket needs the token and a matching
// Origin, and works with both.
func TestSecurityWebSocket(t *testing.T) {
	u := startUI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws := "ws://" + u.addr + "/ws"
	cookie := cookieName(addrOf(t, u.addr)) + "=" + u.Token()

	dial := func(hdr http.Header) (*websocket.Conn, int) {
		c, resp, err := websocket.Dial(ctx, ws, &websocket.DialOptions{HTTPHeader: hdr, HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}})
		if err == nil {
			return c, 101
		}
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		return nil, resp.StatusCode
	}
	if _, code := dial(nil); code != 401 {
		t.Errorf("websocket without the token: %d, want 401", code)
	}
	if _, code := dial(http.Header{"Cookie": {cookieName(addrOf(t, u.addr)) + "=wrong"}}); code != 401 {
		t.Errorf("websocket with a wrong token: %d, want 401", code)
	}
	if _, code := dial(http.Header{"Cookie": {cookie}, "Origin": {"http://evil.example"}}); code != 403 {
		t.Errorf("websocket from a foreign Origin: %d, want 403", code)
	}
	c, code := dial(http.Header{"Cookie": {cookie}, "Origin": {"http://" + u.addr}})
	if code != 101 {
		t.Fatalf("websocket with the token: %d", code)
	}
	defer c.CloseNow()
	_, msg, err := c.Read(ctx)
	if err != nil || !strings.Contains(string(msg), `"type":"hello"`) {
		t.Fatalf("first message %s, %v", msg, err)
	}
}

// TestPageHasNoInlineScript: the page keeps to its CSP, so a mistake that
// would need 'unsafe-inline' shows up here rather than as a blank page.
func TestPageHasNoInlineScript(t *testing.T) {
	f, err := assets.Open("assets/index.html")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := html.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	scripts := 0
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") {
					t.Errorf("<%s %s=…>: inline event handler", n.Data, a.Key)
				}
				if a.Key == "style" {
					t.Errorf("<%s style=…>: inline style", n.Data)
				}
				if (a.Key == "href" || a.Key == "src") && strings.HasPrefix(strings.ToLower(a.Val), "javascript:") {
					t.Errorf("<%s %s=javascript:…>", n.Data, a.Key)
				}
			}
			if n.Data == "script" {
				scripts++
				src := ""
				for _, a := range n.Attr {
					if a.Key == "src" {
						src = a.Val
					}
				}
				if (src != "/app.js" && src != "/i18n.js") || n.FirstChild != nil {
					t.Errorf("script element with src %q and content: only <script src=\"/i18n.js\"> and <script src=\"/app.js\"> are allowed", src)
				}
			}
			if n.Data == "style" {
				t.Error("inline <style> element")
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if scripts != 2 {
		t.Errorf("%d script elements, want 2", scripts)
	}
	for _, name := range []string{"app.js", "i18n.js"} {
		js, _ := assets.ReadFile("assets/" + name)
		for _, bad := range []string{"eval(", "new Function", "innerHTML", "insertAdjacentHTML", "document.write"} {
			if strings.Contains(string(js), bad) {
				t.Errorf("%s uses %s", name, bad)
			}
		}
	}
}

// TestNoExec: nothing in this package can run a program, so --exec cannot
// be reached from the page, and an open command that asks for it is
// refused before anything happens.
func TestNoExec(t *testing.T) {
	entries, _ := os.ReadDir(".")
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		b, _ := os.ReadFile(e.Name())
		if strings.Contains(string(b), `"os/exec"`) || strings.Contains(string(b), `"syscall"`) {
			t.Errorf("%s imports os/exec or syscall", e.Name())
		}
	}
	for _, cmd := range []string{
		`{"op":"open","kind":"tcp-server","local":"127.0.0.1:0","exec":"/bin/sh"}`,
		`{"op":"open","kind":"exec","local":"127.0.0.1:0"}`,
	} {
		if _, err := parseCommand([]byte(cmd)); err == nil {
			t.Errorf("%s was accepted", cmd)
		}
	}
}

func TestAllowedHosts(t *testing.T) {
	hostname, _ := os.Hostname()
	tests := []struct {
		listen, host string
		ok           bool
	}{
		{"127.0.0.1:8080", "127.0.0.1:8080", true},
		{"127.0.0.1:8080", "localhost:8080", true},
		{"127.0.0.1:8080", "LOCALHOST:8080", true},
		{"127.0.0.1:8080", "127.0.0.1:8081", false},
		{"127.0.0.1:8080", "127.0.0.2:8080", false},
		{"127.0.0.1:8080", "evil.example:8080", false},
		{"127.0.0.1:8080", "127.0.0.1", false},
		{"127.0.0.1:8080", "", false},
		{"[::1]:8080", "[::1]:8080", true},
		{"[::1]:8080", "127.0.0.1:8080", false},
		{"0.0.0.0:8080", "192.0.2.7:8080", true},
		{"0.0.0.0:8080", "evil.example:8080", false},
		{"0.0.0.0:8080", hostname + ":8080", hostname != ""},
		{"192.0.2.7:8080", "192.0.2.7:8080", true},
		{"192.0.2.7:8080", "192.0.2.8:8080", false},
	}
	for _, tt := range tests {
		if got := allowedHosts(addrOf(t, tt.listen))(tt.host); got != tt.ok {
			t.Errorf("listening on %s, Host %q allowed = %v, want %v", tt.listen, tt.host, got, tt.ok)
		}
	}
	for addr, want := range map[string]bool{"127.0.0.1:0": true, "[::1]:80": true, "localhost:1": true, "0.0.0.0:0": false, ":8080": false, "192.0.2.1:80": false, "bad": false} {
		if IsLoopback(addr) != want {
			t.Errorf("IsLoopback(%q) = %v", addr, !want)
		}
	}
}

func addrOf(t testing.TB, s string) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func portOf(s string) string {
	_, p, _ := net.SplitHostPort(s)
	return p
}

// TestEngineImports keeps the layering of DESIGN.md: the engine packages
// the UI drives never import the UI, the CLI or cobra, so the two front
// ends stay two front ends over one engine.
func TestEngineImports(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "*"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, dir := range dirs {
		switch filepath.Base(dir) {
		case "cli", "web":
			continue
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			checked++
			for _, imp := range af.Imports {
				p := strings.Trim(imp.Path.Value, `"`)
				if strings.HasSuffix(p, "/internal/web") || strings.HasSuffix(p, "/internal/cli") || strings.Contains(p, "spf13/cobra") {
					t.Errorf("%s imports %s", f, p)
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("checked only %d files: wrong directory?", checked)
	}
}

package reliability

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockit/sockit/internal/sockittest"
)

var uiURL = regexp.MustCompile(`http://127\.0\.0\.1:\d+/\?token=[0-9a-f]+`)

// TestUIRefusesStrangers cross-checks the web UI's defences through the
// binary as users start it: no page or WebSocket without the token (or the
// cookie it buys), and none for a foreign Origin or Host even with it, so
// that another web site in the same browser cannot drive sockit.
func TestUIRefusesStrangers(t *testing.T) {
	t.Parallel()
	p := sockittest.Start(t, "ui")
	var link string
	sockittest.Eventually(t, "sockit ui prints its URL", func() bool {
		link = uiURL.FindString(p.Stdout() + p.Stderr())
		return link != ""
	})
	if link == "" {
		t.Fatalf("sockit ui printed no URL with a token:\n%s\n%s", p.Stdout(), p.Stderr())
	}
	u, _ := url.Parse(link)
	base := "http://" + u.Host
	token := u.Query().Get("token")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	get := func(path string, hdr map[string]string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		for k, v := range hdr {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	// The token buys a cookie.
	resp := get("/?token="+token, nil)
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Value == token {
			cookie = c.Name + "=" + c.Value
		}
	}
	if cookie == "" {
		t.Fatalf("the token URL set no cookie (status %d)", resp.StatusCode)
	}
	ok := get("/", map[string]string{"Cookie": cookie})
	if ok.StatusCode != 200 || !strings.Contains(ok.Header.Get("Content-Security-Policy"), "default-src") {
		t.Fatalf("with the cookie: status %d, CSP %q; want 200 and a policy", ok.StatusCode, ok.Header.Get("Content-Security-Policy"))
	}

	for _, tc := range []struct {
		name, path string
		hdr        map[string]string
	}{
		{"no token", "/", nil},
		{"wrong token", "/?token=" + strings.Repeat("0", len(token)), nil},
		{"asset without cookie", "/app.js", nil},
		{"wrong cookie", "/", map[string]string{"Cookie": strings.Split(cookie, "=")[0] + "=x"}},
		{"foreign Origin with cookie", "/", map[string]string{"Cookie": cookie, "Origin": "http://evil.example"}},
		{"foreign Host with cookie (DNS rebinding)", "/", map[string]string{"Cookie": cookie, "Host": "evil.example:" + u.Port()}},
		{"token and foreign Host", "/?token=" + token, map[string]string{"Host": "rebind.test:" + u.Port()}},
	} {
		if r := get(tc.path, tc.hdr); r.StatusCode != 401 && r.StatusCode != 403 {
			t.Errorf("%s: status %d, want 401 or 403", tc.name, r.StatusCode)
		}
	}

	ws := func(hdr http.Header) (int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, "ws://"+u.Host+"/ws", &websocket.DialOptions{HTTPHeader: hdr})
		if c != nil {
			c.Close(websocket.StatusNormalClosure, "")
		}
		if resp != nil {
			return resp.StatusCode, err
		}
		return 0, err
	}
	if code, _ := ws(http.Header{"Origin": {base}}); code == 101 {
		t.Error("WebSocket without the cookie was accepted")
	}
	if code, _ := ws(http.Header{"Cookie": {cookie}, "Origin": {"http://evil.example"}}); code == 101 {
		t.Error("WebSocket from a foreign Origin was accepted")
	}
	if code, err := ws(http.Header{"Cookie": {cookie}, "Origin": {base}}); code != 101 {
		t.Errorf("WebSocket with the cookie from the UI's own origin: %d, %v (control)", code, err)
	}
}

package reliability

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockit/sockit/internal/sockittest"
)

// TestUIFloodOfIdleConnections (issue 9): 'sockit ui' limited to 128 open
// files gets 400 connections that never send a request. Before the UI
// bounded connections without the token, they took every descriptor and
// the real user waited in the accept queue behind them; now the user (with
// the token) loads the page and opens a WebSocket at once, every idle
// connection is closed by the header timeout, and net/http's "Accept
// error" lines stay off the terminal.
func TestUIFloodOfIdleConnections(t *testing.T) {
	t.Parallel()
	prlimit := sockittest.Need(t, "prlimit")
	const limit, flood = 128, 400
	cmd := exec.Command(prlimit, fmt.Sprintf("--nofile=%d:%d", limit, limit), "--", sockittest.Binary(t), "ui")
	cmd.Env = append(os.Environ(), "SOCKIT_CONFIG_DIR="+t.TempDir())
	p := sockittest.StartCmd(t, cmd)
	var link string
	sockittest.Eventually(t, "sockit ui prints its URL", func() bool {
		link = uiURL.FindString(p.Stdout())
		return link != ""
	})
	if link == "" {
		t.Fatalf("sockit ui printed no URL:\n%s\n%s", p.Stdout(), p.Stderr())
	}
	u, _ := url.Parse(link)

	idle := make([]net.Conn, 0, flood)
	for i := 0; i < flood; i++ {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatalf("idle connection %d: %v", i, err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	floodAt := time.Now()

	// The real user, while the flood is on.
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequestWithContext(ctx, "GET", link, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("the user could not load the page within 10s of the flood: %v\nstderr:\n%s", err, p.Stderr())
	}
	resp.Body.Close()
	var cookie string
	for _, c := range resp.Cookies() {
		cookie = c.Name + "=" + c.Value
	}
	req, _ = http.NewRequestWithContext(ctx, "GET", "http://"+u.Host+"/app.js", nil)
	req.Header.Set("Cookie", cookie)
	if resp, err = client.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("app.js with the cookie: %v, %v", resp, err)
	}
	resp.Body.Close()
	ws, _, err := websocket.Dial(ctx, "ws://"+u.Host+"/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Cookie": {cookie}, "Origin": {"http://" + u.Host}}})
	if err != nil {
		t.Fatalf("the user's WebSocket: %v", err)
	}
	defer ws.CloseNow()
	if _, b, err := ws.Read(ctx); err != nil || !strings.Contains(string(b), `"hello"`) {
		t.Fatalf("WebSocket hello: %s, %v", b, err)
	}
	t.Logf("with %d idle connections at a %d-file limit, the user loaded the page and opened the WebSocket in %s", flood, limit, time.Since(start).Round(time.Millisecond))

	// Every idle connection is closed: the oldest to make room, the rest
	// by the header timeout.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open int
	var last time.Duration
	for _, c := range idle {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(floodAt.Add(30 * time.Second))
			_, err := c.Read(make([]byte, 1))
			mu.Lock()
			defer mu.Unlock()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				open++
			} else if d := time.Since(floodAt); d > last {
				last = d
			}
		}()
	}
	wg.Wait()
	if open > 0 {
		t.Errorf("%d of %d idle connections still open 30s after they connected", open, flood)
	}
	t.Logf("the last idle connection was closed %s after the flood", last.Round(time.Millisecond))

	// The WebSocket is still there.
	rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer rcancel()
	if _, _, err := ws.Read(rctx); err != nil {
		t.Errorf("the user's WebSocket after the flood: %v", err)
	}
	if strings.Contains(p.Stderr(), "http: ") {
		t.Errorf("net/http's log reached stderr:\n%s", p.Stderr())
	}
}

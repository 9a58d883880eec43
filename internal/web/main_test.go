package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	stopBrowser()
	if code == 0 {
		// Every session, server and WebSocket goroutine must be gone once
		// the UIs the tests started have shut down.
		if err := goleak.Find(goleak.IgnoreCurrent()); err != nil {
			fmt.Fprintf(os.Stderr, "goroutine leak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// testUI is a UI serving on 127.0.0.1:0 for one test, with its own config
// directory, shut down (and waited for) when the test ends.
type testUI struct {
	*UI
	addr string // host:port
	url  string // with the token
	dir  string // config directory
	log  *logLines
	stop func() // shuts it down and waits (a test's end does too)
}

// logLines keeps what the UI logged (on sockit's stderr in the binary).
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func startUI(t testing.TB) *testUI {
	t.Helper()
	return startUIWith(t, defaultLimits)
}

// startUIWith is startUI with other HTTP limits (shorter timeouts).
func startUIWith(t testing.TB, limits httpLimits) *testUI {
	t.Helper()
	return startUIAt(t, t.TempDir(), "127.0.0.1:0", limits)
}

// startUIAt is startUI with a given config directory and address (a
// restart: the same directory and address as a UI stopped before).
func startUIAt(t testing.TB, dir, addr string, limits httpLimits, opts ...func(*Options)) *testUI {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	log := &logLines{}
	o := Options{ConfigDir: dir, Logf: func(format string, args ...any) {
		t.Logf(format, args...)
		log.mu.Lock()
		log.lines = append(log.lines, fmt.Sprintf(format, args...))
		log.mu.Unlock()
	}}
	for _, f := range opts {
		f(&o)
	}
	u := New(o)
	u.limits = limits
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Serve(ctx, ln) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Serve did not return within 10s of its context ending")
			}
		})
	}
	t.Cleanup(stop)
	return &testUI{UI: u, addr: ln.Addr().String(), url: u.URL(ln.Addr()), dir: dir, log: log, stop: stop}
}

// httpClient has a cookie jar and does not follow redirects, so tests see
// each answer as it is.
func httpClient(t testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{DisableKeepAlives: true},
	}
}

func loadSavedFile(dir string) ([]savedMsg, error) {
	b, err := os.ReadFile(filepath.Join(dir, "saved.json"))
	if err != nil {
		return nil, err
	}
	var f savedFile
	err = json.Unmarshal(b, &f)
	return f.Messages, err
}

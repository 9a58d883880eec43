package web

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// idleConns opens n TCP connections to addr that send nothing, and closes
// them when the test ends.
func idleConns(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	cs := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		cs = append(cs, c)
	}
	t.Cleanup(func() {
		for _, c := range cs {
			c.Close()
		}
	})
	return cs
}

// closedWithin waits for every connection to be closed by the server (a
// read returns EOF or a reset), and returns how long the last one took.
func closedWithin(t *testing.T, cs []net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(cs))
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(start.Add(limit))
			_, err := c.Read(make([]byte, 1))
			if errors.Is(err, os.ErrDeadlineExceeded) {
				errs <- fmt.Errorf("%s still open after %s", c.LocalAddr(), limit)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
		break
	}
	return time.Since(start)
}

// TestUIPendingConnectionsBounded (issue 9): a flood of idle connections
// without the token holds at most limits.pending of the UI's file
// descriptors, and the real user still loads the page and opens a
// WebSocket while it lasts.
func TestUIPendingConnectionsBounded(t *testing.T) {
	u := startUI(t)
	idle := idleConns(t, u.addr, 200)
	sockittest.Eventually(t, "idle connections closed to make room", func() bool { _, ev := u.pending.counts(); return ev >= 200-defaultLimits.pending })
	if p, ev := u.pending.counts(); p > defaultLimits.pending {
		t.Fatalf("%d connections pending (%d closed to make room), want at most %d", p, ev, defaultLimits.pending)
	}
	// The oldest were closed to make room: they read EOF now, not after a
	// timeout.
	closedWithin(t, idle[:100], 10*time.Second)

	c := httpClient(t)
	resp, err := c.Get(u.url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the token URL answered %d", resp.StatusCode)
	}
	resp, err = c.Get("http://" + u.addr + "/")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("page with the cookie: %v %v", resp, err)
	}
	resp.Body.Close()
	w := dialWS(t, u)
	w.until(func(m message) bool { return m.Type == "hello" })
	w.ok(map[string]any{"op": "open", "kind": "tcp-server", "local": "127.0.0.1:0"})
	if p, _ := u.pending.counts(); p > defaultLimits.pending {
		t.Fatalf("%d connections pending, want at most %d", p, defaultLimits.pending)
	}
}

// TestUIIdleUnauthenticatedClosed: a connection that sends nothing is
// closed once the header timeout passes; one whose request lacks the
// token is closed after the answer, not kept alive.
func TestUIIdleUnauthenticatedClosed(t *testing.T) {
	lim := defaultLimits
	lim.readHeader = 500 * time.Millisecond
	u := startUIWith(t, lim)
	idle := idleConns(t, u.addr, 10)
	took := closedWithin(t, idle, 30*time.Second)
	if took < lim.readHeader {
		t.Errorf("idle connections closed after %s, before the %s header timeout", took, lim.readHeader)
	}
	t.Logf("idle connections without a request closed after %s (header timeout %s)", took.Round(time.Millisecond), lim.readHeader)

	c, err := net.Dial("tcp", u.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", u.addr)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
		t.Fatalf("without the token: %d, close %v; want 401 and the connection closed", resp.StatusCode, resp.Close)
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("after the 401 the connection read %v, want EOF", err)
	}
}

// TestUIWebSocketOutlivesTimeouts: the read, write and idle timeouts of
// the HTTP server do not touch a page's WebSocket, which lives as long
// as the page.
func TestUIWebSocketOutlivesTimeouts(t *testing.T) {
	lim := httpLimits{readHeader: 300 * time.Millisecond, read: 300 * time.Millisecond, write: 300 * time.Millisecond, idle: 300 * time.Millisecond, pending: 32}
	u := startUIWith(t, lim)
	w := dialWS(t, u)
	w.until(func(m message) bool { return m.Type == "hello" })
	sid := w.ok(map[string]any{"op": "open", "kind": "tcp-server", "local": "127.0.0.1:0"}).SID
	// An idle connection beside it is closed by the timeouts: that has
	// happened when its read ends.
	closedWithin(t, idleConns(t, u.addr, 1), 30*time.Second)
	// Well past every timeout, the WebSocket still carries both ways:
	// the server's heartbeats (one a second) and a command's reply.
	for i := 0; i < 2; i++ {
		w.until(func(m message) bool { return m.Type == "stats" && m.SID == sid })
	}
	w.ok(map[string]any{"op": "close", "sid": sid})
}

// TestUIAcceptErrorsQuiet: net/http's "http: Accept error" lines do not
// reach the user; a failing accept is one line of sockit's, at most once
// a minute.
func TestUIAcceptErrorsQuiet(t *testing.T) {
	var lines []string
	h := &httpLog{logf: func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }}
	for i := 0; i < 100; i++ {
		fmt.Fprintf(h, "http: Accept error: accept tcp 127.0.0.1:80: accept4: too many open files; retrying in %dms\n", i)
	}
	fmt.Fprintf(h, "http: superfluous response.WriteHeader call from somewhere\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "too many open files") || strings.Contains(lines[0], "http:") || strings.Contains(lines[0], "retrying in") {
		t.Fatalf("logged %q; want one line naming the cause", lines)
	}
}

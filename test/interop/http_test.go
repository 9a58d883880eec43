package interop

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// TestHTTPHalfClose pipes an HTTP request into sockit connect against
// Python's http.server: sockit sends the request, shuts down its write
// side at stdin's EOF, prints the whole response and exits 0 when the
// server closes. Also with stdin left open: the server's close alone ends
// sockit (the ncat annoyance README "Pipe mode and the end of input" rules out).
func TestHTTPHalfClose(t *testing.T) {
	t.Parallel()
	py := sockittest.Need(t, "python3")
	dir := t.TempDir()
	body := make([]byte, 3<<20+17)
	rand.Read(body)
	if err := os.WriteFile(filepath.Join(dir, "file.bin"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	port := sockittest.FreePort(t, false)
	c := cmd(t, "python3", "-m", "http.server", "--bind", "127.0.0.1", strconv.Itoa(port))
	c.Path = py
	c.Dir = dir
	start(t, c, "/dev/null", "")
	sockittest.WaitListening(t, port)
	addr := "127.0.0.1:" + strconv.Itoa(port)

	check := func(t *testing.T, out string) {
		t.Helper()
		head, got, ok := strings.Cut(out, "\r\n\r\n")
		if !ok || !strings.HasPrefix(head, "HTTP/1.0 200 OK") {
			t.Fatalf("response head: %q", head[:min(len(head), 200)])
		}
		if !strings.Contains(head, "Content-Length: "+strconv.Itoa(len(body))) {
			t.Errorf("head lacks the length: %q", head)
		}
		if !bytes.Equal([]byte(got), body) {
			t.Fatalf("body: %d bytes, want %d, equal prefix %d", len(got), len(body), commonPrefix([]byte(got), body))
		}
	}

	for _, version := range []string{"HTTP/1.0", "HTTP/1.1"} {
		t.Run(version+"/stdin-ends", func(t *testing.T) {
			req := "GET /file.bin " + version + "\r\nHost: " + addr + "\r\nConnection: close\r\n\r\n"
			t0 := time.Now()
			out, stderr, code := run(t, req, "connect", addr)
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			if stderr != "" {
				t.Errorf("pipe mode wrote to stderr: %q", stderr)
			}
			check(t, out)
			t.Logf("%s: %d bytes in %s", version, len(out), time.Since(t0).Round(time.Millisecond))
		})
	}

	t.Run("stdin-stays-open", func(t *testing.T) {
		p := sockittest.Start(t, "connect", addr)
		p.Stdin.Write([]byte("GET /file.bin HTTP/1.0\r\n\r\n"))
		// stdin is not closed: the server's close alone must end sockit.
		exitCode(t, p, 0, "sockit connect")
		check(t, p.Stdout())
		p.Stdin.Close()
	})
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// TestREADMEReplyPage runs README's "every request gets this page"
// example as printed (on a free loopback port) and fetches the page with
// curl, a real HTTP client: the reply must end the response by itself
// (Content-Length), since --reply answers and keeps the connection open;
// without it curl waits for a close that never comes.
func TestREADMEReplyPage(t *testing.T) {
	t.Parallel()
	curl := sockittest.Need(t, "curl")
	for _, name := range []string{readmeEN, readmeZH} {
		var args []string
		for _, c := range exampleCommands(t, name) {
			if len(c) > 2 && c[0] == "listen" && c[1] == "--reply" && strings.HasPrefix(c[2], "HTTP/") {
				args = c
			}
		}
		if args == nil {
			t.Fatalf("%s: no `sockit listen --reply 'HTTP/…'` example", name)
		}
		args = append(args[:len(args)-1:len(args)-1], "127.0.0.1:0") // the port: a free one
		p := sockittest.Start(t, args...)
		addr := p.Addr()
		for i := range 2 { // each request gets the page
			c := cmd(t, "curl", "-sS", "--max-time", "20", "http://"+addr+"/page"+strconv.Itoa(i))
			c.Path = curl
			out, err := c.Output()
			if err != nil || string(out) != "hello\n" {
				t.Fatalf("%s: sockit %s; curl request %d: %q, %v; want the page and a finished response", name, strings.Join(args, " "), i+1, out, err)
			}
		}
	}
}

//go:build linux

package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockit/sockit/internal/sockittest"
)

// memLimit is the address space the binary gets in these tests (prlimit
// --as): a read without a bound then ends in the Go runtime's "out of
// memory", within a second, instead of growing until the machine's OOM
// killer acts (23.8 GB in one run before the fix).
const memLimit = 1 << 30

var (
	limitedOnce sync.Once
	limitedPath string
	limitedErr  error
)

// limitedBinary builds cmd/sockit for running under memLimit: without the
// race detector (its runtime reserves more address space than that) and
// without cgo (each C thread reserves an 8 MiB stack and glibc a 64 MiB
// malloc arena, which exhaust the limit on a busy machine before sockit
// does anything).
func limitedBinary(t testing.TB) string {
	t.Helper()
	limitedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sockit-limited-")
		if err != nil {
			limitedErr = err
			return
		}
		limitedPath = filepath.Join(dir, "sockit")
		root, _ := filepath.Abs("../..")
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", limitedPath, "./cmd/sockit")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			limitedErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if limitedErr != nil {
		t.Fatal(limitedErr)
	}
	return limitedPath
}

// limited is the command line that runs sockit with args under prlimit
// --as=memLimit.
func limited(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	prlimit := sockittest.Need(t, "prlimit")
	return exec.Command(prlimit, append([]string{fmt.Sprintf("--as=%d", memLimit), "--", limitedBinary(t)}, args...)...)
}

// runLimited runs sockit under memLimit, and fails the test if it runs
// longer than 30 s: a FIFO that blocks the open would.
func runLimited(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := limited(t, args...)
	cmd := exec.CommandContext(ctx, c.Path, c.Args[1:]...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("sockit %s: still running after 30s (blocked on the file?)\nstderr:\n%s", strings.Join(args, " "), errb.String())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// badFiles makes the paths an option must refuse: a device that never
// ends, a FIFO nobody writes (open(2) blocks on it), a directory, and a
// sparse regular file of size bytes (no disk used).
func badFiles(t *testing.T, size int64) map[string]string {
	t.Helper()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return map[string]string{
		"zero": "/dev/zero",
		"fifo": fifo,
		"dir":  dir,
		"big":  big,
	}
}

// what each bad file is called in the error line.
var badSays = map[string]string{
	"zero": "is a character device, not a regular file",
	"fifo": "is a named pipe (FIFO), not a regular file",
	"dir":  "is a directory, not a regular file",
	"big":  "sockit reads from it",
}

// TestOptionFilesBounded: every option that names a file to read
// (--ca, --cert, --key, --client-cert, --client-key, --reply @FILE,
// replay's FILE) refuses /dev/zero, a FIFO, a directory and an oversize
// file with exit 2 and one line naming the option and what the file is,
// promptly and within memLimit.
func TestOptionFilesBounded(t *testing.T) {
	t.Parallel()
	_, cert, key := testCert(t)
	pem := badFiles(t, 4<<20+1)    // one byte over optfile.MaxPEM
	reply := badFiles(t, 16<<20+1) // over optfile.MaxReply
	for _, kind := range []string{"zero", "fifo", "dir", "big"} {
		for _, tc := range []struct {
			name string
			args []string
			flag string
			big  string
		}{
			{"connect-ca", []string{"connect", "--ca", pem[kind], "tls://127.0.0.1:1"}, "--ca", "more than the 4 MiB"},
			{"connect-client-cert", []string{"connect", "--client-cert", pem[kind], "--client-key", key, "tls://127.0.0.1:1"}, "--client-cert", "more than the 4 MiB"},
			{"connect-client-key", []string{"connect", "--client-cert", cert, "--client-key", pem[kind], "tls://127.0.0.1:1"}, "--client-key", "more than the 4 MiB"},
			{"listen-cert", []string{"listen", "--cert", pem[kind], "--key", key, "tls://127.0.0.1:0"}, "--cert", "more than the 4 MiB"},
			{"listen-key", []string{"listen", "--cert", cert, "--key", pem[kind], "tls://127.0.0.1:0"}, "--key", "more than the 4 MiB"},
			{"listen-ca", []string{"listen", "--cert", cert, "--key", key, "--ca", pem[kind], "tls://127.0.0.1:0"}, "--ca", "more than the 4 MiB"},
			{"relay-ca", []string{"relay", "--ca", pem[kind], "127.0.0.1:0", "tls://127.0.0.1:1"}, "--ca", "more than the 4 MiB"},
			{"listen-reply", []string{"listen", "--reply", "@" + reply[kind], "127.0.0.1:0"}, "--reply", "more than the 16 MiB"},
			{"listen-respond", []string{"listen", "--respond", "^x=>@" + reply[kind], "127.0.0.1:0"}, "--respond", "more than the 16 MiB"},
		} {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				stdout, stderr, code := runLimited(t, tc.args...)
				if code != 2 || stdout != "" {
					t.Fatalf("exit %d, stdout %q, want 2 and nothing; stderr:\n%s", code, stdout, stderr)
				}
				says := badSays[kind]
				if kind == "big" {
					says = tc.big
				}
				oneErrorLine(t, stderr, says)
				if !strings.Contains(stderr, tc.flag) {
					t.Errorf("stderr does not name %s:\n%s", tc.flag, stderr)
				}
			})
		}
	}
}

// TestReplayFileBounded: replay refuses /dev/zero, a FIFO and a
// directory, and reads a transcript a line at a time: a file may be any
// size, but one line of more than 64 MiB (here 80 MiB of zeros without a
// newline) is refused, naming the line, within memLimit.
func TestReplayFileBounded(t *testing.T) {
	t.Parallel()
	files := badFiles(t, 80<<20)
	for kind, says := range map[string]string{
		"zero": badSays["zero"],
		"fifo": badSays["fifo"],
		"dir":  badSays["dir"],
		"big":  "line 1: longer than 64 MiB",
	} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := runLimited(t, "replay", files[kind], "127.0.0.1:1", "--as", "client")
			if code != 2 || stdout != "" {
				t.Fatalf("exit %d, stdout %q, want 2 and nothing; stderr:\n%s", code, stdout, stderr)
			}
			oneErrorLine(t, stderr, says)
		})
	}
}

// TestUITLSPathsBounded: the TLS paths a page sets (a server session's
// certificate and key, a client's CA) get the same refusals through the
// UI's WebSocket, at once, from sockit ui running under memLimit; and a
// single SIGINT then still ends sockit ui.
func TestUITLSPathsBounded(t *testing.T) {
	t.Parallel()
	_, cert, key := testCert(t)
	files := badFiles(t, 4<<20+1)
	p := sockittest.StartCmd(t, limited(t, "ui"))
	var link string
	deadline := time.Now().Add(30 * time.Second)
	for link == "" && time.Now().Before(deadline) {
		link = uiURL.FindString(p.Stdout() + p.Stderr())
		time.Sleep(10 * time.Millisecond)
	}
	if link == "" {
		t.Fatalf("sockit ui printed no URL:\n%s\n%s", p.Stdout(), p.Stderr())
	}
	u, _ := url.Parse(link)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie string
	for _, c := range resp.Cookies() {
		cookie = c.Name + "=" + c.Value
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+u.Host+"/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Cookie": {cookie}, "Origin": {"http://" + u.Host}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(16 << 20)
	req := 0
	do := func(cmd map[string]any) (typ, msg string) {
		req++
		cmd["req"] = fmt.Sprint(req)
		b, _ := json.Marshal(cmd)
		if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				t.Fatalf("no reply to %v: %v", cmd, err)
			}
			var m struct{ Type, Req, Error string }
			json.Unmarshal(b, &m)
			if m.Req == fmt.Sprint(req) && (m.Type == "ok" || m.Type == "error") {
				return m.Type, m.Error
			}
		}
	}
	for _, kind := range []string{"zero", "fifo", "dir", "big"} {
		says := badSays[kind]
		if kind == "big" {
			says = "more than the 4 MiB"
		}
		for name, tlsCfg := range map[string]map[string]any{
			"server-cert": {"on": true, "cert": files[kind], "key": key},
			"server-key":  {"on": true, "cert": cert, "key": files[kind]},
			"client-ca":   {"on": true, "ca": files[kind]},
		} {
			cmd := map[string]any{"op": "open", "kind": "tcp-server", "local": "127.0.0.1:0", "tls": tlsCfg}
			if name == "client-ca" {
				cmd = map[string]any{"op": "open", "kind": "tcp-client", "remote": "127.0.0.1:1", "tls": tlsCfg}
			}
			typ, msg := do(cmd)
			if typ != "error" || !strings.Contains(msg, says) {
				t.Errorf("%s %s: reply %s %q, want an error saying %q", kind, name, typ, msg, says)
			}
		}
	}
	p.Interrupt()
	select {
	case <-p.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("one SIGINT did not end sockit ui within 30s:\n%s", p.Stderr())
	}
}

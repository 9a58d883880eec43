package servers

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// python starts a Python program that prints the port it listens on as
// its first line, and returns the process and "127.0.0.1:PORT".
func python(t *testing.T, script string, args ...string) (*sockittest.Proc, string) {
	t.Helper()
	py := sockittest.Need(t, "python3")
	p := sockittest.StartCmd(t, exec.Command(py, append([]string{"-u", "-c", script}, args...)...))
	return p, "127.0.0.1:" + p.FirstLine(t)
}

// runPython runs a Python client to completion and returns its stdout.
func runPython(t *testing.T, timeout time.Duration, script string, args ...string) string {
	t.Helper()
	py := sockittest.Need(t, "python3")
	cmd := exec.Command(py, append([]string{"-u", "-c", script}, args...)...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() {
		out, err = cmd.Output()
		close(done)
	}()
	timeout = sockittest.Patient(timeout)
	select {
	case <-done:
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("python client still running after %s; output so far %q", timeout, out)
	}
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("python client: %v\n%s\n%s", err, out, stderr)
	}
	return string(out)
}

// listen starts sockit listen with args on 127.0.0.1:0 (unless args name
// the endpoint themselves, as the last argument) and returns the process
// and its address.
func listen(t *testing.T, args ...string) (*sockittest.Proc, string) {
	t.Helper()
	full := append([]string{"listen"}, args...)
	if len(args) == 0 || strings.HasPrefix(args[len(args)-1], "-") || !looksLikeEndpoint(args[len(args)-1]) {
		full = append(full, "127.0.0.1:0")
	}
	p := sockittest.Start(t, full...)
	return p, p.Addr()
}

func looksLikeEndpoint(s string) bool {
	return strings.Contains(s, "://") || strings.HasPrefix(s, "127.0.0.1:") || strings.HasPrefix(s, "[::1]:")
}

// jsonLines parses every line of out as a JSON event and checks the fields
// the schema promises (README: JSON events and transcripts).
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var events []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		checkSchema(t, m, line)
		events = append(events, m)
	}
	return events
}

var rfc3339Nano = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$`)

func checkSchema(t *testing.T, m map[string]any, line string) {
	t.Helper()
	str := func(k string) (string, bool) { v, ok := m[k].(string); return v, ok }
	num := func(k string) (float64, bool) { v, ok := m[k].(float64); return v, ok }
	if ts, ok := str("t"); !ok || !rfc3339Nano.MatchString(ts) {
		t.Errorf("bad or missing t: %s", line)
	}
	kind, _ := str("event")
	if allowed, ok := documentedKinds(t)[kind]; ok {
		for key := range m {
			if !slices.Contains(allowed, key) {
				t.Errorf("%s event carries field %q, which docs/events.md does not list for it: %s", kind, key, line)
			}
		}
	}
	switch kind {
	case "listen":
		if _, ok := str("local"); !ok {
			t.Errorf("listen without local: %s", line)
		}
	case "connect", "close":
		if _, ok := num("conn"); !ok {
			t.Errorf("%s without conn: %s", kind, line)
		}
		if _, ok := str("peer"); !ok {
			t.Errorf("%s without peer: %s", kind, line)
		}
		if kind == "close" {
			_, in := num("bytes_in")
			_, out := num("bytes_out")
			_, reason := str("reason")
			if !in || !out || !reason {
				t.Errorf("close without bytes_in, bytes_out or reason: %s", line)
			}
		}
	case "data":
		dir, _ := str("dir")
		n, okLen := num("len")
		_, okText := str("text")
		if dir != "in" && dir != "out" || !okLen || !okText {
			t.Errorf("data without dir, len or text: %s", line)
		}
		if _, ok := num("conn"); !ok {
			t.Errorf("data without conn: %s", line)
		}
		if h, ok := str("hex"); ok && len(h) != 2*int(n) {
			t.Errorf("hex of %d digits for len %v: %s", len(h), n, line)
		}
	case "refused":
		if _, ok := str("reason"); !ok {
			t.Errorf("refused without reason: %s", line)
		}
	case "error":
		if _, ok := str("error"); !ok {
			t.Errorf("error without error: %s", line)
		}
	case "info":
		if _, ok := str("msg"); !ok {
			t.Errorf("info without msg: %s", line)
		}
	default:
		t.Errorf("unknown event %q: %s", kind, line)
	}
}

var (
	docKindsOnce sync.Once
	docKinds     map[string][]string
	docKindsErr  error
)

// documentedKinds reads the Kinds table of docs/events.md: each kind and
// the fields it can carry.
func documentedKinds(t *testing.T) map[string][]string {
	t.Helper()
	docKindsOnce.Do(func() {
		b, err := os.ReadFile("../../docs/events.md")
		if err != nil {
			docKindsErr = err
			return
		}
		code := regexp.MustCompile("`([a-z_]+)`")
		docKinds = map[string][]string{}
		in := false
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "## ") {
				in = line == "## Kinds"
				continue
			}
			cells := strings.Split(line, "|")
			if !in || !strings.HasPrefix(line, "| `") || len(cells) < 4 {
				continue
			}
			var fields []string
			for _, m := range code.FindAllStringSubmatch(cells[3], -1) {
				fields = append(fields, m[1])
			}
			docKinds[code.FindStringSubmatch(cells[1])[1]] = fields
		}
		if len(docKinds) == 0 {
			docKindsErr = errors.New("docs/events.md has no Kinds table")
		}
	})
	if docKindsErr != nil {
		t.Fatal(docKindsErr)
	}
	return docKinds
}

// dataEvents returns the data events of one direction.
func dataEvents(events []map[string]any, dir string) []map[string]any {
	var out []map[string]any
	for _, e := range events {
		if e["event"] == "data" && e["dir"] == dir {
			out = append(out, e)
		}
	}
	return out
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// port returns the port of "HOST:PORT".
func port(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }

// runSockit runs sockit to completion with no stdin.
func runSockit(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return sockittest.Run(t, nil, 20*time.Second, args...)
}

// sockittestRun runs sockit to completion with stdin.
func sockittestRun(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return sockittest.Run(t, []byte(stdin), 20*time.Second, args...)
}

// startSockit starts sockit with args (a server of some kind) and returns
// it with the address it listens on.
func startSockit(t *testing.T, args ...string) (*sockittest.Proc, string) {
	t.Helper()
	p := sockittest.Start(t, args...)
	return p, p.Addr()
}

// waitOptionEvent waits for a --json event of kind whose reason (or
// error, after the operation and address it names) is text, in words that name no flag, and whose option is opt;
// and for the log line on stderr that says the same and names the flag
// to change, flagged (such as "refused: connection limit (1) reached
// (see --max-conns)"). It returns the event.
func waitOptionEvent(t *testing.T, p *sockittest.Proc, kind, text, opt, flagged string) map[string]any {
	t.Helper()
	find := func(out string) map[string]any {
		for _, line := range strings.Split(out, "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) != nil || m["event"] != kind || m["option"] != opt {
				continue
			}
			if err, _ := m["error"].(string); m["reason"] == text || err == text || strings.HasSuffix(err, ": "+text) {
				return m
			}
		}
		return nil
	}
	out := p.WaitStdout(t, fmt.Sprintf("a %s event %q about %s", kind, text, opt), func(s string) bool { return find(s) != nil })
	e := find(out)
	if strings.Contains(text, "--") {
		t.Errorf("the event's text %q names a flag", text)
	}
	p.WaitStderr(flagged, 15*time.Second)
	return e
}

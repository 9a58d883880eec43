package cli_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/creack/pty"

	"github.com/sockit/sockit/internal/sockittest"
	"github.com/sockit/sockit/internal/tcpsock"
)

// ndjsonLines runs sockit bench with --json and returns its lines,
// decoded, checking that stdout holds nothing else.
func ndjsonLines(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	out, stderr, code := sockittest.Run(t, nil, 60*time.Second, append([]string{"bench", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("bench %v: exit %d: %s", args, code, stderr)
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("bench %v: a line of stdout is not JSON: %v\n%s", args, err, l)
		}
		lines = append(lines, m)
	}
	if len(lines) == 0 || lines[len(lines)-1]["type"] != "summary" {
		t.Fatalf("bench %v: the last line is not the summary:\n%s", args, out)
	}
	return lines
}

func num(m map[string]any, path ...string) float64 {
	var v any = m
	for _, p := range path {
		mm, _ := v.(map[string]any)
		v = mm[p]
	}
	f, _ := v.(float64)
	return f
}

// TestBenchServerCLI: listen --bench (TCP and -u) against bench in each
// mode, through the binary: the receiver's figures come back.
func TestBenchServerCLI(t *testing.T) {
	srv := sockittest.Start(t, "listen", "-k", "--bench", "127.0.0.1:0")
	tcp := srv.Addr()
	usrv := sockittest.Start(t, "listen", "-u", "--bench", "127.0.0.1:0")
	udp := "udp://" + usrv.Addr()
	for _, tc := range []struct {
		name string
		args []string
		want func(s map[string]any) error
	}{
		{"tx", []string{tcp}, func(s map[string]any) error {
			if num(s, "receiver", "bytes") != num(s, "bytes") {
				return fmt.Errorf("sent %v, the server received %v", num(s, "bytes"), num(s, "receiver", "bytes"))
			}
			return nil
		}},
		{"rx", []string{"--mode", "rx", "-c", "2", tcp}, func(s map[string]any) error {
			if num(s, "receiver", "sent_bytes") < num(s, "bytes") {
				return fmt.Errorf("the server sent %v, we received %v", num(s, "receiver", "sent_bytes"), num(s, "bytes"))
			}
			return nil
		}},
		{"bidir", []string{"--bidir", "-c", "2", tcp}, func(s map[string]any) error {
			if num(s, "received_bytes") <= 0 || num(s, "receiver", "bytes") != num(s, "bytes") {
				return fmt.Errorf("bidir: %v", s)
			}
			return nil
		}},
		{"rr", []string{"--mode", "rr", "-c", "2", tcp}, func(s map[string]any) error {
			if num(s, "latency_us", "p50") <= 0 || s["server"] != "sockit-bench/1" {
				return fmt.Errorf("rr: %v", s)
			}
			return nil
		}},
		{"udp one way", []string{"--mode", "udp", "-c", "2", "-b", "2M", udp}, func(s map[string]any) error {
			if num(s, "receiver", "udp", "sent") != num(s, "ops") || num(s, "receiver", "udp", "sent") < 100 {
				return fmt.Errorf("udp: %v", s["receiver"])
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := ndjsonLines(t, append([]string{"-d", "0.5", "--interval", "0.2"}, tc.args...)...)
			s := lines[len(lines)-1]
			if s["server"] != "sockit-bench/1" {
				t.Fatalf("not served as a bench client: %v", s)
			}
			if err := tc.want(s); err != nil {
				t.Fatal(err)
			}
		})
	}
	// The human summary shows the receiver's side.
	out, stderr, code := sockittest.Run(t, nil, 30*time.Second, "bench", "--mode", "udp", "-d", "0.3", "--rate", "1000", udp)
	if code != 0 || !strings.Contains(out, "receiver     received") || !strings.Contains(out, "lost 0") {
		t.Fatalf("exit %d: %s\n%s", code, out, stderr)
	}
	// The server logs each stream.
	usrv.WaitStderr("test done", 10*time.Second)
}

// TestBenchNDJSONSchema runs every mode and checks every line printed
// against docs/bench-json.md: no field missing that the document marks
// "always", none that it does not list, every type as it says.
func TestBenchNDJSONSchema(t *testing.T) {
	schema := readSchema(t, "../../docs/bench-json.md")
	bsrv := sockittest.Start(t, "listen", "-k", "--bench", "127.0.0.1:0").Addr()
	usrv := "udp://" + sockittest.Start(t, "listen", "-u", "--bench", "127.0.0.1:0").Addr()
	echo := sockittest.Start(t, "listen", "-k", "--echo", "127.0.0.1:0").Addr()
	uecho := "udp://" + sockittest.Start(t, "listen", "-u", "--echo", "127.0.0.1:0").Addr()
	discard := sockittest.Start(t, "listen", "-k", "--discard", "127.0.0.1:0").Addr()
	runs := [][]string{
		{"-O", "0.2", "-c", "2", bsrv},
		{"--zerocopy", bsrv},
		{"--mode", "rx", bsrv},
		{"--bidir", "-c", "2", bsrv},
		{"--mode", "rr", "-c", "2", bsrv},
		{"--mode", "rr", echo},
		{"--mode", "connect", echo},
		{"--mode", "udp", "--depth", "4", uecho},
		{"--mode", "udp", "-O", "0.1", "-b", "1M", usrv},
		{discard},
	}
	var summaries []string
	for _, args := range runs {
		lines := ndjsonLines(t, append([]string{"-d", "0.4", "--interval", "0.1"}, args...)...)
		for i, l := range lines {
			kind := l["type"].(string)
			if err := schema.check(kind, l); err != nil {
				t.Errorf("bench %v, line %d (%s): %v", args, i+1, kind, err)
			}
		}
		b, _ := json.Marshal(lines[len(lines)-1])
		summaries = append(summaries, string(b))
	}
	// Merged summaries too.
	out, stderr, code := sockittest.Run(t, []byte(summaries[0]+"\n"+summaries[0]+"\n"), 30*time.Second, "bench", "merge", "--json")
	if code != 0 {
		t.Fatalf("merge: exit %d %s", code, stderr)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	if err := schema.check("summary", m); err != nil {
		t.Errorf("merged summary: %v", err)
	}
}

// schema is docs/bench-json.md's tables: object → field → (type, always).
type schema map[string]map[string]field

type field struct {
	typ    string
	always bool
}

var (
	sectionRE = regexp.MustCompile("^### `([a-z-]+)`")
	rowRE     = regexp.MustCompile("^\\| `([a-z0-9_]+)` \\| `([a-z-]+(\\[\\])?)` \\| ([^|]+) \\|")
)

func readSchema(t *testing.T, path string) schema {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := schema{}
	var cur string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := sectionRE.FindStringSubmatch(line); m != nil {
			cur = m[1]
			s[cur] = map[string]field{}
			continue
		}
		if m := rowRE.FindStringSubmatch(line); m != nil && cur != "" {
			s[cur][m[1]] = field{typ: m[2], always: strings.TrimSpace(m[4]) == "always"}
		}
	}
	for _, want := range []string{"interval", "summary", "tcp", "udp", "receiver", "report", "latency", "stream-interval", "stream-summary"} {
		if len(s[want]) == 0 {
			t.Fatalf("%s has no table for %q", path, want)
		}
	}
	return s
}

func (s schema) check(object string, v map[string]any) error {
	fields, ok := s[object]
	if !ok {
		return fmt.Errorf("no object %q in the schema", object)
	}
	for name, f := range fields {
		if _, ok := v[name]; !ok && f.always {
			return fmt.Errorf("%s: %q is missing (documented as always there)", object, name)
		}
	}
	for name, val := range v {
		f, ok := fields[name]
		if !ok {
			return fmt.Errorf("%s: %q is not documented", object, name)
		}
		if err := s.checkType(f.typ, val); err != nil {
			return fmt.Errorf("%s.%s: %v", object, name, err)
		}
	}
	return nil
}

func (s schema) checkType(typ string, val any) error {
	if elem, ok := strings.CutSuffix(typ, "[]"); ok {
		arr, ok := val.([]any)
		if !ok {
			return fmt.Errorf("want an array, got %T", val)
		}
		for _, e := range arr {
			if err := s.checkType(elem, e); err != nil {
				return err
			}
		}
		return nil
	}
	switch typ {
	case "integer":
		if f, ok := val.(float64); !ok || f != float64(int64(f)) {
			return fmt.Errorf("want an integer, got %v", val)
		}
	case "number":
		if _, ok := val.(float64); !ok {
			return fmt.Errorf("want a number, got %T", val)
		}
	case "string":
		if _, ok := val.(string); !ok {
			return fmt.Errorf("want a string, got %T", val)
		}
	case "boolean":
		if _, ok := val.(bool); !ok {
			return fmt.Errorf("want a boolean, got %T", val)
		}
	default:
		m, ok := val.(map[string]any)
		if !ok {
			return fmt.Errorf("want object %s, got %T", typ, val)
		}
		return s.check(typ, m)
	}
	return nil
}

// TestBenchMergeAgents: four agents run in parallel against one bench
// server, as an orchestrator would start them on four hosts; bench merge
// (files and stdin) adds their summaries up, percentiles from the merged
// histograms. bench/agents.sh, the script that does the same by hand, is
// run too.
func TestBenchMergeAgents(t *testing.T) {
	srv := sockittest.Start(t, "listen", "-k", "--bench", "127.0.0.1:0").Addr()
	dir := t.TempDir()
	const agents = 4
	var wg sync.WaitGroup
	for i := 0; i < agents; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := os.Create(filepath.Join(dir, fmt.Sprintf("agent-%d.ndjson", i)))
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			cmd := exec.Command(sockittest.Binary(t), "bench", "--json", "--mode", "rr", "-c", "2", "-d", "0.5", "--interval", "0.1", srv)
			var stderr strings.Builder
			cmd.Stdout, cmd.Stderr = f, &stderr
			if err := cmd.Run(); err != nil {
				t.Errorf("agent %d: %v %s", i, err, stderr.String())
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	files, _ := filepath.Glob(filepath.Join(dir, "agent-*.ndjson"))
	var ops, rate float64
	want := hdrhistogram.New(1, 100e9, 3)
	var all strings.Builder
	for _, name := range files {
		b, _ := os.ReadFile(name)
		all.Write(b)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		var s map[string]any
		json.Unmarshal([]byte(lines[len(lines)-1]), &s)
		ops += num(s, "ops")
		rate += num(s, "ops_per_second")
		h, err := hdrhistogram.Decode([]byte(s["latency_histogram"].(string)))
		if err != nil {
			t.Fatal(err)
		}
		want.Merge(h)
	}
	check := func(out string) {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("merge output: %v\n%s", err, out)
		}
		if num(m, "agents") != agents || num(m, "connections") != 2*agents || num(m, "ops") != ops || num(m, "ops_per_second") != rate {
			t.Fatalf("merged %v; want ops %v, ops/s %v", m, ops, rate)
		}
		if num(m, "latency_us", "count") != ops {
			t.Fatalf("merged histogram holds %v latencies of %v", num(m, "latency_us", "count"), ops)
		}
		if p := float64(want.ValueAtQuantile(99)) / 1e3; num(m, "latency_us", "p99") != p {
			t.Fatalf("merged p99 %v, the merged histograms say %v", num(m, "latency_us", "p99"), p)
		}
	}
	out, stderr, code := sockittest.Run(t, nil, 30*time.Second, append([]string{"bench", "merge", "--json"}, files...)...)
	if code != 0 {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	check(out)
	out, stderr, code = sockittest.Run(t, []byte(all.String()), 30*time.Second, "bench", "merge", "--json", "-")
	if code != 0 {
		t.Fatalf("merge -: exit %d: %s", code, stderr)
	}
	check(out)
	out, _, code = sockittest.Run(t, nil, 30*time.Second, append([]string{"bench", "merge"}, files...)...)
	if code != 0 || !strings.Contains(out, "4 agents") || !strings.Contains(out, "p99") {
		t.Fatalf("text merge: exit %d\n%s", code, out)
	}

	// bench/agents.sh starts the agents and merges them by itself.
	cmd := exec.Command("bash", "../../bench/agents.sh", "-n", "3", "-o", filepath.Join(dir, "script"), "--", "--mode", "udp", "-d", "0.3", "-b", "1M", "udp://"+sockittest.Start(t, "listen", "-u", "--bench", "127.0.0.1:0").Addr())
	cmd.Env = append(os.Environ(), "SOCKIT="+sockittest.Binary(t))
	b, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(b), "3 agents") || !strings.Contains(string(b), "receiver     received") {
		t.Fatalf("bench/agents.sh: %v\n%s", err, b)
	}
}

// TestBenchMergeBadInput: one line and exit 2 for input merge cannot use.
func TestBenchMergeBadInput(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"notjson": "hello\n",
		"modes":   `{"type":"summary","version":1,"mode":"tx"}` + "\n" + `{"type":"summary","version":1,"mode":"rr"}` + "\n",
		"empty":   "",
		"nohist":  `{"type":"summary","version":1,"mode":"rr","latency_us":{"p50":3}}` + "\n",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		_, stderr, code := sockittest.Run(t, nil, 10*time.Second, "bench", "merge", p)
		if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
			t.Errorf("%s: exit %d, stderr %q (want 2 and one line, maybe a hint)", name, code, stderr)
		}
	}
	_, _, code := sockittest.Run(t, nil, 10*time.Second, "bench", "merge", filepath.Join(dir, "nonexistent"))
	if code != 3 {
		t.Errorf("missing file: exit %d, want 3", code)
	}
}

// TestBenchKnobUsage: the new knobs refuse what they cannot do, with exit
// 2 and one line (and maybe a hint).
func TestBenchKnobUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--mode", "rr", "-b", "10M", "127.0.0.1:1"},
		{"bench", "--rate", "100", "127.0.0.1:1"},
		{"bench", "--mode", "udp", "--rate", "100", "-b", "1M", "udp://127.0.0.1:1"},
		{"bench", "--mode", "rr", "--bidir", "127.0.0.1:1"},
		{"bench", "-b", "fast", "127.0.0.1:1"},
		{"bench", "-b", "0", "127.0.0.1:1"},
		{"bench", "-n", "0", "127.0.0.1:1"},
		{"bench", "-O", "-1", "127.0.0.1:1"},
		{"bench", "--mss", "10", "127.0.0.1:1"},
		{"bench", "-C", "cubic", "unix:///tmp/x.sock"},
		{"bench", "--zerocopy", "--mode", "rx", "127.0.0.1:1"},
		{"bench", "--zerocopy", "tls://127.0.0.1:1"},
		{"bench", "-C", "no-such-algorithm", "127.0.0.1:1"},
		{"listen", "--bench", "unixgram:///tmp/sockit-bench-test.sock"},
	} {
		_, stderr, code := sockittest.Run(t, nil, 10*time.Second, args...)
		if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
			t.Errorf("%v: exit %d, stderr %q (want exit 2 and one line, maybe a hint)", args, code, stderr)
		}
	}
	if tcpsock.Supported {
		_, stderr, _ := sockittest.Run(t, nil, 10*time.Second, "bench", "-C", "no-such-algorithm", "127.0.0.1:1")
		if !strings.Contains(stderr, "available: ") || !strings.Contains(stderr, "reno") {
			t.Errorf("-C of an unknown algorithm should list those available: %q", stderr)
		}
	}
}

// TestBenchCongestionCLI: -C with an algorithm the kernel has: the
// client's sockets use it and a bench server sends with it (rx).
func TestBenchCongestionCLI(t *testing.T) {
	if !tcpsock.Supported {
		t.Skip("TCP_CONGESTION is Linux's here")
	}
	if err := tcpsock.CheckCongestion("reno"); err != nil {
		t.Skip(err)
	}
	srv := sockittest.Start(t, "listen", "-k", "--bench", "127.0.0.1:0").Addr()
	lines := ndjsonLines(t, "--bidir", "-C", "reno", "--mss", "1200", "-d", "0.3", "--interval", "0", srv)
	s := lines[len(lines)-1]
	streams := s["streams"].([]any)
	rep := streams[0].(map[string]any)["receiver"].(map[string]any)
	if s["congestion"] != "reno" || rep["congestion"] != "reno" {
		t.Fatalf("congestion: client %v, server %v", s["congestion"], rep["congestion"])
	}
	if mss := num(s, "tcp", "mss"); mss <= 0 || mss > 1200 {
		t.Fatalf("--mss 1200: the sender's MSS is %v", mss)
	}
}

// TestBenchMergeTerminal: bench merge with no FILE and a terminal on
// stdin says what it needs (exit 2) instead of waiting for typed NDJSON.
func TestBenchMergeTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	cmd := exec.Command(sockittest.Binary(t), "bench", "merge")
	cmd.Stdin = tty
	var stderr strings.Builder
	cmd.Stderr = &stderr
	done := make(chan error, 1)
	go func() { done <- cmd.Run() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), "FILE arguments, or on stdin") {
			t.Fatalf("exit %v, stderr %q", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("bench merge waited on the terminal")
	}
}

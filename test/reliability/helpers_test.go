package reliability

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sockit/sockit/internal/sockittest"
)

// randomData returns n bytes of seeded random data (the same n and seed
// give the same bytes, so a failure can be repeated).
func randomData(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 0x736f636b6974))
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// randomFile writes n bytes of seeded random data to a file in dir and
// returns its path and SHA-256.
func randomFile(t testing.TB, n int64, seed uint64) (path, sum string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "data-"+strconv.FormatInt(n, 10)+".bin")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	w := io.MultiWriter(f, h)
	const block = 1 << 20
	for off := int64(0); off < n; off += block {
		if _, err := w.Write(randomData(int(min(block, n-off)), seed+uint64(off))); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, hex.EncodeToString(h.Sum(nil))
}

// peer is a Python program playing a misbehaving peer. It prints its
// port (or anything the test waits for) as its first line.
type peer struct {
	*sockittest.Proc
	first string
}

// python runs script with python3 and waits for its first line of output.
func python(t *testing.T, script string, args ...string) *peer {
	t.Helper()
	py := sockittest.Need(t, "python3")
	cmd := exec.Command(py, append([]string{"-c", script}, args...)...)
	p := &peer{Proc: sockittest.StartCmd(t, cmd)}
	p.first = p.FirstLine(t)
	return p
}

// lines returns the non-empty lines of s.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// oneErrorLine checks that stderr is one "sockit: …" line, optionally
// followed by a hint, without a stack trace, and that it contains want.
func oneErrorLine(t *testing.T, stderr, want string) {
	t.Helper()
	ls := lines(stderr)
	if len(ls) == 0 || len(ls) > 2 {
		t.Errorf("stderr has %d lines, want one error line (and at most one hint):\n%s", len(ls), stderr)
		return
	}
	if !strings.HasPrefix(ls[0], "sockit: ") {
		t.Errorf("stderr %q does not start with 'sockit: '", ls[0])
	}
	if len(ls) == 2 && !isHint(ls[1]) {
		t.Errorf("second stderr line %q is not a hint", ls[1])
	}
	if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
		t.Errorf("stderr shows a panic or stack trace:\n%s", stderr)
	}
	if !strings.Contains(strings.ToLower(ls[0]), strings.ToLower(want)) {
		t.Errorf("stderr %q does not say %q", ls[0], want)
	}
}

// logLine matches the connection log a server prints on stderr
// ("08:04:45.468 * listening on …").
var logLine = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d+ `)

// withoutLog drops a server's log lines from its stderr, leaving what
// it printed on exit.
func withoutLog(stderr string) string {
	var b strings.Builder
	for _, l := range strings.Split(stderr, "\n") {
		if !logLine.MatchString(l) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func isHint(l string) bool {
	for _, p := range []string{"Note that", "Did you mean", "Run 'sockit"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// rssKiB reads a process's resident set size from /proc.
func rssKiB(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read VmRSS of %d: %v", pid, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	t.Fatalf("no VmRSS for %d", pid)
	return 0
}

// children lists the processes whose parent is pid.
func children(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …: comm may hold spaces, so cut after ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) >= 2 && f[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}

var (
	plainOnce sync.Once
	plainPath string
	plainErr  error
)

// plainBinary builds cmd/sockit without the race detector, for the load
// tests: they measure memory per connection as users will see it, and
// hold more goroutines than a race build handles quickly.
func plainBinary(t testing.TB) string {
	t.Helper()
	plainOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sockit-plain-")
		if err != nil {
			plainErr = err
			return
		}
		plainPath = filepath.Join(dir, "sockit")
		root, _ := filepath.Abs("../..")
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", plainPath, "./cmd/sockit")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			plainErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if plainErr != nil {
		t.Fatal(plainErr)
	}
	return plainPath
}

// isPrefix reports whether got is a prefix of sent, and where they differ.
func isPrefix(got, sent []byte) (bool, int) {
	n := min(len(got), len(sent))
	for i := 0; i < n; i++ {
		if got[i] != sent[i] {
			return false, i
		}
	}
	return len(got) <= len(sent), n
}

// Package sockittest is what sockit's tests share, as net/http/httptest is
// for net/http: real loopback peers (echo servers over TCP and UDP), the
// sockit binary built once per test process and run as a child, and checks
// for the external programs interop tests talk to (ncat, nc, socat,
// python3, openssl…).
//
// Everything here listens on 127.0.0.1 or ::1 only.
package sockittest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Patience is the least time a helper here waits for something that is
// bound to happen (a process to start listening, to print a line, to
// exit) before it calls the test failed. Tests wait on those events, not
// on a budget that assumes an idle machine: the timeouts they pass are
// safety nets against hangs, raised to this on a machine loaded by other
// work (2 cores, several test runs at once, -race).
const Patience = 60 * time.Second

// Race reports whether the tests run with the race detector (-race): a
// test that can only fail as a data race skips without it.
const Race = raceEnabled

// Patient returns d, or Patience if that is longer.
func Patient(d time.Duration) time.Duration { return max(d, Patience) }

// Need returns the path of an external program, or skips the test when it
// is missing, unless SOCKIT_REQUIRE_PEERS=1 (as in CI), where a missing peer
// fails the test: interop tests must never pass by not running.
func Need(t testing.TB, program string) string {
	t.Helper()
	if program == "python3" {
		// PATH's python3 may be a version manager's shim that takes
		// seconds to start on a loaded machine; the system one starts
		// at once.
		if _, err := os.Stat("/usr/bin/python3"); err == nil {
			return "/usr/bin/python3"
		}
	}
	p, err := exec.LookPath(program)
	if err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if _, err := os.Stat(filepath.Join(dir, program)); err == nil {
			return filepath.Join(dir, program)
		}
	}
	Missing(t, "%s is not installed (scripts/install-peers.sh installs it)", program)
	return ""
}

// RequireEnv is the one variable that turns a missing peer (an external
// program, the browser, root for network namespaces) from a skip into a
// failure: CI sets it to 1, so that no test passes by not running.
const RequireEnv = "SOCKIT_REQUIRE_PEERS"

// Missing is the skip policy for a test whose peer is not here: it skips
// the test, saying why, or under RequireEnv=1 fails it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	why := fmt.Sprintf(format, args...)
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s, and %s=1", why, RequireEnv)
	}
	t.Skipf("%s (%s=1 makes this a failure)", why, RequireEnv)
}

// FreePort returns a TCP (or UDP, when udp is true) port on 127.0.0.1 that
// was free a moment ago, for peers that cannot be told to use port 0.
func FreePort(t testing.TB, udp bool) int {
	t.Helper()
	if udp {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitPort waits until something accepts TCP connections on addr.
func WaitPort(t testing.TB, addr string) {
	t.Helper()
	accepted := Until(func() bool {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if !accepted {
		t.Fatalf("nothing accepted connections on %s within %s", addr, Patience)
	}
}

// WaitListening waits until a TCP socket listens on port (on any IPv4 or
// IPv6 address), for a peer that cannot report its address. It looks
// rather than connects, as WaitPort does: a probe connection would be
// the one client that nc -l or openssl s_server -naccept 1 serves.
// Linux only (it reads /proc/net/tcp and tcp6).
func WaitListening(t testing.TB, port int) {
	t.Helper()
	if !Until(func() bool { return Listening(port) }) {
		t.Fatalf("nothing listened on TCP port %d within %s", port, Patience)
	}
}

// Listening reports whether a TCP socket is in the LISTEN state on port,
// from /proc/net/tcp and /proc/net/tcp6.
func Listening(port int) bool {
	want := fmt.Sprintf(":%04X", port) // local_address is ADDR:PORT, in hex
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			// sl local_address rem_address st …; st 0A is LISTEN.
			f := strings.Fields(line)
			if len(f) > 3 && strings.HasSuffix(f[1], want) && f[3] == "0A" {
				return true
			}
		}
	}
	return false
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/sockit once per test process (with -race when the
// tests run with it) and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "sockit-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "sockit")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "./cmd/sockit")
		cmd := exec.Command(goTool(), args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func goTool() string {
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return "go"
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// Proc is a running sockit (or any) process started by a test. Addr,
// WaitStderr and Wait report a failure on that test, so call them on its
// goroutine, not a subtest's; WaitStdout takes the test to fail.
type Proc struct {
	t      testing.TB
	Cmd    *exec.Cmd
	Stdin  io.WriteCloser
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

// Start runs the sockit binary with args. Stdout and stderr are captured;
// Stdin is a pipe the test may write to and close. The process is killed
// when the test ends.
func Start(t testing.TB, args ...string) *Proc {
	t.Helper()
	return StartCmd(t, exec.Command(Binary(t), args...))
}

// StartCmd starts any command the same way as Start.
func StartCmd(t testing.TB, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := &Proc{t: t, Cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.stderr
	}
	if cmd.Stdin == nil {
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		p.Stdin = in
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s", filepath.Base(cmd.Path), p.stderr.String())
		}
	})
	return p
}

var listeningRE = regexp.MustCompile(`listening on (\S+) \(`)

// Addr waits for the "listening on ADDR" line that sockit servers print on
// stderr and returns ADDR.
func (p *Proc) Addr() string {
	p.t.Helper()
	var addr string
	found := Until(func() bool {
		if m := listeningRE.FindStringSubmatch(p.stderr.String()); m != nil {
			addr = m[1]
			return true
		}
		select {
		case <-p.done:
			p.t.Fatalf("process exited before listening: %v\nstderr:\n%s", p.err, p.stderr.String())
		default:
		}
		return false
	})
	if !found {
		p.t.Fatalf("no 'listening on' line within %s; stderr:\n%s", Patience, p.stderr.String())
	}
	return addr
}

// WaitStderr waits until stderr contains s.
func (p *Proc) WaitStderr(s string, timeout time.Duration) {
	p.t.Helper()
	timeout = Patient(timeout)
	if !until(timeout, func() bool { return strings.Contains(p.stderr.String(), s) }) {
		p.t.Fatalf("stderr did not show %q within %s; stderr:\n%s", s, timeout, p.stderr.String())
	}
}

// Wait waits for the process to exit (failing the test after timeout) and
// returns its exit code.
func (p *Proc) Wait(timeout time.Duration) int {
	p.t.Helper()
	timeout = Patient(timeout)
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.Cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("process did not exit within %s; stderr:\n%s", timeout, p.stderr.String())
	}
	if p.err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	p.t.Fatalf("wait: %v", p.err)
	return -1
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Stdout is what the process wrote to stdout so far.
func (p *Proc) Stdout() string { return p.stdout.String() }

// Stderr is what the process wrote to stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// Interrupt sends SIGINT, as Ctrl-C would.
func (p *Proc) Interrupt() { p.Cmd.Process.Signal(os.Interrupt) }

// Run runs sockit to completion with stdin and returns stdout, stderr and
// the exit code. It fails the test if it runs longer than timeout.
func Run(t testing.TB, stdin []byte, timeout time.Duration, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	// Built first: the first test of a process to run sockit builds it
	// (with -race, seconds to a minute on a loaded machine), and that is
	// not the time the command takes.
	bin := Binary(t)
	timeout = Patient(timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("sockit %s: still running after %s\nstderr:\n%s", strings.Join(args, " "), timeout, errb.String())
	}
	code = 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("sockit %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Lines scans r line by line into a channel, for tests that follow output.
func Lines(r io.Reader) <-chan string {
	ch := make(chan string, 64)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}

// Package interop runs the sockit binary against the real programs its
// users come from (ncat, OpenBSD nc, socat, Python's socket module, HTTP
// and SOCKS proxies) on loopback, and checks what arrives byte for byte,
// what is printed, and the exit codes.
//
// Peers that are missing skip their tests, except with
// SOCKIT_REQUIRE_PEERS=1 (CI), where they fail.
package interop

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

var shared string // a directory for the whole test run (the payload lives here)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sockit-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const payloadSize = 64 << 20

var (
	payloadOnce sync.Once
	payloadPath string
	payloadSum  string
)

// payload returns a file of 64 MiB of random bytes and its SHA-256.
func payload(t *testing.T) (path, sum string) {
	t.Helper()
	payloadOnce.Do(func() {
		r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
		b := make([]byte, payloadSize)
		for i := 0; i < len(b); i += 8 {
			v := r.Uint64()
			for j := 0; j < 8; j++ {
				b[i+j] = byte(v >> (8 * j))
			}
		}
		payloadPath = filepath.Join(shared, "payload.bin")
		if err := os.WriteFile(payloadPath, b, 0o644); err != nil {
			panic(err)
		}
		s := sha256.Sum256(b)
		payloadSum = hex.EncodeToString(s[:])
	})
	return payloadPath, payloadSum
}

// cmd builds a command for a peer program (found with sockittest.Need) or
// for sockit ("sockit" as the name).
func cmd(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	var path string
	if name == "sockit" {
		path = sockittest.Binary(t)
	} else {
		path = sockittest.Need(t, name)
	}
	return exec.Command(path, args...)
}

// start runs c with stdin and stdout redirected from and to files ("" keeps
// sockittest's pipe or buffer) and returns the running process.
func start(t *testing.T, c *exec.Cmd, stdin, stdout string) *sockittest.Proc {
	t.Helper()
	if stdin != "" {
		f, err := os.Open(stdin)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		c.Stdin = f
	}
	if stdout != "" {
		f, err := os.Create(stdout)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		c.Stdout = f
	}
	return sockittest.StartCmd(t, c)
}

// python starts a Python program (source in src, arguments after it) and
// returns the process; its stdout is captured by the Proc.
func python(t *testing.T, src string, args ...string) *sockittest.Proc {
	t.Helper()
	c := cmd(t, "python3", append([]string{"-c", src}, args...)...)
	return sockittest.StartCmd(t, c)
}

// pyPort starts a Python server and returns it and the port it printed.
func pyPort(t *testing.T, src string, args ...string) (*sockittest.Proc, int) {
	t.Helper()
	p := python(t, src, args...)
	port, err := strconv.Atoi(p.FirstLine(t))
	if err != nil {
		t.Fatalf("python server printed no port: %v; stderr:\n%s", err, p.Stderr())
	}
	return p, port
}

// port is the numeric port of a "host:port" address.
func port(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// sockitListen starts `sockit listen ARGS…` and returns it and its address.
func sockitListen(t *testing.T, stdin, stdout string, args ...string) (*sockittest.Proc, string) {
	t.Helper()
	p := start(t, cmd(t, "sockit", append([]string{"listen"}, args...)...), stdin, stdout)
	return p, p.Addr()
}

// run runs sockit to completion; see sockittest.Run.
func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return sockittest.Run(t, []byte(stdin), 30*time.Second, args...)
}

// noPanic checks that stderr has no sign of a Go panic or stack trace.
func noPanic(t *testing.T, stderr string) {
	t.Helper()
	for _, bad := range []string{"panic", "goroutine ", "runtime.", ".go:"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("stderr shows %q:\n%s", bad, stderr)
		}
	}
}

// exitCode waits for p and checks its exit code.
func exitCode(t *testing.T, p *sockittest.Proc, want int, what string) {
	t.Helper()
	if got := p.Wait(30 * time.Second); got != want {
		t.Errorf("%s exited %d, want %d; stderr:\n%s", what, got, want, p.Stderr())
	}
}

// dialTCP connects to addr on TCP, failing the test on error.
func dialTCP(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readUntil reads from c until the text read so far contains want.
func readUntil(t *testing.T, c net.Conn, want string) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	var got bytes.Buffer
	buf := make([]byte, 4096)
	for !strings.Contains(got.String(), want) {
		n, err := c.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			t.Fatalf("reading for %q: %v; got %q", want, err, got.String())
		}
	}
	return got.String()
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

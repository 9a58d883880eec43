package interop

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// TestProxies connects through real proxy servers: microsocks (SOCKS5,
// with and without a user and password), Dante (SOCKS5) and ncat's HTTP
// CONNECT proxy. Through each, stdin reaches an echo server, the client's
// FIN travels through so the echo server closes and sockit exits 0 by
// itself, and a megabyte comes back byte-exact.
func TestProxies(t *testing.T) {
	t.Parallel()
	_, target := sockitListen(t, "", "", "--echo", "127.0.0.1:0")
	big := make([]byte, 1<<20)
	rand.Read(big)
	bigSum := sha256.Sum256(big)
	refused := "127.0.0.1:" + strconv.Itoa(sockittest.FreePort(t, false))

	// halfClose says whether the proxy carries a FIN through on its own
	// (Dante does). microsocks and ncat's HTTP proxy close the whole
	// tunnel when the client shuts down its write side, so the echo would
	// be lost: there sockit keeps its side open (--no-shutdown) and quits
	// two seconds after stdin ends (-q 2), as one would with nc.
	through := func(t *testing.T, proxy string, halfClose bool) {
		t.Helper()
		connect := []string{"connect", "--proxy", proxy, target}
		if !halfClose {
			connect = append(connect, "--no-shutdown", "-q", "2")
		}
		out, stderr, code := run(t, "hello through "+proxy+"\n", connect...)
		if code != 0 || out != "hello through "+proxy+"\n" {
			t.Errorf("connect --proxy %s: exit %d, stdout %q; stderr:\n%s", proxy, code, out, stderr)
		}
		out, stderr, code = sockittest.Run(t, big, 60*time.Second, connect...)
		if code != 0 || sha256.Sum256([]byte(out)) != bigSum {
			t.Errorf("1 MiB through %s: exit %d, %d bytes back (want %d, same SHA-256); stderr:\n%s", proxy, code, len(out), len(big), stderr)
		}
		out, stderr, code = run(t, "", "send", "--wait", "0.3", "--proxy", proxy, target, "ping")
		if code != 0 || out != "ping" {
			t.Errorf("send --proxy %s: exit %d, stdout %q; stderr:\n%s", proxy, code, out, stderr)
		}
		// The proxy reaches the target's host, but nothing listens there.
		_, stderr, code = run(t, "x", "connect", "--proxy", proxy, refused)
		if code != 3 || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
			t.Errorf("connect --proxy %s to a closed port: exit %d, want 3; stderr:\n%s", proxy, code, stderr)
		}
		noPanic(t, stderr)
	}

	t.Run("microsocks", func(t *testing.T) {
		t.Parallel()
		port := sockittest.FreePort(t, false)
		start(t, cmd(t, "microsocks", "-i", "127.0.0.1", "-p", strconv.Itoa(port)), "/dev/null", "")
		sockittest.WaitListening(t, port)
		through(t, fmt.Sprintf("socks5://127.0.0.1:%d", port), false)
	})

	t.Run("microsocks-user-password", func(t *testing.T) {
		t.Parallel()
		port := sockittest.FreePort(t, false)
		start(t, cmd(t, "microsocks", "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-u", "alice", "-P", "s3cret"), "/dev/null", "")
		sockittest.WaitListening(t, port)
		through(t, fmt.Sprintf("socks5://alice:s3cret@127.0.0.1:%d", port), false)
		for _, bad := range []string{
			fmt.Sprintf("socks5://127.0.0.1:%d", port),             // no credentials
			fmt.Sprintf("socks5://alice:wrong@127.0.0.1:%d", port), // wrong password
		} {
			_, stderr, code := run(t, "x", "connect", "--proxy", bad, target)
			if code != 3 || !strings.Contains(stderr, "socks5 proxy 127.0.0.1:") {
				t.Errorf("--proxy %s: exit %d, want 3 naming the proxy; stderr:\n%s", bad, code, stderr)
			}
			noPanic(t, stderr)
		}
	})

	t.Run("dante", func(t *testing.T) {
		danted := sockittest.Need(t, "danted")
		dir := t.TempDir()
		port := sockittest.FreePort(t, false)
		conf := filepath.Join(dir, "danted.conf")
		os.WriteFile(conf, []byte(fmt.Sprintf(`logoutput: stderr
internal: 127.0.0.1 port = %d
external: 127.0.0.1
clientmethod: none
socksmethod: none
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
`, port)), 0o644)
		c := cmd(t, "danted", "-f", conf, "-N", "1", "-p", filepath.Join(dir, "danted.pid"))
		c.Path = danted
		p := start(t, c, "/dev/null", "")
		// Dante forks helpers that leave with their parent on SIGTERM;
		// the SIGKILL sockittest would send could orphan them.
		t.Cleanup(func() {
			p.Cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.Done():
			case <-time.After(10 * time.Second):
			}
		})
		sockittest.WaitListening(t, port)
		through(t, fmt.Sprintf("socks5://127.0.0.1:%d", port), true)
	})

	t.Run("ncat-http", func(t *testing.T) {
		t.Parallel()
		port := sockittest.FreePort(t, false)
		start(t, cmd(t, "ncat", "-l", "-k", "--proxy-type", "http", "127.0.0.1", strconv.Itoa(port)), "/dev/null", "")
		sockittest.WaitListening(t, port)
		through(t, fmt.Sprintf("http://127.0.0.1:%d", port), false)
	})

	t.Run("refused-proxy", func(t *testing.T) {
		free := sockittest.FreePort(t, false)
		// The proxy refusing is told apart from the target refusing
		// (issue 9: it used to read as "connect TARGET: connection
		// refused", sending the user to look at the wrong server).
		for _, kind := range []string{"socks5", "http"} {
			proxy := fmt.Sprintf("%s://127.0.0.1:%d", kind, free)
			_, stderr, code := run(t, "x", "connect", "--proxy", proxy, target)
			want := fmt.Sprintf("sockit: connect tcp://%s: %s proxy 127.0.0.1:%d: connection refused\n", target, kind, free)
			if code != 3 || !strings.HasPrefix(stderr, want) || !strings.Contains(stderr, "--proxy "+proxy) {
				t.Errorf("--proxy %s (nothing there): exit %d, stderr %q; want 3, %q and a hint naming --proxy", proxy, code, stderr, want)
			}
			noPanic(t, stderr)
		}
	})
}

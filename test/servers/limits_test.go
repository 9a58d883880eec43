package servers

import (
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// dialRead connects and reads until EOF, what it sent has come back, or
// sockittest.Patience has passed; it returns what arrived and
// whether the server closed the connection.
func dialRead(t *testing.T, network, addr string, send string) (string, bool) {
	t.Helper()
	c, err := net.Dial(network, addr)
	if errors.Is(err, syscall.ECONNRESET) {
		return "", true // refused: the server's reset beat connect
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if send != "" {
		c.Write([]byte(send))
	}
	c.SetReadDeadline(time.Now().Add(sockittest.Patience))
	var got []byte
	buf := make([]byte, 100)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			var ne net.Error
			timedOut := errorsAs(err, &ne) && ne.Timeout()
			return string(got), !timedOut
		}
		if send != "" && len(got) >= len(send) {
			return string(got), false
		}
	}
}

func errorsAs(err error, ne *net.Error) bool {
	e, ok := err.(net.Error)
	if ok {
		*ne = e
	}
	return ok
}

func TestMaxConnsRefusesAndLogs(t *testing.T) {
	t.Parallel()
	p, addr := listen(t, "-k", "--echo", "--max-conns", "1", "--json")
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	first.Write([]byte("1"))
	first.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := first.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, closed := dialRead(t, "tcp", addr, "2")
	// A client left waiting instead would time out in dialRead.
	if !closed || got != "" {
		t.Fatalf("second client: got %q, closed %v after %s; want closed at once", got, closed, time.Since(start))
	}
	// The event says it in words any front end can show, and carries the
	// option; the command line's log names the flag.
	waitOptionEvent(t, p, "refused", "connection limit (1) reached", "max-conns", "refused: connection limit (1) reached (see --max-conns)")
	first.Close()
	p.WaitStderr("closed: peer closed", 10*time.Second)
	if got, _ := dialRead(t, "tcp", addr, "3"); got != "3" {
		t.Fatalf("after the first left, a new client got %q", got)
	}
}

func TestDenyAndAllow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		network string
		ep      string
		flags   []string
		refused string // "" when admitted
		option  string // the list that refused
	}{
		{"deny v4", "tcp4", "127.0.0.1:0", []string{"--deny", "127.0.0.0/8"}, "denied by the deny list", "deny"},
		{"allow other v4", "tcp4", "127.0.0.1:0", []string{"--allow", "10.0.0.0/8,192.168.0.0/16"}, "not in the allow list", "allow"},
		{"allow v4", "tcp4", "127.0.0.1:0", []string{"--allow", "127.0.0.1"}, "", ""},
		{"deny v6", "tcp6", "[::1]:0", []string{"--deny", "::1/128"}, "denied by the deny list", "deny"},
		{"allow other v6", "tcp6", "[::1]:0", []string{"--allow", "2001:db8::/32"}, "not in the allow list", "allow"},
		{"allow v6", "tcp6", "[::1]:0", []string{"--allow", "::1"}, "", ""},
		{"allow from file", "tcp4", "127.0.0.1:0", []string{"--allow", "@" + writeFile(t, "acl", "# local\n127.0.0.0/8\n")}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, addr := listen(t, append(append([]string{"-k", "--echo", "--json"}, tc.flags...), tc.ep)...)
			got, closed := dialRead(t, tc.network, addr, "hi")
			if tc.refused == "" {
				if got != "hi" {
					t.Fatalf("admitted client got %q", got)
				}
				return
			}
			if got != "" || !closed {
				t.Fatalf("refused client got %q, closed %v", got, closed)
			}
			waitOptionEvent(t, p, "refused", tc.refused, tc.option, "refused: "+tc.refused+" (see --"+tc.option+")")
		})
	}
}

func TestACLUsageErrors(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"10.0.0.0/33", "localhost", "@/nonexistent/acl"} {
		_, stderr, code := runSockit(t, "listen", "--allow", v, "127.0.0.1:0")
		if code != 2 || !strings.Contains(stderr, "--allow") {
			t.Errorf("--allow %s: exit %d, %q", v, code, stderr)
		}
	}
}

func TestIdleTimeoutClosesAndLogs(t *testing.T) {
	t.Parallel()
	p, addr := listen(t, "-k", "--echo", "-i", "500ms")
	start := time.Now()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(sockittest.Patience))
	n, err := c.Read(make([]byte, 10))
	if err == nil || n != 0 || os.IsTimeout(err) {
		t.Fatalf("read %d, %v; want the server to close", n, err)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("closed after %s, want about 500ms", d)
	}
	p.WaitStderr("closed: idle timeout", 10*time.Second)
}

// UDP peers expire after -i, and the next datagram from the same address
// is a new peer.
func TestUDPPeersExpire(t *testing.T) {
	t.Parallel()
	p, addr := listen(t, "-u", "--echo", "-i", "300ms")
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 1; i <= 2; i++ {
		c.Write([]byte("x"))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 10)); err != nil {
			t.Fatal(err)
		}
		// Each datagram after an expiry starts a new peer, which expires too.
		p.WaitStderr("connected (#"+strconv.Itoa(i), 10*time.Second)
		sockittest.Eventually(t, "the idle close", func() bool { return strings.Count(p.Stderr(), "closed: idle timeout") >= i })
		if n := strings.Count(p.Stderr(), "closed: idle timeout"); n != i {
			t.Fatalf("%d idle closes after datagram %d; stderr:\n%s", n, i, p.Stderr())
		}
	}
}

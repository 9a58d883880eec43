package cli_test

import (
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// dataLine is a line of relay --log/--hex output on stdout: time, a
// direction arrow, the peer; or an indented hex dump line under it.
var dataLine = regexp.MustCompile(`^(\d\d:\d\d:\d\d\.\d{3} [←→] |    [0-9a-f]{8}  )`)

// TestRelayLogStdoutIsData (issue 10): with --log or --hex, stdout
// carries the data log and nothing else; "listening on" and the
// connection events go to stderr, once.
func TestRelayLogStdoutIsData(t *testing.T) {
	echo := sockittest.Start(t, "listen", "-k", "--echo", "127.0.0.1:0").Addr()
	for _, mode := range []string{"--log", "--hex"} {
		t.Run(mode, func(t *testing.T) {
			relay := sockittest.Start(t, "relay", mode, "127.0.0.1:0", echo)
			c, err := net.Dial("tcp", relay.Addr())
			if err != nil {
				t.Fatal(err)
			}
			c.Write([]byte("hello relay\n"))
			buf := make([]byte, 12)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(c, buf); err != nil {
				t.Fatal(err)
			}
			c.Close()
			sockittest.Eventually(t, "--log shows both directions", func() bool {
				return strings.Count(relay.Stdout(), "←")+strings.Count(relay.Stdout(), "→") >= 2
			})
			onlyData := func() {
				t.Helper()
				for _, l := range strings.Split(strings.TrimRight(relay.Stdout(), "\n"), "\n") {
					if !dataLine.MatchString(l) {
						t.Errorf("stdout line %q is not data", l)
					}
				}
			}
			onlyData()
			// The connection's end is logged on stderr, not stdout.
			relay.WaitStderr("peer closed", 10*time.Second)
			onlyData()
			if n := strings.Count(relay.Stderr(), "listening on"); n != 1 {
				t.Errorf("stderr says %d times where the relay listens, want once:\n%s", n, relay.Stderr())
			}
		})
	}
}

// TestRelayUDPToTCPCommand (issue 9): relay udp:// to tcp:// works, as
// with socat: each datagram goes to the client's own TCP connection, and
// the echo comes back as a datagram.
func TestRelayUDPToTCPCommand(t *testing.T) {
	echo := sockittest.Start(t, "listen", "-k", "--echo", "127.0.0.1:0")
	relay := sockittest.Start(t, "relay", "udp://127.0.0.1:0", "tcp://"+echo.Addr())
	for i := 0; i < 2; i++ {
		c, err := net.Dial("udp", relay.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		msg := fmt.Sprintf("datagram from client %d", i)
		c.Write([]byte(msg))
		buf := make([]byte, 100)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != msg {
			t.Fatalf("client %d: got %q, %v", i, buf[:n], err)
		}
	}
	echo.WaitStderr("(#2, tcp)", 10*time.Second) // one TCP connection per client
}

// TestRelayStreamToDatagramsRefused: a stream cannot be relayed to
// datagrams; relay and listen --forward say so as a usage error, before
// they listen.
func TestRelayStreamToDatagramsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"relay", "127.0.0.1:0", "udp://127.0.0.1:9"},
		{"relay", "unix:///nonexistent/a.sock", "unixgram:///nonexistent/b.sock"},
		{"listen", "--forward", "udp://127.0.0.1:9", "127.0.0.1:0"},
	} {
		_, stderr, code := sockittest.Run(t, nil, 30*time.Second, args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2; stderr: %s", args, code, stderr)
		}
		ls := strings.Split(strings.TrimSpace(stderr), "\n")
		if len(ls) != 2 || !strings.Contains(ls[0], "cannot forward a stream") || !strings.HasPrefix(ls[1], "Note that") {
			t.Errorf("%v: stderr %q, want the error and a note", args, stderr)
		}
	}
}

package cli_test

import (
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
	echo := sockittest.Start(t, "listen", "-k", "--echo", "127.0.0.1:0")
	for _, mode := range []string{"--log", "--hex"} {
		t.Run(mode, func(t *testing.T) {
			relay := sockittest.Start(t, "relay", mode, "127.0.0.1:0", echo.Addr())
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
			deadline := time.Now().Add(10 * time.Second)
			for strings.Count(relay.Stdout(), "←")+strings.Count(relay.Stdout(), "→") < 2 {
				if time.Now().After(deadline) {
					t.Fatalf("--log did not show both directions within 10s; stdout:\n%s", relay.Stdout())
				}
				time.Sleep(10 * time.Millisecond)
			}
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

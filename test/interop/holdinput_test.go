package interop

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// pyRead connects to 127.0.0.1:PORT and prints repr() of what it reads:
// with "half", after shutting down its write side at once, everything up
// to the server's EOF; with a number, that many bytes.
const pyRead = `
import socket, sys
port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=60)
data = b""
if mode == "half":
    s.shutdown(socket.SHUT_WR)
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
else:
    while len(data) < int(mode):
        d = s.recv(int(mode) - len(data))
        if not d:
            break
        data += d
print(repr(data), flush=True)
`

// pyReads runs pyRead against port and returns what it printed.
func pyReads(t *testing.T, port int, mode string) string {
	t.Helper()
	p := python(t, pyRead, strconv.Itoa(port), mode)
	if code := p.Wait(60 * time.Second); code != 0 {
		t.Fatalf("the python client exited %d; stderr:\n%s", code, p.Stderr())
	}
	return strings.TrimSpace(p.Stdout())
}

const heldNote = "holding 7 B of input until a client connects"

// TestKeepOpenHoldsPipedInput: listen -k with piped stdin holds what it
// reads while no client is connected and gives it to the first client
// that connects, as ncat -l -k does, instead of dropping it with "no peer
// connected yet".
func TestKeepOpenHoldsPipedInput(t *testing.T) {
	t.Run("first-client-gets-banner", func(t *testing.T) {
		srv, addr := sockitListen(t, "", "", "-k", "127.0.0.1:0")
		srv.Stdin.Write([]byte("banner\n"))
		// NOTE
		if got := pyReads(t, port(t, addr), "7"); got != `b'banner\n'` {
			t.Errorf("the first client got %s, want the banner", got)
		}
		// The banner went to the first client only: the next one's first
		// bytes are what stdin says after it connected.
		c := dialTCP(t, addr)
		sockittest.Eventually(t, "the second client", func() bool { return strings.Count(srv.Stderr(), " connected (") == 2 })
		srv.Stdin.Write([]byte("next\n"))
		if got := readExactly(t, c, 5); got != "next\n" {
			t.Errorf("the second client got %q, want only what came after it connected", got)
		}
		if strings.Contains(srv.Stderr(), "no peer connected") {
			t.Errorf("stderr:\n%s", srv.Stderr())
		}
		srv.Interrupt()
		exitCode(t, srv, 130, "sockit listen -k")
	})

	// A client that came and went before stdin said anything (a port
	// probe) does not make sockit drop the banner: the next client gets it.
	t.Run("after-a-probe", func(t *testing.T) {
		srv, addr := sockitListen(t, "", "", "-k", "127.0.0.1:0")
		dialTCP(t, addr).Close()
		srv.WaitStderr("closed: peer closed", 30*time.Second)
		srv.Stdin.Write([]byte("banner\n"))
		// NOTE
		if got := pyReads(t, port(t, addr), "7"); got != `b'banner\n'` {
			t.Errorf("the client after the probe got %s, want the banner; stderr:\n%s", got, srv.Stderr())
		}
		srv.Interrupt()
		exitCode(t, srv, 130, "sockit listen -k")
	})

	// A client that shuts down its write side at once still gets the
	// banner before the server closes the connection: with sockit, as
	// with ncat -l -k.
	t.Run("half-closing-client", func(t *testing.T) {
		srv, addr := sockitListen(t, "", "", "-k", "127.0.0.1:0")
		srv.Stdin.Write([]byte("banner\n"))
		// NOTE
		if got := pyReads(t, port(t, addr), "half"); got != `b'banner\n'` {
			t.Errorf("sockit: the half-closing client got %s, want the banner; stderr:\n%s", got, srv.Stderr())
		}
		srv.WaitStderr("closed: peer closed (received 0 B, sent 7 B)", 30*time.Second)
		srv.Interrupt()
		exitCode(t, srv, 130, "sockit listen -k")

		p := sockittest.FreePort(t, false)
		ncat := start(t, cmd(t, "ncat", "-l", "-k", "127.0.0.1", strconv.Itoa(p)), "", "")
		ncat.Stdin.Write([]byte("banner\n"))
		sockittest.WaitListening(t, p)
		if got := pyReads(t, p, "half"); got != `b'banner\n'` {
			t.Errorf("ncat: the half-closing client got %s; stderr:\n%s", got, ncat.Stderr())
		}
	})
}

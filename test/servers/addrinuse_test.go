package servers

import (
	"net"
	"strings"
	"testing"
	"time"
)

// inUseLines is what sockit prints when the port is taken, for TCP and
// UDP alike (README "Servers"): the same words and what to try, exit 3 as for
// any address that cannot be had.
func checkInUse(t *testing.T, what, stderr string, code int, scheme, addr string) {
	t.Helper()
	want := "sockit: listen " + scheme + "://" + addr + ": address already in use\n" +
		"Note that another program holds that address; pick another port or stop it.\n"
	if code != 3 || stderr != want {
		t.Errorf("%s: exit %d, stderr %q; want exit 3, %q", what, code, stderr, want)
	}
}

// A second sockit server on a port that a sockit server holds fails as
// TCP does, for UDP with every behaviour (the per-core echo included), and
// the first server still gets every datagram.
func TestSecondServerOnPortFails(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		scheme string
		args   []string
	}{
		{"tcp", "tcp", []string{"-k", "--echo"}},
		{"udp stdio", "udp", []string{"-u"}},
		{"udp echo per core", "udp", []string{"-u", "--echo"}},
		{"udp exec", "udp", []string{"-u", "--exec", "cat"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			first, addr := listen(t, append(tc.args, tc.scheme+"://127.0.0.1:0")...)
			addr = strings.TrimPrefix(addr, "udp://")
			for _, second := range [][]string{tc.args, {"-u", "--echo"}, {"-u"}} {
				if tc.scheme == "tcp" {
					second = []string{"-k", "--discard"}
				}
				_, stderr, code := runSockit(t, append(append([]string{"listen"}, second...), tc.scheme+"://"+addr)...)
				checkInUse(t, strings.Join(second, " "), stderr, code, tc.scheme, addr)
			}
			if tc.scheme == "udp" {
				// Every datagram still reaches the first server.
				c, err := net.Dial("udp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				for i := 0; i < 8; i++ {
					c.Write([]byte{'0' + byte(i)})
				}
				if tc.name == "udp stdio" {
					first.WaitStdout(t, "8 datagrams", func(s string) bool { return s == "01234567" })
				} else {
					// Replies may come merged (cat reads what is there).
					c.SetReadDeadline(time.Now().Add(10 * time.Second))
					buf := make([]byte, 64)
					for got := 0; got < 8; {
						n, err := c.Read(buf)
						if err != nil {
							t.Fatalf("%d of 8 bytes back from the first server: %v", got, err)
						}
						got += n
					}
				}
			}
		})
	}
}

// A port that another program holds (Python, asking to share with
// SO_REUSEADDR and SO_REUSEPORT) is refused, never shared.
func TestPortHeldByPythonIsRefused(t *testing.T) {
	t.Parallel()
	const holder = `
import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1] == 'udp' else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(('127.0.0.1', 0))
if kind == socket.SOCK_STREAM:
    s.listen(8)
print(s.getsockname()[1])
sys.stdin.read()
`
	for _, tc := range []struct {
		scheme string
		args   []string
	}{
		{"tcp", []string{"-k", "--echo"}},
		{"udp", []string{"-u"}},
		{"udp", []string{"-u", "--echo"}},
		{"udp", []string{"-u", "--reply", "x"}},
	} {
		t.Run(tc.scheme+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			_, addr := python(t, holder, tc.scheme)
			_, stderr, code := runSockit(t, append(append([]string{"listen"}, tc.args...), tc.scheme+"://"+addr)...)
			checkInUse(t, "listen", stderr, code, tc.scheme, addr)
		})
	}
	// relay's listening side too.
	_, addr := python(t, holder, "udp")
	_, stderr, code := runSockit(t, "relay", "udp://"+addr, "udp://127.0.0.1:9")
	checkInUse(t, "relay", stderr, code, "udp", addr)
}

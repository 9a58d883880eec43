package interop

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/sockit/sockit/internal/sockittest"
)

// TestPeerClosesFirst is issue 10's flow: `echo 'SSH-2.0-Fake' | sockit
// listen 127.0.0.1:P` and `sockit connect 127.0.0.1:P </dev/null`. The
// client's FIN ends only the client's sending (README "Servers"): the server
// still sends its greeting, then closes. It lost the greeting in about a
// third of runs, so the two greeting cases run the flow 50 times each
// (sockittest.Repeats) and every run must hold.
func TestPeerClosesFirst(t *testing.T) {
	t.Parallel()
	// greetingServer is the listen side of the flow: its stdin is a pipe
	// that holds the greeting and has ended, as after `echo … |`.
	greetingServer := func(t *testing.T) (*sockittest.Proc, string) {
		srv := sockittest.Start(t, "listen", "127.0.0.1:0")
		srv.Stdin.Write([]byte("SSH-2.0-Fake\n"))
		srv.Stdin.Close()
		return srv, srv.Addr()
	}

	t.Run("greeting", func(t *testing.T) {
		t.Parallel()
		for run := 1; run <= sockittest.Repeats() && !t.Failed(); run++ {
			srv, addr := greetingServer(t)
			cl := start(t, cmd(t, "sockit", "connect", addr), os.DevNull, "")
			exitCode(t, cl, 0, "sockit connect </dev/null")
			if out := cl.Stdout(); out != "SSH-2.0-Fake\n" {
				t.Errorf("run %d: connect printed %q, want the greeting", run, out)
			}
			exitCode(t, srv, 0, "sockit listen")
			if strings.Contains(srv.Stderr(), "before the input ended") || !strings.Contains(srv.Stderr(), "sent 13 B") {
				t.Errorf("run %d: listen's close line does not say the greeting went out:\n%s", run, srv.Stderr())
			}
		}
	})

	t.Run("greeting-expect", func(t *testing.T) {
		t.Parallel()
		for run := 1; run <= sockittest.Repeats() && !t.Failed(); run++ {
			srv, addr := greetingServer(t)
			cl := start(t, cmd(t, "sockit", "connect", addr, "--expect", `^SSH-2\.0-`), os.DevNull, "")
			exitCode(t, cl, 0, fmt.Sprintf("run %d: sockit connect --expect </dev/null", run))
			exitCode(t, srv, 0, fmt.Sprintf("run %d: sockit listen", run))
		}
	})

	t.Run("idle-stdin-exits-at-once", func(t *testing.T) {
		// The client's stdin is a pipe whose writer stays open and quiet:
		// when the server closes, the client prints what came and exits
		// at once (README "Pipe mode and the end of input"), not when stdin ends.
		t.Parallel()
		ln, conns := acceptTCP(t)
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		c := cmd(t, "sockit", "connect", ln.Addr().String())
		c.Stdin = r
		p := sockittest.StartCmd(t, c)
		r.Close()
		w.Write([]byte("typed\n"))
		srv := accepted(t, conns)
		if got := readExactly(t, srv, 6); got != "typed\n" {
			t.Fatalf("server got %q", got)
		}
		srv.Write([]byte("bye\n"))
		srv.Close()
		exitCode(t, p, 0, "sockit connect with an idle stdin")
		if p.Stdout() != "bye\n" {
			t.Errorf("stdout %q", p.Stdout())
		}
	})

	t.Run("half-closed-peer-gets-the-rest", func(t *testing.T) {
		// A peer that shut down its write side still reads: a file on
		// stdin goes out whole after the peer's FIN.
		t.Parallel()
		data := strings.Repeat("0123456789abcdef", 1<<18) // 4 MiB
		path := writeTemp(t, data)
		addr, got := serve(t, func(c *net.TCPConn) string {
			c.CloseWrite()
			s, end := readAll(c, sockittest.Patience)
			return s + "|" + end
		})
		p := start(t, cmd(t, "sockit", "connect", addr), path, "")
		exitCode(t, p, 0, "sockit connect < file")
		if r := result(t, got); r != data+"|EOF" {
			t.Errorf("peer got %d bytes (%q at the end), want all %d then EOF", len(r), r[max(0, len(r)-8):], len(data))
		}
	})
}

func writeTemp(t *testing.T, data string) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "in")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString(data)
	return f.Name()
}

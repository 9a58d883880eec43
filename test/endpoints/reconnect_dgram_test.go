//go:build linux

package endpoints

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
	"github.com/sockit/sockit/internal/testpki"
)

// TestReconnectUDP: connect udp:// --forever, its server (sockit listen
// --echo) killed and started again. Over UDP the server's going away is
// the ICMP port unreachable that answers the next datagram, which a
// connected socket reports as connection refused: that ends the
// conversation (a close event with the error), and sockit reconnects at
// once, on a new socket, as a new conversation. The datagram refused is
// lost, as UDP's are; what is sent once the server is back gets there and
// its echo comes back.
func TestReconnectUDP(t *testing.T) {
	t.Parallel()
	addr := "127.0.0.1:" + strconv.Itoa(sockittest.RebindablePort(t, true))
	listen := func() *sockittest.Proc {
		p := sockittest.Start(t, "listen", "udp://"+addr, "--echo")
		p.Addr()
		return p
	}
	s1 := listen()
	c := sockittest.Start(t, "connect", "udp://"+addr, "--forever", "--retry-delay", "20ms", "--json")
	c.Stdin.Write([]byte("one\n"))
	c.WaitStdout(t, "the first echo", func(s string) bool {
		return strings.Contains(s, `"conn":1,`) && strings.Contains(s, `"dir":"in","len":4,"text":"one\n"`)
	})

	kill(s1)
	c.Stdin.Write([]byte("into the void\n"))
	c.WaitStdout(t, "the refusal and the next conversation", func(s string) bool {
		return strings.Contains(s, `"event":"retry","conn":2`) && strings.Contains(s, `"event":"connect","conn":2`)
	})
	s2 := listen()
	c.Stdin.Write([]byte("two\n"))
	c.WaitStdout(t, "the second echo", func(s string) bool { return strings.Contains(s, `"dir":"in","len":4,"text":"two\n"`) })
	s2.Interrupt()
	<-s2.Done()
	c.Interrupt()
	c.Wait(30 * time.Second)

	var closed, retry, echo2 map[string]any
	for _, e := range events(t, c) {
		switch {
		case e["event"] == "data" && e["dir"] == "in" && e["text"] == "into the void\n":
			t.Errorf("a datagram sent while nothing listened came back: %v", e)
		case e["event"] == "close" && e["conn"] == 1.0:
			closed = e
		case e["event"] == "retry" && retry == nil:
			retry = e
		case e["event"] == "data" && e["dir"] == "in" && e["text"] == "two\n":
			echo2 = e
		}
	}
	if closed == nil || !strings.Contains(closed["error"].(string), "connection refused") {
		t.Errorf("close of conversation 1: %v, want connection refused", closed)
	}
	if retry == nil || retry["attempt"] != 1.0 || retry["wait_ms"] != 0.0 || !strings.Contains(retry["reason"].(string), "connection refused") {
		t.Errorf("first retry event %v, want attempt 1 at once for connection refused", retry)
	}
	if echo2 == nil || echo2["conn"] == 1.0 {
		t.Errorf("the second echo %v, want it on a later conversation", echo2)
	}
}

// TestReconnectDTLS: connect dtls:// --forever, its server (openssl
// s_server -dtls) killed and started again on the same port: sockit
// sees the break (the refusal of its next record), does the handshake
// again with the new server, and the conversation goes on both ways.
func TestReconnectDTLS(t *testing.T) {
	t.Parallel()
	openssl := sockittest.Need(t, "openssl")
	cf := testpki.Standard(t)
	port := strconv.Itoa(sockittest.RebindablePort(t, true))
	serve := func() *sockittest.Proc {
		p := sockittest.StartCmd(t, exec.Command(openssl, "s_server", "-dtls", "-accept", "127.0.0.1:"+port, "-cert", cf.Cert, "-key", cf.Key))
		p.WaitStdout(t, "that openssl s_server started (ACCEPT)", func(s string) bool { return strings.Contains(s, "ACCEPT") })
		return p
	}
	s1 := serve()
	c := sockittest.Start(t, "connect", "dtls://127.0.0.1:"+port, "--ca", cf.CA, "--forever", "--retry-delay", "20ms", "--json")
	c.Stdin.Write([]byte("one\n"))
	s1.WaitStdout(t, "the first record", func(s string) bool { return strings.Contains(s, "one\n") })
	s1.Stdin.Write([]byte("first reply\n"))
	c.WaitStdout(t, "the first reply", func(s string) bool { return strings.Contains(s, `"text":"first reply\n"`) })

	kill(s1)
	c.Stdin.Write([]byte("into the void\n"))
	c.WaitStdout(t, "a retry", func(s string) bool { return strings.Contains(s, `"event":"retry","conn":2`) })
	s2 := serve()
	c.WaitStdout(t, "the second conversation", func(s string) bool { return strings.Contains(s, `"event":"connect","conn":2`) })
	c.Stdin.Write([]byte("two\n"))
	s2.WaitStdout(t, "the second record", func(s string) bool { return strings.Contains(s, "two\n") })
	s2.Stdin.Write([]byte("second reply\n"))
	c.WaitStdout(t, "the second reply", func(s string) bool {
		return strings.Contains(s, `"conn":2,`) && strings.Contains(s, `"text":"second reply\n"`)
	})
	c.Interrupt()
	c.Wait(30 * time.Second)
}

// TestReconnectUDPGivesUp: connect udp:// --retry 2 whose server is gone
// for good. A new UDP socket is made at once whether or not anyone
// listens, so a socket whose only datagram was refused is a failed try,
// however long it waited for that datagram: after two of them sockit
// gives up, exit 3 in one line, as over TCP, rather than making a new
// socket for every line forever.
func TestReconnectUDPGivesUp(t *testing.T) {
	t.Parallel()
	// Outside the ephemeral range: no other socket takes the port once
	// the server is gone, and the refusals go on.
	addr := "127.0.0.1:" + strconv.Itoa(sockittest.RebindablePort(t, true))
	s := sockittest.Start(t, "listen", "udp://"+addr, "--echo")
	s.Addr()
	c := sockittest.Start(t, "connect", "udp://"+addr, "--retry", "2", "--retry-delay", "1ms", "--json")
	c.Stdin.Write([]byte("one\n"))
	c.WaitStdout(t, "the echo", func(s string) bool { return strings.Contains(s, `"dir":"in","len":4,"text":"one\n"`) })
	kill(s)
	// A line at a time, each once the previous one's socket is up.
	for i, line := range []string{"a\n", "b\n", "c\n"} {
		c.Stdin.Write([]byte(line))
		conn := `"event":"connect","conn":` + strconv.Itoa(i+2)
		select {
		case <-c.Done():
		default:
			if i < 2 {
				c.WaitStdout(t, "conversation "+strconv.Itoa(i+2), func(s string) bool { return strings.Contains(s, conn) })
			}
		}
	}
	if code := c.Wait(30 * time.Second); code != 3 {
		t.Fatalf("exit %d, want 3; stdout:\n%s\nstderr:\n%s", code, c.Stdout(), c.Stderr())
	}
	want := "sockit: lost the connection to udp://" + addr + " and gave up after 2 tries to reconnect: "
	if !strings.Contains(c.Stderr(), want) || !strings.Contains(c.Stderr(), "connection refused") {
		t.Errorf("stderr lacks %q … connection refused:\n%s", want, c.Stderr())
	}
}

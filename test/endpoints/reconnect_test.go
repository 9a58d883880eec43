//go:build linux

package endpoints

import (
	"encoding/json"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// events is the --json events p printed, parsed.
func events(t *testing.T, p *sockittest.Proc) []map[string]any {
	t.Helper()
	var all []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(p.Stdout()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON event: %q", line)
		}
		all = append(all, m)
	}
	return all
}

// kill ends a server as a crash or a restart does, and waits for it.
func kill(p *sockittest.Proc) {
	p.Cmd.Process.Kill()
	<-p.Done()
}

// TestReconnectPipeSockitServer: connect --forever in pipe mode goes on
// when its server (sockit listen) is stopped and started again: the
// first half reaches the first server, the second half, written after
// the break was reported and before the new server was up, reaches the
// second whole, and --json shows the tries with their growing waits.
func TestReconnectPipeSockitServer(t *testing.T) {
	t.Parallel()
	addr := "127.0.0.1:" + strconv.Itoa(sockittest.RebindablePort(t, false))
	s1 := sockittest.Start(t, "listen", addr)
	s1.Addr()
	c := sockittest.Start(t, "connect", addr, "--forever", "--retry-delay", "20ms", "--json")
	c.Stdin.Write([]byte("first half\n"))
	s1.WaitStdout(t, "the first half", func(s string) bool { return s == "first half\n" })

	kill(s1)
	// Two tries refused: the back-off is under way.
	c.WaitStdout(t, "a second retry", func(s string) bool {
		return strings.Contains(s, `"event":"retry","conn":2`) && strings.Contains(s, `"attempt":3`)
	})
	c.Stdin.Write([]byte("second half\n"))
	s2 := sockittest.Start(t, "listen", addr)
	s2.Addr()
	s2.WaitStdout(t, "the second half", func(s string) bool { return s == "second half\n" })

	// The input ends: sockit half-closes, the server closes in turn
	// (sockit listen in pipe mode), and that ends the conversation, with
	// no reconnect.
	c.Stdin.Close()
	if code := c.Wait(30 * time.Second); code != 0 {
		t.Fatalf("connect: exit %d; stderr:\n%s", code, c.Stderr())
	}
	var tries []map[string]any
	conns := 0
	for _, e := range events(t, c) {
		switch e["event"] {
		case "retry":
			tries = append(tries, e)
		case "connect":
			conns++
		}
	}
	if conns != 2 || len(tries) < 3 {
		t.Fatalf("%d connects and %d retry events, want 2 and at least 3:\n%s", conns, len(tries), c.Stdout())
	}
	// The first try is at once, for the server closed; the next ones wait
	// twice as long each, for the connects refused.
	if tries[0]["attempt"] != 1.0 || tries[0]["wait_ms"] != 0.0 || tries[0]["reason"] != "peer closed" {
		t.Errorf("first retry event %v, want attempt 1 at once for peer closed", tries[0])
	}
	for i := 1; i < len(tries); i++ {
		want := 20.0 * float64(int(1)<<(i-1))
		if tries[i]["attempt"] != float64(i+1) || tries[i]["wait_ms"] != want || !strings.Contains(tries[i]["error"].(string), "connection refused") {
			t.Errorf("retry event %d: %v, want attempt %d after %vms for connection refused", i, tries[i], i+1, want)
		}
	}
}

// TestReconnectPipeNcat: the same against a server that is not sockit
// (ncat -l, killed and started again), with the tries on stderr.
func TestReconnectPipeNcat(t *testing.T) {
	t.Parallel()
	ncat := sockittest.Need(t, "ncat")
	port := strconv.Itoa(sockittest.RebindablePort(t, false))
	addr := "127.0.0.1:" + port
	listen := func() *sockittest.Proc {
		// Waiting for its line, not probing the port: a probe would be
		// the one client ncat -l takes.
		p := sockittest.StartCmd(t, exec.Command(ncat, "-v", "-l", "127.0.0.1", port))
		p.WaitStderr("Listening on", 30*time.Second)
		return p
	}
	n1 := listen()
	c := sockittest.Start(t, "connect", addr, "--retry", "50", "--retry-delay", "20ms")
	c.Stdin.Write([]byte("one\n"))
	n1.WaitStdout(t, "one", func(s string) bool { return s == "one\n" })
	n1.Stdin.Write([]byte("from the first\n"))
	c.WaitStdout(t, "the first reply", func(s string) bool { return s == "from the first\n" })

	kill(n1)
	c.WaitStderr(addr+": peer closed; reconnecting now (try 1 of 50)", 30*time.Second)
	n2 := listen()
	c.WaitStderr("connected to "+addr, 30*time.Second)
	c.Stdin.Write([]byte("two\n"))
	n2.WaitStdout(t, "two", func(s string) bool { return s == "two\n" })
	n2.Stdin.Write([]byte("from the second\n"))
	c.WaitStdout(t, "the second reply", func(s string) bool { return s == "from the first\nfrom the second\n" })
	// The input ends: sockit half-closes, ncat exits at the end of what
	// it reads, and that ends the conversation, with no reconnect.
	c.Stdin.Close()
	if code := c.Wait(30 * time.Second); code != 0 {
		t.Fatalf("connect: exit %d; stderr:\n%s", code, c.Stderr())
	}
}

// TestReconnectGivesUp: --retry N tries N times once the server is gone
// for good, then exits 3 with one line saying so (and the note for a
// refused connect).
func TestReconnectGivesUp(t *testing.T) {
	t.Parallel()
	s := sockittest.Start(t, "listen", "127.0.0.1:0")
	addr := s.Addr()
	c := sockittest.Start(t, "connect", addr, "--retry", "3", "--retry-delay", "20ms")
	c.Stdin.Write([]byte("hello\n"))
	s.WaitStdout(t, "hello", func(out string) bool { return out == "hello\n" })
	kill(s)
	if code := c.Wait(30 * time.Second); code != 3 {
		t.Fatalf("exit %d, want 3; stderr:\n%s", code, c.Stderr())
	}
	var errs []string
	for _, line := range strings.Split(strings.TrimSpace(c.Stderr()), "\n") {
		if strings.HasPrefix(line, "sockit: ") {
			errs = append(errs, line)
		}
	}
	want := "sockit: lost the connection to tcp://" + addr + " and gave up after 3 tries to reconnect: connect tcp://" + addr + ": connection refused"
	if len(errs) != 1 || errs[0] != want {
		t.Errorf("error lines %q, want only %q; stderr:\n%s", errs, want, c.Stderr())
	}
	for _, try := range []string{"(try 1 of 3)", "in 20ms (try 2 of 3)", "in 40ms (try 3 of 3)"} {
		if !strings.Contains(c.Stderr(), try) {
			t.Errorf("stderr lacks %q:\n%s", try, c.Stderr())
		}
	}
}

// TestRelayUpstreamRestarts: relay --forever, its upstream (ncat -l -k,
// whose stdout shows what clients send and whose stdin goes to them)
// killed and started again. The conversation under way ends with its
// upstream, as socat's would; a client that comes while the upstream is
// down is held, its bytes kept, while the relay tries again (events of
// its conversation in --json), and gets through once the upstream is
// back.
func TestRelayUpstreamRestarts(t *testing.T) {
	t.Parallel()
	ncat := sockittest.Need(t, "ncat")
	port := strconv.Itoa(sockittest.RebindablePort(t, false))
	to := "127.0.0.1:" + port
	upstream := func() *sockittest.Proc {
		p := sockittest.StartCmd(t, exec.Command(ncat, "-v", "-l", "-k", "127.0.0.1", port))
		p.WaitStderr("Listening on", 30*time.Second)
		return p
	}
	u1 := upstream()
	r := sockittest.Start(t, "relay", "127.0.0.1:0", to, "--forever", "--retry-delay", "20ms", "--json")
	from := r.Addr()

	a := dialT(t, from)
	a.Write([]byte("a"))
	u1.WaitStdout(t, "the first client's byte", func(s string) bool { return s == "a" })
	u1.Stdin.Write([]byte("A"))
	if got := readN(t, a, 1); got != "A" {
		t.Fatalf("first client read %q", got)
	}
	kill(u1)
	// The first client's conversation ends with its upstream: EOF, not
	// a hang and not a new upstream in the middle of it.
	if n, err := a.Read(make([]byte, 1)); err == nil {
		t.Fatalf("first client read %d bytes after its upstream died, want the end", n)
	}

	b := dialT(t, from)
	b.Write([]byte("held"))
	r.WaitStdout(t, "a retry for the second client", func(s string) bool {
		return strings.Contains(s, `"event":"retry","conn":2`) && strings.Contains(s, `"attempt":2`)
	})
	u2 := upstream()
	u2.WaitStdout(t, "the second client's bytes", func(s string) bool { return s == "held" })
	u2.Stdin.Write([]byte("back"))
	if got := readN(t, b, 4); got != "back" {
		t.Fatalf("second client read %q, want the new upstream's reply", got)
	}
}

func dialT(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(sockittest.Patience))
	return c
}

func readN(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	b := make([]byte, n)
	got := 0
	for got < n {
		k, err := c.Read(b[got:])
		got += k
		if err != nil {
			return string(b[:got])
		}
	}
	return string(b)
}

// TestRetryFirstConnectEvents: connect --retry N against a port nobody
// listens on yet: each try again of the first connect is a retry event
// of conversation 1 in --json (attempt, wait_ms doubling, the error), and
// a line on stderr worded as the reconnects' are; once a server listens
// (after three such events) the conversation goes through.
func TestRetryFirstConnectEvents(t *testing.T) {
	t.Parallel()
	port := sockittest.ReservePort(t) // refused until it listens
	addr := port.Addr
	c := sockittest.Start(t, "connect", addr, "--retry", "20", "--retry-delay", "20ms", "--json")
	c.WaitStdout(t, "three retry events", func(s string) bool { return strings.Count(s, `"event":"retry"`) >= 3 })
	srv, err := port.Listen().Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.SetDeadline(time.Now().Add(sockittest.Patience))
	c.Stdin.Write([]byte("hello\n"))
	if got := readN(t, srv, 6); got != "hello\n" {
		t.Fatalf("server read %q", got)
	}
	srv.Write([]byte("world\n"))
	c.WaitStdout(t, "the reply", func(s string) bool { return strings.Contains(s, `"dir":"in","len":6,"text":"world\n"`) })
	// The input ends: sockit half-closes, and the server's close then
	// ends the conversation, with no reconnect.
	c.Stdin.Close()
	if n, err := srv.Read(make([]byte, 1)); err == nil {
		t.Fatalf("server read %d bytes, want the end of the input", n)
	}
	srv.Close()
	if code := c.Wait(30 * time.Second); code != 0 {
		t.Fatalf("connect: exit %d; stderr:\n%s", code, c.Stderr())
	}
	var tries []map[string]any
	connects := 0
	for _, e := range events(t, c) {
		switch e["event"] {
		case "retry":
			if connects > 0 {
				t.Errorf("retry event after the connect: %v", e)
			}
			tries = append(tries, e)
		case "connect":
			connects++
		}
	}
	if connects != 1 || len(tries) < 3 {
		t.Fatalf("%d connects and %d retry events, want 1 and at least 3:\n%s", connects, len(tries), c.Stdout())
	}
	for i, e := range tries {
		want := min(20.0*float64(int(1)<<i), 30000)
		if e["conn"] != 1.0 || e["attempt"] != float64(i+1) || e["wait_ms"] != want || e["peer"] != addr ||
			!strings.Contains(e["error"].(string), "connection refused") {
			t.Errorf("retry event %d: %v, want conn 1, attempt %d after %vms for connection refused", i, e, i+1, want)
		}
	}
	for _, line := range []string{
		" * " + addr + ": connect tcp://" + addr + ": connection refused; trying again in 20ms (retry 1 of 20)\n",
		"; trying again in 40ms (retry 2 of 20)\n",
		"; trying again in 80ms (retry 3 of 20)\n",
	} {
		if !strings.Contains(c.Stderr(), line) {
			t.Errorf("stderr lacks %q:\n%s", line, c.Stderr())
		}
	}
}

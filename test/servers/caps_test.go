package servers

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

var summaryRE = regexp.MustCompile(`(\d+) peers refused in all, (\d+) of them not logged one by one`)

// children counts the live child processes of pid.
func children(t *testing.T, pid int) int {
	t.Helper()
	tasks, err := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	if err != nil || len(tasks) == 0 {
		t.Skipf("no /proc/PID/task/*/children here: %v", err)
	}
	n := 0
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		n += len(strings.Fields(string(b)))
	}
	return n
}

// udpSources sends one datagram from each of n source ports (a socket
// each, closed after it sends). The first answered ones wait for their
// answer (sending again if it is lost), so that the server sees them
// all; the rest are sent without waiting, as a flood would be.
func udpSources(t *testing.T, addr string, answered, n int) {
	t.Helper()
	buf := make([]byte, 64)
	for i := 0; i < n; i++ {
		c, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		got := i >= answered
		for try := 0; !got && try < 10; try++ {
			c.Write([]byte("x\n"))
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			_, err := c.Read(buf)
			got = err == nil
		}
		if !got {
			t.Fatalf("source %d: no answer", i)
		}
		if i >= answered {
			c.Write([]byte("x\n"))
		}
		c.Close()
	}
}

// waitCount waits until stderr holds want copies of s, and fails if it
// ever holds more.
func waitCount(t *testing.T, p *sockittest.Proc, s string, want int) {
	t.Helper()
	sockittest.Eventually(t, fmt.Sprintf("%d × %q on stderr", want, s), func() bool {
		n := strings.Count(p.Stderr(), s)
		if n > want {
			t.Fatalf("%d × %q on stderr, want %d", n, s, want)
		}
		return n == want
	})
}

// 'listen -u --exec' starts a process per UDP source address, and UDP
// source addresses cost nothing to forge: without a cap, 300 source ports
// gave 188 processes within a second. By default at most 100 run at once;
// the rest are refused with a log line and counted.
func TestExecProcessesAreCappedByDefault(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		args  []string
		limit int
	}{
		{"default", nil, 100},
		{"--max-conns 10", []string{"--max-conns", "10"}, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, addr := listen(t, append(append([]string{"-u", "--exec", "cat"}, tc.args...), "udp://127.0.0.1:0")...)
			addr = strings.TrimPrefix(addr, "udp://")
			udpSources(t, addr, tc.limit, 300)
			waitCount(t, p, "connected (#", tc.limit)
			p.WaitStderr("refused: connection limit ("+strconv.Itoa(tc.limit)+") reached (see --max-conns)", 30*time.Second)
			if n := children(t, p.Cmd.Process.Pid); n > tc.limit {
				t.Fatalf("%d processes alive, want at most %d", n, tc.limit)
			}
			// Up to 300 - limit refusals (the kernel may drop some of
			// the flood): at most refusedBurst a second logged one by
			// one, the rest counted, and the total said when the server
			// stops.
			p.Interrupt()
			p.Wait(30 * time.Second)
			refused := strings.Count(p.Stderr(), "refused: ")
			if refused == 0 || refused > 300-tc.limit {
				t.Errorf("%d refusal lines", refused)
			}
			if refused > 20 && !summaryRE.MatchString(p.Stderr()) {
				t.Errorf("%d refusal lines and no summary:\n%s", refused, p.Stderr())
			}
			if m := summaryRE.FindStringSubmatch(p.Stderr()); m != nil {
				total, _ := strconv.Atoi(m[1])
				hidden, _ := strconv.Atoi(m[2])
				if total > 300-tc.limit || total-hidden > refused {
					t.Errorf("summary %q with %d lines logged", m[0], refused)
				}
			}
		})
	}
}

// TCP --exec is capped the same way: the 101st client is refused while
// 100 processes run.
func TestExecTCPIsCappedByDefault(t *testing.T) {
	t.Parallel()
	p, addr := listen(t, "-k", "--exec", "cat")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 100; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	waitCount(t, p, "connected (#", 100)
	if got, closed := dialRead(t, "tcp", addr, "hi\n"); got != "" || !closed {
		t.Fatalf("the 101st client got %q (closed %v); want refused", got, closed)
	}
	p.WaitStderr("refused: connection limit (100) reached (see --max-conns)", 15*time.Second)
	if n := children(t, p.Cmd.Process.Pid); n > 100 {
		t.Fatalf("%d processes alive, want at most 100", n)
	}
	// --max-conns 0 lifts the cap.
	_, addr = listen(t, "-k", "--exec", "cat", "--max-conns", "0")
	for i := 0; i < 101; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	if got, _ := dialRead(t, "tcp", addr, "hi\n"); got != "hi\n" {
		t.Fatalf("with --max-conns 0 the 102nd client got %q", got)
	}
}

// Every UDP behaviour caps its peers (1024 by default), the batched echo
// and relay included.
func TestUDPPeersAreCappedByDefault(t *testing.T) {
	t.Parallel()
	upstream := sockittest.EchoUDP(t)
	for _, args := range [][]string{
		{"listen", "-u", "--echo", "udp://127.0.0.1:0"},
		{"listen", "-u", "--reply", "ok", "udp://127.0.0.1:0"},
		{"relay", "udp://127.0.0.1:0", "udp://" + upstream},
	} {
		t.Run(strings.Join(args[:len(args)-1], " "), func(t *testing.T) {
			t.Parallel()
			p := sockittest.Start(t, args...)
			addr := strings.TrimPrefix(p.Addr(), "udp://")
			udpSources(t, addr, 1024, 1100)
			p.WaitStderr("refused: connection limit (1024) reached (see --max-conns)", 60*time.Second)
			waitCount(t, p, "connected (#", 1024)
		})
	}
}

package reliability

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// soakBytes is how much the namespace tests move: 16 MiB in CI, 256 MiB
// from scripts/soak.sh (SOCKIT_SOAK_BYTES=268435456).
func soakBytes(t *testing.T) int64 {
	if s := os.Getenv("SOCKIT_SOAK_BYTES"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			t.Fatalf("SOCKIT_SOAK_BYTES=%q is not a size", s)
		}
		return n
	}
	return 16 << 20
}

// nsPair is two network namespaces joined by a veth pair with a /30
// between them: A has .1, B has .2. Nothing of it exists outside the
// namespaces, and the test removes them when it ends.
type nsPair struct {
	t            *testing.T
	a, b         string // namespace names
	vethA, vethB string
	addrA, addrB string
}

// newNSPair creates the namespaces. It needs root: without it the test is
// skipped, unless SOCKIT_REQUIRE_PEERS=1 (CI), where it fails.
func newNSPair(t *testing.T) *nsPair {
	t.Helper()
	if os.Geteuid() != 0 {
		sockittest.Missing(t, "network namespace tests need root (CI runs as root)")
	}
	sockittest.Need(t, "ip")
	sfx := make([]byte, 3)
	rand.Read(sfx)
	id := hex.EncodeToString(sfx)
	x, _ := rand.Int(rand.Reader, big.NewInt(100))
	y, _ := rand.Int(rand.Reader, big.NewInt(256))
	net := fmt.Sprintf("10.%d.%d.", 100+x.Int64(), y.Int64())
	p := &nsPair{
		t: t, a: "sockit-t-" + id + "a", b: "sockit-t-" + id + "b",
		vethA: "skt" + id + "a", vethB: "skt" + id + "b",
		addrA: net + "1", addrB: net + "2",
	}
	for _, ns := range []string{p.a, p.b} {
		p.ip("netns", "add", ns)
		t.Cleanup(func() {
			if out, err := exec.Command(sockittest.Need(t, "ip"), "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("ip netns del %s: %v %s", ns, err, out)
			}
		})
	}
	p.ip("link", "add", p.vethA, "netns", p.a, "type", "veth", "peer", "name", p.vethB, "netns", p.b)
	for _, side := range []struct{ ns, dev, addr string }{{p.a, p.vethA, p.addrA}, {p.b, p.vethB, p.addrB}} {
		// One wire packet per skb (no 64 KiB GSO super-packets), so that a
		// 2% drop rule drops 2% of real segments.
		p.ip("-n", side.ns, "link", "set", side.dev, "gso_max_segs", "1")
		p.ip("-n", side.ns, "addr", "add", side.addr+"/30", "dev", side.dev)
		p.ip("-n", side.ns, "link", "set", side.dev, "up")
		p.ip("-n", side.ns, "link", "set", "lo", "up")
	}
	return p
}

func (p *nsPair) ip(args ...string) string {
	p.t.Helper()
	return p.run(sockittest.Need(p.t, "ip"), args...)
}

func (p *nsPair) run(prog string, args ...string) string {
	p.t.Helper()
	out, err := exec.Command(prog, args...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// in runs a command inside namespace ns.
func (p *nsPair) in(ns string, prog string, args ...string) *exec.Cmd {
	return exec.Command(sockittest.Need(p.t, "ip"), append([]string{"netns", "exec", ns, prog}, args...)...)
}

// nft loads an nftables ruleset into namespace ns.
func (p *nsPair) nft(ns, ruleset string) {
	p.t.Helper()
	nft := sockittest.Need(p.t, "nft")
	cmd := p.in(ns, nft, "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("nft in %s: %v\n%s\n%s", ns, err, out, ruleset)
	}
}

var nftCounter = regexp.MustCompile(`counter packets (\d+) bytes \d+`)

// counters reads the packet counters of the rules in ns, in order.
func (p *nsPair) counters(ns string) []int64 {
	out, err := p.in(ns, sockittest.Need(p.t, "nft"), "list", "ruleset").CombinedOutput()
	if err != nil {
		p.t.Fatalf("nft list ruleset: %v %s", err, out)
	}
	var n []int64
	for _, m := range nftCounter.FindAllStringSubmatch(string(out), -1) {
		v, _ := strconv.ParseInt(m[1], 10, 64)
		n = append(n, v)
	}
	return n
}

// transfer sends size bytes of random data from connect in B to listen in
// A and checks they arrive whole (SHA-256); it returns how long it took.
func (p *nsPair) transfer(size int64) time.Duration {
	t := p.t
	t.Helper()
	bin := sockittest.Binary(t)
	path, sum := randomFile(t, size, uint64(size))
	out := tempPath(t)
	lc := p.in(p.a, bin, "listen", p.addrA+":0")
	lc.Stdout = mustCreate(t, out)
	l := sockittest.StartCmd(t, lc)
	addr := l.Addr()
	cc := p.in(p.b, bin, "connect", addr)
	cc.Stdin = mustOpen(t, path)
	start := time.Now()
	c := sockittest.StartCmd(t, cc)
	if code := c.Wait(10 * time.Minute); code != 0 {
		t.Fatalf("connect exit %d: %s", code, c.Stderr())
	}
	if code := l.Wait(time.Minute); code != 0 {
		t.Fatalf("listen exit %d: %s", code, l.Stderr())
	}
	took := time.Since(start)
	if got, n := sockittest.FileSum(t, out); got != sum || n != size {
		t.Fatalf("listen received %d bytes with sha256 %s; sent %d, %s", n, got, size, sum)
	}
	return took
}

// TestNetnsLoss: random data through connect → listen across a veth
// whose receiving side drops 2% of TCP packets (nftables numgen) arrives
// byte-exact: TCP's retransmissions and sockit's copy loops lose nothing.
func TestNetnsLoss(t *testing.T) {
	t.Parallel()
	p := newNSPair(t)
	p.nft(p.a, `table inet sockit_t {
	chain in {
		type filter hook input priority 0; policy accept;
		iifname "`+p.vethA+`" meta l4proto tcp counter
		iifname "`+p.vethA+`" meta l4proto tcp numgen random mod 100 < 2 counter drop
	}
}
`)
	size := soakBytes(t)
	took := p.transfer(size)
	c := p.counters(p.a)
	if len(c) != 2 || c[1] <= 0 {
		t.Fatalf("nftables counters %v: the loss rule did not act, so the test proved nothing", c)
	}
	t.Logf("%d MiB byte-exact across 2%% nftables loss in %s (%.1f MiB/s): %d of %d TCP packets dropped (%.2f%%)",
		size>>20, took.Round(time.Millisecond), float64(size)/(1<<20)/took.Seconds(), c[1], c[0], 100*float64(c[1])/float64(c[0]))
}

// TestNetnsRate: the same across a tbf rate limit of 200 Mbit/s on the
// sender's veth: byte-exact, and no faster than the limit (so the limit
// was in the path).
func TestNetnsRate(t *testing.T) {
	t.Parallel()
	p := newNSPair(t)
	tc := sockittest.Need(t, "tc")
	p.run(sockittest.Need(t, "ip"), "netns", "exec", p.b, tc, "qdisc", "add", "dev", p.vethB, "root", "tbf", "rate", "200mbit", "burst", "64kb", "latency", "50ms")
	size := soakBytes(t)
	took := p.transfer(size)
	mbit := float64(size) * 8 / 1e6 / took.Seconds()
	if mbit > 200*1.1 {
		t.Errorf("moved %.0f Mbit/s through a 200 Mbit/s tbf: the limit was not in the path", mbit)
	}
	t.Logf("%d MiB byte-exact through tbf 200mbit in %s (%.0f Mbit/s)", size>>20, took.Round(time.Millisecond), mbit)
}

// TestNetnsHalfOpen: a client whose host vanishes (its link goes down,
// then it is killed, so no FIN or RST ever arrives) leaves a half-open
// connection; 'listen -k --echo -i 2' drops it after the idle timeout and
// goes on serving.
func TestNetnsHalfOpen(t *testing.T) {
	t.Parallel()
	p := newNSPair(t)
	bin := sockittest.Binary(t)
	srv := sockittest.StartCmd(t, p.in(p.a, bin, "listen", "-k", "--echo", "-v", "-i", "2", p.addrA+":0"))
	addr := srv.Addr()
	cl := sockittest.StartCmd(t, p.in(p.b, bin, "connect", addr))
	cl.Stdin.Write([]byte("hello\n"))
	sockittest.Eventually(t, "the echo before the fault", func() bool { return strings.Contains(cl.Stdout(), "hello") })
	last := time.Now() // the last traffic on the connection
	p.ip("-n", p.b, "link", "set", p.vethB, "down")
	cl.Cmd.Process.Kill() // its FIN cannot leave: the link is down
	srv.WaitStderr("idle timeout", 15*time.Second)
	took := time.Since(last)
	if took < 1900*time.Millisecond {
		t.Errorf("the half-open connection was dropped %s after its last traffic, before the 2s idle timeout", took)
	}
	// The server still serves: a client inside namespace A.
	out, errOut, code := runIn(t, p.in(p.a, bin, "send", "--wait", "1", addr, "still serving"))
	if code != 0 || out != "still serving" {
		t.Errorf("after dropping the half-open client: send exit %d, %q, %s", code, out, errOut)
	}
	t.Logf("half-open connection dropped %s after its last traffic (-i 2)", took.Round(10*time.Millisecond))
}

func runIn(t *testing.T, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

// udpStats reads namespace ns's UDP counters from /proc/net/snmp: the
// kernel's own count, for that namespace alone, of the datagrams its
// programs read (InDatagrams) and sent (OutDatagrams), of those it
// dropped for a full receive buffer (InErrors, RcvbufErrors), and of
// those that came to a port where nothing listened any more (NoPorts).
func (p *nsPair) udpStats(ns string) map[string]int64 {
	p.t.Helper()
	out := p.run(sockittest.Need(p.t, "ip"), "netns", "exec", ns, "cat", "/proc/net/snmp")
	var names []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f[1:]
			continue
		}
		m := map[string]int64{}
		for i, v := range f[1:] {
			if i < len(names) {
				m[names[i]], _ = strconv.ParseInt(v, 10, 64)
			}
		}
		return m
	}
	p.t.Fatalf("no Udp counters in %s's /proc/net/snmp:\n%s", ns, out)
	return nil
}

// udpQueued is how many bytes wait, unread, in the receive queues of
// namespace ns's UDP sockets (/proc/net/udp and udp6, rx_queue).
func (p *nsPair) udpQueued(ns string) int64 {
	p.t.Helper()
	out := p.run(sockittest.Need(p.t, "ip"), "netns", "exec", ns, "cat", "/proc/net/udp", "/proc/net/udp6")
	var n int64
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 5 || !strings.HasSuffix(f[0], ":") {
			continue // the header lines
		}
		if _, rx, ok := strings.Cut(f[4], ":"); ok {
			v, _ := strconv.ParseInt(rx, 16, 64)
			n += v
		}
	}
	return n
}

// settle waits until the datagrams in flight between the namespaces have
// all arrived: nothing waits unread in A's sockets, B has counted every
// datagram A sent to it (aToB is the position of A's nftables counter of
// those), and, with echoes, A has answered every datagram it read (one
// reply each). On a busy machine a server may work through a backlog of
// seconds after the client has gone; the kernel's counters are read once
// it has. A datagram lost on the veth would keep the counts apart: the
// wait then ends after sockittest.Patience and the comparison shows the
// difference.
func (p *nsPair) settle(aToB int, echoes bool) {
	p.t.Helper()
	settled := func() bool {
		if p.udpQueued(p.a) != 0 || p.counters(p.a)[aToB] != p.counters(p.b)[0] {
			return false
		}
		st := p.udpStats(p.a)
		return !echoes || st["InDatagrams"] == st["OutDatagrams"]
	}
	if sockittest.Until(settled) {
		return
	}
	p.t.Logf("datagrams still in flight after %s: %d bytes queued in %s; %s sent %d to %s, which counted %d; UDP in %s: %v",
		sockittest.Patience, p.udpQueued(p.a), p.a, p.a, p.counters(p.a)[aToB], p.b, p.counters(p.b)[0], p.a, p.udpStats(p.a))
}

// countReplies loads the nftables rule in B that counts the datagrams
// arriving from A (counter 0 of B).
func (p *nsPair) countReplies() {
	p.nft(p.b, `table inet sockit_t {
	chain in {
		type filter hook input priority 0; policy accept;
		iifname "`+p.vethB+`" meta l4proto udp counter
	}
}
`)
}

// benchAccount checks bench --mode udp's count against the kernel's, in
// B where bench ran alone: it sent what B sent, and received what B's
// programs read (less the duplicates). It returns the datagrams that came
// back to B but that bench did not read: replies later than bench waits
// for (on a busy machine a server can be seconds behind), or dropped at
// bench's full socket.
func (p *nsPair) benchAccount(b benchUDP, repliesIn int64) (late int64) {
	p.t.Helper()
	st := p.udpStats(p.b)
	if st["OutDatagrams"] != b.UDP.Sent {
		p.t.Errorf("bench says it sent %d datagrams; the kernel sent %d", b.UDP.Sent, st["OutDatagrams"])
	}
	if b.Errors == 0 && st["InDatagrams"] != b.UDP.Received+b.UDP.Duplicates {
		p.t.Errorf("bench says it received %d datagrams and %d duplicates; the kernel handed it %d", b.UDP.Received, b.UDP.Duplicates, st["InDatagrams"])
	}
	return repliesIn - st["InDatagrams"]
}

package reliability

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// startRelay runs 'sockit relay [args] 127.0.0.1:0 TO' and returns it
// with its address.
func startRelay(t *testing.T, to string, args ...string) (*sockittest.Proc, string) {
	t.Helper()
	from := "127.0.0.1:0"
	if strings.HasPrefix(to, "udp://") {
		from = "udp://127.0.0.1:0"
	}
	p := sockittest.Start(t, append(append([]string{"relay"}, args...), from, to)...)
	return p, p.Addr()
}

// TestRelayImpairByteExact: random data through connect → relay --impair
// → listen arrives byte-exact (SHA-256) across delay, jitter, tiny chunks
// and a rate limit: 16 MiB in CI, 256 MiB from scripts/soak.sh.
func TestRelayImpairByteExact(t *testing.T) {
	t.Parallel()
	size := soakBytes(t)
	for _, spec := range []string{
		"delay=50ms,jitter=20ms,chunk=1-64",
		"delay=5ms,jitter=5ms,rate=400mbit",
	} {
		t.Run(spec, func(t *testing.T) {
			path, sum := randomFile(t, size, 21)
			out := tempPath(t)
			lc := exec.Command(sockittest.Binary(t), "listen", "127.0.0.1:0")
			lc.Stdout = mustCreate(t, out)
			l := sockittest.StartCmd(t, lc)
			r, addr := startRelay(t, l.Addr(), "--impair", spec, "--seed", "1")
			cc := exec.Command(sockittest.Binary(t), "connect", addr)
			cc.Stdin = mustOpen(t, path)
			start := time.Now()
			c := sockittest.StartCmd(t, cc)
			if code := c.Wait(10 * time.Minute); code != 0 {
				t.Fatalf("connect exit %d: %s\nrelay: %s", code, c.Stderr(), r.Stderr())
			}
			if code := l.Wait(time.Minute); code != 0 {
				t.Fatalf("listen exit %d: %s", code, l.Stderr())
			}
			took := time.Since(start)
			if got, n := sockittest.FileSum(t, out); got != sum || n != size {
				t.Fatalf("listen received %d bytes, sha256 %s; sent %d, %s", n, got, size, sum)
			}
			t.Logf("%d MiB byte-exact through relay --impair %s in %s (%.1f MiB/s)", size>>20, spec, took.Round(time.Millisecond), float64(size)/(1<<20)/took.Seconds())
		})
	}
}

// TestRelayImpairReset: reset-after=1MB resets both sides once 1 MiB has
// passed: connect exits 6 with one line, and what it printed is a prefix
// of what the server sent, at most 1 MiB.
func TestRelayImpairReset(t *testing.T) {
	t.Parallel()
	data := randomData(8<<20, 22)
	lc := exec.Command(sockittest.Binary(t), "listen", "127.0.0.1:0")
	lc.Stdin = bytes.NewReader(data)
	l := sockittest.StartCmd(t, lc)
	r, addr := startRelay(t, l.Addr(), "--json", "--impair", "reset-after=1MB")
	out := tempPath(t)
	cc := exec.Command(sockittest.Binary(t), "connect", addr)
	cc.Stdout = mustCreate(t, out)
	c := sockittest.StartCmd(t, cc)
	code := c.Wait(30 * time.Second)
	got, _ := os.ReadFile(out)
	if code != 6 {
		t.Errorf("connect exit %d, want 6; stderr: %s", code, c.Stderr())
	}
	oneErrorLine(t, c.Stderr(), "reset")
	if ok, at := isPrefix(got, data); !ok || len(got) > 1<<20 {
		t.Errorf("client got %d bytes (prefix: %v, differs at %d), want a prefix of at most 1 MiB", len(got), ok, at)
	}
	if code := l.Wait(30 * time.Second); code != 6 {
		t.Errorf("listen exit %d, want 6 (the server side is reset too); stderr: %s", code, l.Stderr())
	}
	r.Interrupt()
	r.Wait(10 * time.Second)
	if !strings.Contains(r.Stderr(), "connections reset") {
		t.Errorf("relay did not report the reset:\n%s", r.Stderr())
	}
	// The close event says it in words any front end can show, with the
	// option beside it; the command line's log names the flag.
	const reset = "connection reset by the impairment reset-after=1048576"
	if !strings.Contains(r.Stderr(), reset+" (see --impair)") {
		t.Errorf("relay's log does not name --impair with the reset:\n%s", r.Stderr())
	}
	found := false
	for _, line := range strings.Split(r.Stdout(), "\n") {
		var e struct{ Event, Error, Option string }
		if json.Unmarshal([]byte(line), &e) == nil && e.Event == "close" && strings.HasSuffix(e.Error, ": "+reset) && e.Option == "impair" {
			found = true
		}
	}
	if !found {
		t.Errorf("no close event with error %q and option impair in relay's --json", reset)
	}
	t.Logf("client got %d bytes before the injected reset", len(got))
}

// TestRelayImpairStall: stall-after=64k stops the data but keeps the
// connection open: the client gets at most 64 KiB, then its idle timeout
// (not an EOF or a reset) ends it.
func TestRelayImpairStall(t *testing.T) {
	t.Parallel()
	data := randomData(1<<20, 23)
	lc := exec.Command(sockittest.Binary(t), "listen", "127.0.0.1:0")
	lc.Stdin = bytes.NewReader(data)
	l := sockittest.StartCmd(t, lc)
	_, addr := startRelay(t, l.Addr(), "--impair", "stall-after=64k")
	out := tempPath(t)
	cc := exec.Command(sockittest.Binary(t), "connect", "-i", "2", addr)
	cc.Stdout = mustCreate(t, out)
	c := sockittest.StartCmd(t, cc)
	code := c.Wait(30 * time.Second)
	got, _ := os.ReadFile(out)
	if code != 4 {
		t.Errorf("connect exit %d, want 4 (idle timeout on a stalled connection); stderr: %s", code, c.Stderr())
	}
	oneErrorLine(t, c.Stderr(), "idle timeout")
	if ok, _ := isPrefix(got, data); !ok || len(got) > 64<<10 {
		t.Errorf("client got %d bytes, want a prefix of at most 64 KiB", len(got))
	}
}

// TestRelayUDPSizes: datagrams of every size round-trip through a UDP
// relay (with and without an impairment that keeps them) to listen -u
// --echo, whole.
func TestRelayUDPSizes(t *testing.T) {
	t.Parallel()
	echo := sockittest.Start(t, "listen", "-u", "--echo", "127.0.0.1:0").Addr()
	for _, args := range [][]string{nil, {"--impair", "delay=2ms,jitter=1ms"}} {
		t.Run(strings.Join(append([]string{"plain"}, args...), " "), func(t *testing.T) {
			_, addr := startRelay(t, "udp://"+echo, args...)
			c, err := net.Dial("udp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			buf := make([]byte, 70000)
			for _, n := range udpSizes {
				msg := randomData(n, uint64(n)+5)
				c.Write(msg)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				got, err := c.Read(buf)
				if err != nil || !bytes.Equal(buf[:got], msg) {
					t.Errorf("%d bytes through the relay: got %d back, %v", n, got, err)
				}
			}
		})
	}
}

// TestRelayImpairSeedRepeats: with the same --seed a lossy UDP relay drops
// the same datagrams of the same traffic; another seed drops others.
func TestRelayImpairSeedRepeats(t *testing.T) {
	t.Parallel()
	echo := sockittest.Start(t, "listen", "-u", "--echo", "127.0.0.1:0")
	run := func(seed string) string {
		r, addr := startRelay(t, "udp://"+echo.Addr(), "--impair", "loss=20%", "--seed", seed)
		c, err := net.Dial("udp", addr)
		if err != nil {
			t.Error(err)
			return ""
		}
		defer c.Close()
		// Which datagrams came back is told by their numbers, not by
		// whether each answer beat a deadline: on a busy machine a slow
		// answer is late, not lost. The loss decisions depend only on the
		// order of the datagrams, which one at a time keeps the same.
		back := []byte(strings.Repeat("0", 100))
		buf := make([]byte, 16)
		// read takes answers until the one numbered want (-1: none)
		// or the deadline.
		read := func(want int, deadline time.Time) {
			c.SetReadDeadline(deadline)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				if n == 4 {
					if got := binary.BigEndian.Uint32(buf); got < 100 {
						back[got] = '1'
						if int(got) == want {
							return
						}
					}
				}
			}
		}
		for i := range 100 {
			c.Write(binary.BigEndian.AppendUint32(nil, uint32(i)))
			read(i, time.Now().Add(50*time.Millisecond))
		}
		read(-1, time.Now().Add(time.Second)) // the late ones
		r.Interrupt()
		r.Wait(10 * time.Second)
		return string(back)
	}
	// The three runs go at once, each with its own relay.
	res := make([]chan string, 3)
	for i, seed := range []string{"42", "42", "43"} {
		res[i] = make(chan string, 1)
		go func() { res[i] <- run(seed) }()
	}
	a, b, other := <-res[0], <-res[1], <-res[2]
	if a != b {
		t.Errorf("--seed 42 twice answered different datagrams:\n%s\n%s", a, b)
	}
	if a == other {
		t.Errorf("--seed 43 answered exactly the datagrams --seed 42 did")
	}
	if n := strings.Count(a, "0"); n < 20 || n > 60 {
		t.Errorf("%d of 100 round trips lost through loss=20%% each way, want about 36", n)
	}
}

var impairSummary = regexp.MustCompile(`impair: (\d+) datagrams, (\d+) lost, (\d+) duplicated, (\d+) reordered, (\d+) dropped by a full delay queue`)

type benchUDP struct {
	UDP struct {
		Sent        int64   `json:"sent"`
		Received    int64   `json:"received"`
		Lost        int64   `json:"lost"`
		LossPercent float64 `json:"loss_percent"`
		Reordered   int64   `json:"reordered"`
		Duplicates  int64   `json:"duplicates"`
	} `json:"udp"`
	Errors int64 `json:"errors"`
}

func runBenchUDP(t *testing.T, cmd *exec.Cmd) benchUDP {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench: %v\n%s", err, errb.String())
	}
	// --json is NDJSON: interval objects, then the summary on the last line.
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	var b benchUDP
	if err := json.Unmarshal(lines[len(lines)-1], &b); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, out.String())
	}
	return b
}

// pct is n as a percentage of total.
func pct(n, total int64) float64 { return 100 * float64(n) / float64(max(total, 1)) }

// TestRelayImpairBenchUDP: bench --mode udp through relay --impair with
// loss, duplication and reordering reports as lost what the relay
// dropped, and counts the duplicates and reorderings.
//
// A busy machine loses datagrams of its own: a server that does not get
// the CPU in time overflows its socket's receive buffer, and its replies
// can come back later than bench waits for them. Bench counts those as
// lost too, rightly, so the test counts them as well, with the kernel's
// counters: bench runs in namespace B, the relay and the echo server in
// A, joined by a veth pair, and each namespace counts only its own
// datagrams. Bench's loss must then be what the relay dropped, plus what
// the kernel dropped in A, plus the replies that reached B but not bench,
// within 1.5 points (a duplicate can make up for a loss).
func TestRelayImpairBenchUDP(t *testing.T) {
	t.Parallel()
	p := newNSPair(t)
	p.nft(p.a, `table inet sockit_t {
	chain in {
		type filter hook input priority 0; policy accept;
		iifname "`+p.vethA+`" meta l4proto udp counter
	}
	chain out {
		type filter hook output priority 0; policy accept;
		oifname "`+p.vethA+`" meta l4proto udp counter
	}
}
`)
	p.countReplies()
	bin := sockittest.Binary(t)
	echo := sockittest.StartCmd(t, p.in(p.a, bin, "listen", "-u", "-k", "--echo", "127.0.0.1:0"))
	r := sockittest.StartCmd(t, p.in(p.a, bin, "relay", "--impair", "loss=5%,dup=1%,reorder=1%", "--seed", "5", "udp://"+p.addrA+":0", "udp://"+echo.Addr()))
	// --plain: no bench hello, whose datagrams (and retries, on a lossy
	// path) the kernel would count and bench, rightly, would not.
	b := runBenchUDP(t, p.in(p.b, bin, "bench", "--mode", "udp", "--plain", "--rate", "2000", "-d", "3s", "--json", "udp://"+r.Addr()))
	p.settle(1, false)
	r.Interrupt()
	r.Wait(60 * time.Second)
	m := impairSummary.FindStringSubmatch(r.Stderr())
	if m == nil {
		t.Fatalf("no impair summary from the relay:\n%s", r.Stderr())
	}
	n := make([]int64, 5)
	for i := range n {
		n[i], _ = strconv.ParseInt(m[i+1], 10, 64)
	}
	datagrams, lost, dup, reord, overflow := n[0], n[1], n[2], n[3], n[4]
	sa := p.udpStats(p.a)
	c := p.counters(p.a)
	forwardLost := b.UDP.Sent - c[0] // between bench and the relay, on the veth
	late := p.benchAccount(b, p.counters(p.b)[0])
	machine := sa["InErrors"] + forwardLost + late
	t.Logf("bench: sent %d, loss %.2f%%, %d reordered, %d duplicates; relay: %d of %d datagrams lost (%.2f%%), %d duplicated, %d reordered, %d overflowed; the machine: %d dropped by full buffers in A, %d on the veth, %d replies too late for bench",
		b.UDP.Sent, b.UDP.LossPercent, b.UDP.Reordered, b.UDP.Duplicates, lost, datagrams, pct(lost, datagrams), dup, reord, overflow, sa["InErrors"], forwardLost, late)
	if want := pct(lost+overflow+machine, b.UDP.Sent); math.Abs(b.UDP.LossPercent-want) > 1.5 {
		t.Errorf("bench reports %.2f%% loss; the relay dropped %.2f%% of what bench sent and the machine %.2f%%: %.2f%% in all",
			b.UDP.LossPercent, pct(lost+overflow, b.UDP.Sent), pct(machine, b.UDP.Sent), want)
	}
	if got := pct(lost, datagrams); math.Abs(got-5) > 1.5 {
		t.Errorf("the relay dropped %.2f%% of the %d datagrams it forwarded, want 5%% ± 1.5 for loss=5%%", got, datagrams)
	}
	if b.UDP.Duplicates == 0 || b.UDP.Reordered == 0 {
		t.Errorf("bench counted %d duplicates and %d reordered; the relay made %d and %d", b.UDP.Duplicates, b.UDP.Reordered, dup, reord)
	}
}

// TestNetnsBenchUDPLoss: bench --mode udp from namespace B to an echo
// server in A, whose side drops 5% of arriving UDP (nftables numgen),
// reports as lost what nftables dropped, plus what the busy machine lost
// of its own, counted by the kernel (see TestRelayImpairBenchUDP): the
// datagrams A's kernel dropped for the echo server's full receive
// buffer, and the replies that reached B too late for bench. No datagram
// is duplicated here, so the counts must agree to the datagram but for
// those lost on the veth, which the test counts as well.
func TestNetnsBenchUDPLoss(t *testing.T) {
	t.Parallel()
	p := newNSPair(t)
	p.nft(p.a, `table inet sockit_t {
	chain in {
		type filter hook input priority 0; policy accept;
		iifname "`+p.vethA+`" meta l4proto udp counter
		iifname "`+p.vethA+`" meta l4proto udp numgen random mod 100 < 5 counter drop
	}
	chain out {
		type filter hook output priority 0; policy accept;
		oifname "`+p.vethA+`" meta l4proto udp counter
	}
}
`)
	p.countReplies()
	bin := sockittest.Binary(t)
	echo := sockittest.StartCmd(t, p.in(p.a, bin, "listen", "-u", "-k", "--echo", p.addrA+":0"))
	addr := echo.Addr()
	b := runBenchUDP(t, p.in(p.b, bin, "bench", "--mode", "udp", "--plain", "--rate", "2000", "-d", "3s", "--json", "udp://"+addr)) // --plain: see above
	p.settle(2, true)
	c := p.counters(p.a)
	if len(c) != 3 || c[0] == 0 {
		t.Fatalf("nftables counters %v", c)
	}
	sa := p.udpStats(p.a)
	forwardLost := b.UDP.Sent - c[0]
	late := p.benchAccount(b, p.counters(p.b)[0])
	machine := sa["InErrors"] + forwardLost + late
	injected := pct(c[1], c[0])
	t.Logf("bench: sent %d, received %d, loss %.2f%%; nftables dropped %d of %d (%.2f%%); the machine: %d dropped by a full buffer in A, %d on the veth, %d replies too late for bench",
		b.UDP.Sent, b.UDP.Received, b.UDP.LossPercent, c[1], c[0], injected, sa["InErrors"], forwardLost, late)
	if b.UDP.Lost != c[1]+machine {
		t.Errorf("bench reports %d lost; nftables dropped %d and the machine lost %d: %d in all", b.UDP.Lost, c[1], machine, c[1]+machine)
	}
	if math.Abs(injected-5) > 1.5 {
		t.Errorf("nftables dropped %.2f%%, want 5%% ± 1.5", injected)
	}
}

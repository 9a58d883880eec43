package web

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestSeqCounter(t *testing.T) {
	c := &seqCounter{}
	c.set(true)
	for _, m := range []string{"seq 1", "seq 2", "seq 5", "seq 3", "no number", "seq 6", "seq 6"} {
		c.see("a", []byte(m))
	}
	c.see("b", []byte("x=100")) // another peer starts where it starts
	c.see("b", []byte("x=102"))
	if c.gaps != 2 || c.reordered != 2 {
		t.Errorf("gaps %d reordered %d, want 2 (4 from a, 101 from b) and 2 (3 and the second 6)", c.gaps, c.reordered)
	}
	c.set(false)
	c.see("a", []byte("seq 100"))
	if c.gaps != 0 {
		t.Errorf("counting while off: %d gaps", c.gaps)
	}
}

func FuzzFirstNumber(f *testing.F) {
	for _, s := range []string{"", "abc", "seq 12 of 99", "99999999999999999999999", "\x00\xff7", "0"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		n, ok := firstNumber(p)
		i := 0
		for i < len(p) && (p[i] < '0' || p[i] > '9') {
			i++
		}
		if ok != (i < len(p)) {
			t.Fatalf("%q: ok %v", p, ok)
		}
		if !ok {
			return
		}
		j := i
		for j < len(p) && j-i < 19 && p[j] >= '0' && p[j] <= '9' {
			j++
		}
		want, err := strconv.ParseUint(string(p[i:j]), 10, 64)
		if err != nil || n != want {
			t.Fatalf("%q: %d, want %d (%v)", p, n, want, err)
		}
	})
}

// udpSessionSocket is the UDP socket of the page's session sid.
func udpSessionSocket(t *testing.T, u *testUI, sid int) *net.UDPConn {
	t.Helper()
	s, err := u.mgr.get(sid)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sock.PacketConn().(*net.UDPConn)
}

// TestBrowserUDPLoss: a UDP session whose socket cannot keep up (its
// receive buffer shrunk to 2 KiB by the test) shows the kernel's drops,
// and what arrived plus what was dropped is exactly what was sent; with
// gap counting ticked, numbers missing from a numbered stream are
// counted, and one that comes late fills its gap.
func TestBrowserUDPLoss(t *testing.T) {
	for _, lang := range []string{"en", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			u := startUI(t)
			p := newPage(t, 1280, 900)
			if lang == "zh-CN" {
				p.browserLanguage("zh-CN,zh;q=0.9")
			}
			p.run(chromedp.Navigate(u.url))
			p.open(kindUDP, map[string]string{"local": "127.0.0.1:0"})
			p.wait(`!!window.sockit.sessions.get(1).st.local`)
			var local string
			p.eval(`window.sockit.sessions.get(1).st.local`, &local)
			raddr, _ := net.ResolveUDPAddr("udp", local)
			c, err := net.DialUDP("udp", nil, raddr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()

			p.click(active(".seq-check"))
			p.wait(`!document.querySelector('.panel.active .gaps').hidden`)
			for _, n := range []int{1, 2, 3, 5, 6, 9, 10} {
				fmt.Fprintf(c, "reading %d\n", n)
			}
			p.wait(`document.querySelector('.panel.active .m-in').dataset.n === '7'`)
			p.wait(`document.querySelector('.panel.active .gaps').dataset.gaps === '3'`) // 4, 7, 8
			fmt.Fprintf(c, "reading 4\n")                                                // late
			p.wait(`document.querySelector('.panel.active .gaps').dataset.late === '1' && document.querySelector('.panel.active .gaps').dataset.gaps === '2'`)

			// Reset, then a flood the socket cannot hold.
			p.click(active(".reset"))
			p.wait(`document.querySelector('.panel.active .m-in').dataset.n === '0' && document.querySelector('.panel.active .gaps').dataset.gaps === '0'`)
			udpSessionSocket(t, u, 1).SetReadBuffer(2048)
			// The flood is 20,000 datagrams in English; the Chinese page
			// repeats the check with fewer, within the page's 60 s budget
			// on a machine busy with the whole race suite.
			sent := 20000
			if lang != "en" {
				sent = 3000
			}
			before := softnetDropped(t)
			msg := make([]byte, 1000)
			var unsent int // a write the sending socket refused never left it
			for i := 0; i < sent; i++ {
				if _, err := c.Write(msg); err != nil {
					unsent++
				}
			}
			p.wait(`+document.querySelector('.panel.active .drops').dataset.n > 0`)
			// Every datagram is shown or counted as the socket's drop,
			// except those a busy machine drops before any socket: the
			// loopback's backlog overflows (softnet_stat) when softirqs
			// fall behind. Those are counted too, machine-wide (other
			// tests' drops included), so shown + drops may fall short of
			// sent by at most them, and never exceed it.
			var shown int
			var parts string
			counted := func() bool {
				p.eval(`+document.querySelector('.panel.active .m-in').dataset.n + +document.querySelector('.panel.active .drops').dataset.n`, &shown)
				return shown+unsent == sent || shown+unsent+int(softnetDropped(t)-before) >= sent
			}
			// Within the page's own 60 s budget, so that a shortfall is
			// reported with its counters rather than as a dead page.
			deadline := time.Now().Add(40 * time.Second)
			ok := counted()
			for ; !ok && time.Now().Before(deadline); ok = counted() {
				time.Sleep(50 * time.Millisecond) // polling the page's counters
			}
			if !ok {
				p.eval(`document.querySelector('.panel.active .m-in').dataset.n + ' received, ' + document.querySelector('.panel.active .drops').dataset.n + ' dropped'`, &parts)
				t.Fatalf("of %d datagrams sent the page shows %s (%d in all); %d writes failed; the machine's backlog dropped %d meanwhile",
					sent, parts, shown, unsent, softnetDropped(t)-before)
			}
			if shown > sent {
				t.Errorf("%d datagrams shown or dropped of %d sent", shown, sent)
			}
			t.Logf("%d of %d shown or counted as the socket's drops, %d writes failed; the machine's backlog dropped %d meanwhile", shown, sent, unsent, softnetDropped(t)-before)
			want := map[string]string{"en": "Dropped: ", "zh-CN": "丢弃："}[lang]
			p.wait(has(active(".drops"), want))
		})
	}
}

// softnetDropped is the kernel's count of packets dropped because a CPU's
// input backlog was full (/proc/net/softnet_stat, second column, summed
// over the CPUs): loopback traffic lost before it reached any socket.
func softnetDropped(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/net/softnet_stat")
	if err != nil {
		return 0 // not Linux: nothing is counted there
	}
	var n uint64
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseUint(f[1], 16, 64)
		if err != nil {
			t.Fatalf("softnet_stat: %q: %v", line, err)
		}
		n += v
	}
	return n
}

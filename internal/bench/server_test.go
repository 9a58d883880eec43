package bench

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/bench/wire"
	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/server"
	"github.com/sockit/sockit/internal/session"
	"github.com/sockit/sockit/internal/sockittest"
	"github.com/sockit/sockit/internal/tcpsock"
)

// events collects a server's events.
type events struct {
	mu  sync.Mutex
	all []*event.Event
}

func (e *events) sink(ev *event.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

func (e *events) errors() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.all {
		if ev.Err != "" {
			out = append(out, ev.Err)
		}
	}
	return out
}

// benchTCP starts sockit's bench server (listen -k --bench) on a TCP
// port of 127.0.0.1.
func benchTCP(t testing.TB) (string, *events) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	srv := &server.Server{Handler: server.Bench, Sink: ev.sink, Conn: session.Options{Sink: ev.sink, NoData: true}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String(), ev
}

// benchUDP starts sockit's bench server (listen -u --bench) on a UDP
// port of 127.0.0.1, with at most maxConns streams (0: no limit).
func benchUDP(t testing.TB, maxConns int) (string, *events) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc.(*net.UDPConn).SetReadBuffer(4 << 20)
	ev := &events{}
	srv := &server.Server{Handler: server.Bench, PacketBench: true, MaxConns: maxConns, Sink: ev.sink, Conn: session.Options{Sink: ev.sink, NoData: true}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.ServePacketBench(ctx, []net.PacketConn{pc}); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return pc.LocalAddr().String(), ev
}

func TestBenchServerTX(t *testing.T) {
	addr, _ := benchTCP(t)
	r := run(t, Config{Mode: TX, Conns: 2, Dial: dial("tcp", addr)})
	if r.Server != "sockit-bench/1" || r.Receiver == nil || r.Receiver.Streams != 2 {
		t.Fatalf("no report from the bench server: %+v", r)
	}
	// Everything sent arrived, and the server counted it to the byte.
	if r.Receiver.Bytes != r.Bytes {
		t.Fatalf("sent %d, the server received %d", r.Bytes, r.Receiver.Bytes)
	}
	for _, s := range r.Streams {
		if s.Receiver == nil || s.Receiver.Bytes != s.Bytes {
			t.Fatalf("stream %d: sent %d, report %+v", s.ID, s.Bytes, s.Receiver)
		}
	}
}

func TestBenchServerRX(t *testing.T) {
	addr, _ := benchTCP(t)
	r := run(t, Config{Mode: RX, Conns: 2, Dial: dial("tcp", addr)})
	if r.Receiver == nil || r.Receiver.Streams != 2 || r.Receiver.SentBytes < r.Bytes {
		t.Fatalf("received %d; server report %+v", r.Bytes, r.Receiver)
	}
	if tcpsock.Supported && r.Receiver.TCP == nil {
		t.Fatal("no TCP_INFO of the server's sending side")
	}
}

func TestBenchServerBidir(t *testing.T) {
	addr, _ := benchTCP(t)
	r := run(t, Config{Mode: Bidir, Conns: 2, Dial: dial("tcp", addr)})
	if r.Bytes <= 0 || r.RecvBytes <= 0 || r.RecvBitsPerSec <= 0 {
		t.Fatalf("one direction is missing: %+v", r)
	}
	if r.Receiver == nil || r.Receiver.Bytes != r.Bytes || r.Receiver.SentBytes < r.RecvBytes {
		t.Fatalf("sent %d, received %d; server report %+v", r.Bytes, r.RecvBytes, r.Receiver)
	}
	var ivRecv int64
	for _, iv := range r.Intervals {
		ivRecv += iv.RecvBytes
	}
	if ivRecv <= 0 || ivRecv > r.RecvBytes {
		t.Fatalf("intervals received %d of %d", ivRecv, r.RecvBytes)
	}
}

// TestBidirPlainSource: bidir against a plain source (which reads and
// throws away) works without a report.
func TestBidirPlainSource(t *testing.T) {
	r := run(t, Config{Mode: Bidir, Dial: dial("tcp", source(t))})
	if r.Bytes <= 0 || r.RecvBytes <= 0 || r.Receiver != nil || r.Server != "" {
		t.Fatalf("%+v", r)
	}
}

func TestBenchServerRR(t *testing.T) {
	addr, _ := benchTCP(t)
	for _, size := range []int{64, 8000} { // event loops, then goroutines
		r := run(t, Config{Mode: RR, Conns: 3, Size: size, Depth: 2, Dial: dial("tcp", addr)})
		if r.Server == "" || r.Latency == nil || r.Latency.Count != r.Ops || r.Bytes != r.Ops*int64(size) {
			t.Fatalf("size %d: %+v", size, r)
		}
	}
}

// TestBenchServerUDP: one-way UDP to the bench server at a paced rate;
// the server's count matches what was sent.
func TestBenchServerUDP(t *testing.T) {
	addr, _ := benchUDP(t, 0)
	r := run(t, Config{Mode: UDP, Conns: 2, Size: 200, Bitrate: 8_000_000, Dial: dial("udp", addr)})
	rc := r.Receiver
	if r.Server == "" || rc == nil || rc.UDP == nil || rc.Streams != 2 || r.UDP != nil {
		t.Fatalf("no receiver count: %+v", r)
	}
	u := rc.UDP
	if u.Sent != r.Ops || u.Received > u.Sent || u.Lost != u.Sent-u.Received || u.Duplicates != 0 {
		t.Fatalf("sent %d; receiver %+v", r.Ops, u)
	}
	if rc.Bytes != u.Received*200 {
		t.Fatalf("receiver bytes %d for %d datagrams of 200", rc.Bytes, u.Received)
	}
	if u.Sent < 100 {
		t.Fatalf("only %d datagrams in %.2fs at 5000/s", u.Sent, r.Seconds)
	}
}

// TestOneWayUDPAccounting: between bench and the bench server, a relay
// drops, duplicates and swaps datagrams by sequence number; the server's
// count says exactly what the relay did.
func TestOneWayUDPAccounting(t *testing.T) {
	addr, _ := benchUDP(t, 0)
	relay := newMangler(t, addr, 0)
	cfg := Config{Mode: UDP, Size: 64, Rate: 3000, Duration: 400 * time.Millisecond, Interval: 100 * time.Millisecond, Dial: dial("udp", relay.addr)}
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	u := r.Receiver.UDP
	dropped, duped, swapped := relay.counts()
	t.Logf("sent %d; relay dropped %d, duplicated %d, swapped %d; receiver %+v", r.Ops, dropped, duped, swapped, u)
	if u.Sent != r.Ops || u.Lost != dropped || u.Duplicates != duped || u.Reordered != swapped {
		t.Fatalf("receiver counted lost %d, duplicates %d, reordered %d; the relay dropped %d, duplicated %d, swapped %d",
			u.Lost, u.Duplicates, u.Reordered, dropped, duped, swapped)
	}
	if dropped == 0 || duped == 0 || swapped == 0 {
		t.Fatalf("the relay did nothing: %d %d %d", dropped, duped, swapped)
	}
}

// mangler forwards datagrams between a client and a server: data
// datagrams with sequence number 10k+3 are dropped, 10k+5 sent twice,
// 10k+7 held back and sent after 10k+8. Control messages pass untouched.
type mangler struct {
	addr                    string
	mu                      sync.Mutex
	dropped, duped, swapped int64
	held                    []byte // 10k+7, until 10k+8 comes
	dropHellos              int    // HELLOs still to drop
	dropOnly                bool   // drop 10k+3, nothing else
}

// counts: a datagram still held at the end never got through either.
func (m *mangler) counts() (int64, int64, int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	dropped := m.dropped
	if m.held != nil {
		dropped++
	}
	return dropped, m.duped, m.swapped
}

func newMangler(t *testing.T, to string, dropHellos int) *mangler {
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	raddr, _ := net.ResolveUDPAddr("udp", to)
	back, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		t.Fatal(err)
	}
	// Room for the whole run: a relay slowed down (-race, a busy machine)
	// must not lose datagrams of its own that the test would not count.
	front.SetReadBuffer(4 << 20)
	back.SetWriteBuffer(4 << 20)
	m := &mangler{addr: front.LocalAddr().String(), dropHellos: dropHellos}
	var client net.Addr
	var cmu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // client → server
		defer wg.Done()
		buf := make([]byte, 65536)
		for {
			n, from, err := front.ReadFrom(buf)
			if err != nil {
				return
			}
			cmu.Lock()
			client = from
			cmu.Unlock()
			b := buf[:n]
			if wire.IsControl(b) {
				m.mu.Lock()
				drop := m.dropHellos > 0 && strings.HasPrefix(string(b), wire.Prefix+wire.Hello)
				if drop {
					m.dropHellos--
				}
				m.mu.Unlock()
				if !drop {
					back.Write(b)
				}
				continue
			}
			_, seq, _, _ := wire.ParseHeader(b)
			m.mu.Lock()
			mod := seq % 10
			if m.dropOnly && mod != 3 {
				mod = 0
			}
			switch mod {
			case 3:
				m.dropped++
			case 5:
				m.duped++
				back.Write(b)
				back.Write(b)
			case 7:
				m.held = append([]byte(nil), b...)
			case 8:
				back.Write(b)
				if m.held != nil {
					back.Write(m.held)
					m.held = nil
					m.swapped++
				}
			default:
				back.Write(b)
			}
			m.mu.Unlock()
		}
	}()
	go func() { // server → client
		defer wg.Done()
		buf := make([]byte, 65536)
		for {
			n, err := back.Read(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			cmu.Lock()
			c := client
			cmu.Unlock()
			if c != nil {
				front.WriteTo(buf[:n], c)
			}
		}
	}()
	t.Cleanup(func() { front.Close(); back.Close(); wg.Wait() })
	return m
}

// TestLateHelloNoBurst: when the hello needs retries (here the first two
// are lost: half a second), it is still before the run's clock starts:
// the run sends at the rate for its whole length, and does not start
// with a burst of the time lost (which the path would drop, and count as
// loss). One way to a bench server, and round trips to an echo server.
func TestLateHelloNoBurst(t *testing.T) {
	baddr, _ := benchUDP(t, 0)
	for _, to := range []string{baddr, sockittest.EchoUDP(t)} {
		relay := newMangler(t, to, 2)
		relay.mu.Lock()
		relay.dropOnly = true
		relay.mu.Unlock()
		r, err := Run(context.Background(), Config{Mode: UDP, Rate: 2000, Duration: time.Second, Interval: 100 * time.Millisecond, Dial: dial("udp", relay.addr)})
		if err != nil {
			t.Fatal(err)
		}
		sent := r.Ops
		if r.UDP != nil {
			sent = r.UDP.Sent
		}
		// The hello's half second is not in the run: the first interval
		// already has datagrams (sent to a bench server, echoed by an echo
		// server). Nor is it sent afterwards in a burst: 1000 datagrams
		// would be due at once, 10,000/s or more over an interval, where
		// 2000/s are due (more for a moment when this busy machine delays
		// the sender; an interval the reporter ends late is longer, so its
		// rate, not its count, is compared).
		var most float64 // datagrams per second, over intervals of 50 ms or more
		for _, iv := range r.Intervals {
			if d := iv.End - iv.Start; d >= 0.05 {
				most = max(most, float64(iv.Ops)/d)
			}
		}
		t.Logf("%s: sent %d, at most %.0f/s over an interval", to, sent, most)
		if len(r.Intervals) == 0 || r.Intervals[0].Ops == 0 {
			t.Errorf("%s: nothing in the first interval: the hello's retries took the run's time", to)
		}
		if sent > 2300 || most >= 7000 {
			t.Errorf("%s: sent %d datagrams at --rate 2000 in 1 s, up to %.0f/s over an interval", to, sent, most)
		}
	}
}

// TestBenchServerManyClients: several runs at once against one server,
// TCP and UDP, each with its own report (no busy server).
func TestBenchServerManyClients(t *testing.T) {
	taddr, _ := benchTCP(t)
	uaddr, _ := benchUDP(t, 0)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			r, err := Run(context.Background(), Config{Mode: TX, Conns: 2, Duration: 300 * time.Millisecond, Dial: dial("tcp", taddr)})
			if err == nil && (r.Receiver == nil || r.Receiver.Bytes != r.Bytes) {
				err = errors.New("tx report does not match")
			}
			errs <- err
		}()
		go func() {
			defer wg.Done()
			r, err := Run(context.Background(), Config{Mode: UDP, Conns: 2, Rate: 2000, Duration: 300 * time.Millisecond, Dial: dial("udp", uaddr)})
			if err == nil && (r.Receiver == nil || r.Receiver.UDP.Sent != r.Ops) {
				err = errors.New("udp report does not match")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// TestBenchServerRefuses: a UDP server full to --max-conns refuses the
// next stream with a reason; the run fails with it.
func TestBenchServerRefuses(t *testing.T) {
	addr, _ := benchUDP(t, 1)
	hold, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	hello := pad(wire.Format(wire.Hello, wire.HelloMsg{Mode: wire.ModeUDP, Streams: 1}))
	hold.Write(hello)
	buf := make([]byte, 2048)
	hold.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := hold.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), wire.Prefix+wire.OK) {
		t.Fatalf("first stream: %q %v", buf[:n], err)
	}
	_, err = Run(context.Background(), Config{Mode: UDP, Duration: 200 * time.Millisecond, Dial: dial("udp", addr)})
	if err == nil || !strings.Contains(err.Error(), "busy: connection limit (1) reached") {
		t.Fatalf("err = %v", err)
	}
}

// TestBenchServerMalformed: bad input gets a reason (where it may) and a
// log line, and the server goes on serving.
func TestBenchServerMalformed(t *testing.T) {
	taddr, tev := benchTCP(t)
	for _, in := range []string{
		"GET / HTTP/1.1\r\n\r\n",
		wire.Prefix + "HELLO {\"mode\":\"nope\",\"streams\":1}\n",
		wire.Prefix + "HELLO {\"mode\":\"udp\",\"streams\":1}\n",
		"SOCKIT-BENCH/7 HELLO {}\n",
		wire.Prefix + strings.Repeat("x", 2000),
	} {
		c, err := net.Dial("tcp", taddr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(in))
		c.SetReadDeadline(time.Now().Add(15 * time.Second))
		buf := make([]byte, 4096)
		var got []byte
		for {
			n, err := c.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		c.Close()
		m, err := wire.Parse(got)
		if err != nil || m.Kind != wire.Err {
			t.Errorf("%.30q: answer %q", in, got)
		}
	}
	uaddr, uev := benchUDP(t, 0)
	u, err := net.Dial("udp", uaddr)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.Write([]byte("garbage without a hello"))
	u.Write(make([]byte, 3))
	short := []byte(wire.Prefix + "HELLO {\"mode\":\"tx\",\"streams\":1}")
	u.Write(short) // an ERR would be larger: no answer
	u.Write(pad(short))
	u.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2048)
	n, err := u.Read(buf)
	if err != nil || !strings.Contains(string(buf[:n]), "needs a stream server") {
		t.Fatalf("padded bad hello: %q %v", buf[:n], err)
	}
	// Still serving.
	r := run(t, Config{Mode: UDP, Rate: 1000, Dial: dial("udp", uaddr)})
	if r.Receiver == nil {
		t.Fatal("no report after bad input")
	}
	if len(tev.errors()) < 4 {
		t.Errorf("TCP: %d error lines for 5 bad clients: %q", len(tev.errors()), tev.errors())
	}
	if e := uev.errors(); len(e) < 1 || !strings.Contains(strings.Join(e, "\n"), "without a hello") {
		t.Errorf("UDP error lines: %q", e)
	}
}

func TestCount(t *testing.T) {
	addr, _ := benchTCP(t)
	run := func(t *testing.T, cfg Config) *Result {
		t.Helper()
		r, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if r.Errors != 0 {
			t.Fatalf("%d errors: %s", r.Errors, r.FirstError)
		}
		return r
	}
	r := run(t, Config{Mode: TX, Conns: 3, Size: 100_000, Count: 10 << 20, Duration: time.Minute, Dial: dial("tcp", addr)})
	if r.Bytes != 10<<20 || r.Receiver.Bytes != 10<<20 {
		t.Fatalf("-n 10M: sent %d, received %d", r.Bytes, r.Receiver.Bytes)
	}
	// Paced: the last claim must still be sent (it ends the run's context).
	r = run(t, Config{Mode: TX, Count: 4 << 20, Bitrate: 400_000_000, Size: 64 << 10, Duration: time.Minute, Dial: dial("tcp", addr)})
	if r.Bytes != 4<<20 || r.Receiver.Bytes != 4<<20 {
		t.Fatalf("-n 4M -b 400M: sent %d, received %d", r.Bytes, r.Receiver.Bytes)
	}
	r = run(t, Config{Mode: RX, Conns: 2, Count: 5 << 20, Duration: time.Minute, Dial: dial("tcp", addr)})
	if r.Bytes != 5<<20 {
		t.Fatalf("rx -n 5M: received %d", r.Bytes)
	}
	r = run(t, Config{Mode: RR, Conns: 2, Count: 1000, Duration: time.Minute, Dial: dial("tcp", addr)})
	if r.Ops != 1000 || r.Latency.Count != 1000 {
		t.Fatalf("rr -n 1000: %d responses, %d latencies", r.Ops, r.Latency.Count)
	}
	r = run(t, Config{Mode: UDP, Conns: 2, Depth: 4, Count: 500, Duration: time.Minute, Dial: dial("udp", sockittest.EchoUDP(t))})
	if r.UDP.Sent != 500 {
		t.Fatalf("udp -n 500: sent %d", r.UDP.Sent)
	}
	uaddr, _ := benchUDP(t, 0)
	r = run(t, Config{Mode: UDP, Count: 300, Rate: 3000, Duration: time.Minute, Dial: dial("udp", uaddr)})
	if r.Ops != 300 || r.Receiver.UDP.Sent != 300 {
		t.Fatalf("one-way udp -n 300: sent %d, receiver %+v", r.Ops, r.Receiver.UDP)
	}
	r, err := Run(context.Background(), Config{Mode: Connect, Count: 20, Duration: time.Minute, Dial: dial("tcp", addr)})
	if err != nil || r.Ops != 20 {
		t.Fatalf("connect -n 20: %v %d", err, r.Ops)
	}
}

// TestOmit: the omitted intervals are marked, and the summary leaves
// out exactly what they carried.
func TestOmit(t *testing.T) {
	addr, _ := benchTCP(t)
	cfg := Config{Mode: TX, Omit: 300 * time.Millisecond, Duration: 300 * time.Millisecond, Interval: 100 * time.Millisecond, Dial: dial("tcp", addr)}
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var omitted int64
	var nOmit int
	for i, iv := range r.Intervals {
		if iv.Omitted {
			omitted += iv.Bytes
			nOmit++
			if i != nOmit-1 || iv.Start >= 0.3 {
				t.Fatalf("interval %d %+v is marked omitted after -O", i, iv)
			}
		} else if iv.Start < 0.3 {
			t.Fatalf("interval %d %+v within -O is not marked", i, iv)
		}
	}
	if nOmit == 0 || r.OmitSeconds != 0.3 || r.Seconds > 0.3+1e-6 {
		t.Fatalf("%d omitted intervals, omit %v, seconds %v", nOmit, r.OmitSeconds, r.Seconds)
	}
	if r.Bytes+omitted != r.Receiver.Bytes {
		t.Fatalf("summary %d + omitted %d != %d the server received", r.Bytes, omitted, r.Receiver.Bytes)
	}
	// rr: requests sent during -O are not in the histogram. (The counts
	// are cut when the reporter's timer fires, the histogram at -O
	// exactly: a few round trips may fall between the two.)
	echo := sockittest.EchoTCP(t)
	// A second after -O: a busy machine's first round trips can take most
	// of the default 300 ms.
	r = run(t, Config{Mode: RR, Conns: 2, Omit: 200 * time.Millisecond, Duration: time.Second, Dial: dial("tcp", echo)})
	var omittedOps int64
	for _, iv := range r.Intervals {
		if iv.Omitted {
			omittedOps += iv.Ops
		}
	}
	if r.Ops == 0 || r.Latency == nil {
		t.Fatalf("rr -O: %d responses after -O (%d omitted), latency %+v", r.Ops, omittedOps, r.Latency)
	}
	if d := r.Latency.Count - r.Ops; d > r.Ops/50+2 || d < -r.Ops/50-2 {
		t.Fatalf("%d latencies for %d responses (%d omitted)", r.Latency.Count, r.Ops, omittedOps)
	}
}

// TestPacing: -b holds the rate within a generous band of the target
// (the machine is shared; never a tight budget), for tx, for rx (paced
// by the bench server) and for UDP echo.
func TestPacing(t *testing.T) {
	addr, _ := benchTCP(t)
	for _, tc := range []struct {
		mode string
		dial func(context.Context) (net.Conn, error)
	}{
		{TX, dial("tcp", addr)},
		{RX, dial("tcp", addr)},
		{UDP, dial("udp", sockittest.EchoUDP(t))},
	} {
		const target = 40_000_000
		cfg := Config{Mode: tc.mode, Conns: 2, Bitrate: target, Duration: time.Second, Size: 16 << 10, Dial: tc.dial}
		if tc.mode == UDP {
			cfg.Size = 1000
		}
		r := run(t, cfg)
		got := r.BitsPerSec / target
		if tc.mode == UDP {
			got = float64(r.UDP.Sent) * float64(cfg.Size) * 8 / r.Seconds / target
		}
		t.Logf("%s at -b %d: %.0f bit/s (%.2fx)", tc.mode, target, r.BitsPerSec, got)
		if got < 0.5 || got > 1.5 {
			t.Errorf("%s: %.2fx the target rate", tc.mode, got)
		}
	}
}

// TestTCPInfo: on Linux, tx intervals and summaries carry the sender's
// TCP_INFO, per stream and summed.
func TestTCPInfo(t *testing.T) {
	if !tcpsock.Supported {
		t.Skip("TCP_INFO is Linux's")
	}
	r := run(t, Config{Mode: TX, Conns: 2, Dial: dial("tcp", sink(t))})
	for _, iv := range r.Intervals {
		if iv.TCP == nil || iv.TCP.RTTUS <= 0 || iv.TCP.CwndBytes <= 0 || iv.TCP.MSS <= 0 || len(iv.Streams) != 2 || iv.Streams[0].TCP == nil {
			t.Fatalf("interval without TCP_INFO: %+v", iv)
		}
	}
	if r.TCP == nil || r.TCP.RTTUS <= 0 || r.Streams[1].TCP == nil {
		t.Fatalf("summary without TCP_INFO: %+v", r.TCP)
	}
	// Summed: retransmits and cwnd add up, round-trip times are the mean.
	a, b := r.Streams[0].TCP, r.Streams[1].TCP
	if r.TCP.Retransmits != a.Retransmits+b.Retransmits || r.TCP.CwndBytes != a.CwndBytes+b.CwndBytes ||
		math.Abs(r.TCP.RTTUS-(a.RTTUS+b.RTTUS)/2) > 1e-6 || math.Abs(r.TCP.RTTVarUS-(a.RTTVarUS+b.RTTVarUS)/2) > 1e-6 {
		t.Errorf("summary %+v is not the sum of its streams %+v and %+v", r.TCP, a, b)
	}
	js, _ := json.Marshal(r.Intervals[0])
	for _, k := range []string{`"rtt_us"`, `"rttvar_us"`, `"cwnd_bytes"`, `"retransmits"`} {
		if !strings.Contains(string(js), k) {
			t.Errorf("interval JSON lacks %s: %s", k, js)
		}
	}
}

// TestCongestionAndMSS: the client's socket options apply before
// connect (via Dial), and rx asks the server for the same algorithm.
func TestCongestionAndMSS(t *testing.T) {
	if !tcpsock.Supported {
		t.Skip("TCP_CONGESTION and TCP_MAXSEG are Linux's here")
	}
	if err := tcpsock.CheckCongestion("reno"); err != nil {
		t.Skip(err)
	}
	addr, _ := benchTCP(t)
	d := func(ctx context.Context) (net.Conn, error) {
		nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var err error
			rc.Control(func(fd uintptr) {
				if err = tcpsock.SetCongestionFD(fd, "reno"); err == nil {
					err = tcpsock.SetMSSFD(fd, 1000)
				}
			})
			return err
		}}
		return nd.DialContext(ctx, "tcp", addr)
	}
	r := run(t, Config{Mode: Bidir, Congestion: "reno", Dial: d})
	if r.TCP == nil || r.TCP.MSS > 1000 || r.TCP.MSS < 500 {
		t.Fatalf("--mss 1000: sender MSS %+v", r.TCP)
	}
	if rep := r.Streams[0].Receiver; rep == nil || rep.Congestion != "reno" || rep.TCP == nil || rep.TCP.MSS > 1000 {
		t.Fatalf("server side: %+v", rep)
	}
	if tcpsock.CheckCongestion("no-such-cc") == nil {
		t.Fatal("an unknown algorithm passed the check")
	}
}

// TestZeroCopy: tx with MSG_ZEROCOPY delivers every byte it counts, the
// kernel completes every send, and the bench server's report and the
// sender's TCP_INFO still come back (the socket is out of Go's poller).
func TestZeroCopy(t *testing.T) {
	if !ZeroCopy {
		t.Skip("MSG_ZEROCOPY is Linux's")
	}
	addr, _ := benchTCP(t)
	r := run(t, Config{Mode: TX, Conns: 2, ZeroCopy: true, Dial: dial("tcp", addr)})
	z := r.ZeroCopy
	if z == nil || z.Sends <= 0 || z.Completed != z.Sends || z.Copied > z.Completed || z.Sends != r.Ops {
		t.Fatalf("zerocopy %+v for %d writes", z, r.Ops)
	}
	if r.Receiver == nil || r.Receiver.Bytes != r.Bytes {
		t.Fatalf("sent %d, server report %+v", r.Bytes, r.Receiver)
	}
	if r.TCP == nil || r.Intervals[0].TCP == nil {
		t.Fatal("no TCP_INFO from the taken-over sockets")
	}
	t.Logf("zerocopy: %+v (loopback copies: %d of %d)", z, z.Copied, z.Completed)
	// Against a plain sink, with -n and -b.
	r = run(t, Config{Mode: TX, ZeroCopy: true, Count: 4 << 20, Bitrate: 200_000_000, Size: 64 << 10, Dial: dial("tcp", sink(t))})
	if r.Bytes != 4<<20 || r.ZeroCopy == nil || r.ZeroCopy.Completed != r.ZeroCopy.Sends {
		t.Fatalf("-n 4M: %d bytes, %+v", r.Bytes, r.ZeroCopy)
	}
}

// TestBenchServerTLS: over TLS, whose reads end with io.EOF at the
// client's close_notify (not nil, as splice's do), every mode still gets
// its report.
func TestBenchServerTLS(t *testing.T) {
	cfg, _, err := endpoint.TLSOptions{}.Server()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &server.Server{Handler: server.Bench}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	d := func(ctx context.Context) (net.Conn, error) {
		td := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}}
		return td.DialContext(ctx, "tcp", ln.Addr().String())
	}
	for _, mode := range []string{TX, RX, Bidir} {
		r := run(t, Config{Mode: mode, Dial: d})
		if r.Receiver == nil {
			t.Fatalf("%s over TLS: no report: %+v", mode, r)
		}
		if mode != RX && r.Receiver.Bytes != r.Bytes {
			t.Fatalf("%s over TLS: sent %d, the server received %d", mode, r.Bytes, r.Receiver.Bytes)
		}
	}
}

// TestPacedEchoCountWithLoss: paced udp echo with -n ends once the
// replies stop coming, not at -d (here ten minutes): a lost reply left
// the reader waiting for the run's end.
func TestPacedEchoCountWithLoss(t *testing.T) {
	relay := newMangler(t, sockittest.EchoUDP(t), 0)
	relay.mu.Lock()
	relay.dropOnly = true // drops 10k+3 (duplicates would make up the count)
	relay.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := Run(ctx, Config{Mode: UDP, Rate: 2000, Count: 300, Duration: 10 * time.Minute, Dial: dial("udp", relay.addr)})
	if err != nil {
		t.Fatalf("Run: %v (the reader waited for -d)", err)
	}
	if r.UDP.Sent != 300 || r.UDP.Lost < 20 || r.Seconds > 30 {
		t.Fatalf("%+v in %.1fs", r.UDP, r.Seconds)
	}
}

// lateConn delays its first read: the bench server's answer to the hello
// arrives late.
type lateConn struct {
	*net.TCPConn
	delay time.Duration
	once  sync.Once
}

func (c *lateConn) Read(b []byte) (int, error) {
	c.once.Do(func() { time.Sleep(c.delay) }) // the fault injected: a late answer
	return c.TCPConn.Read(b)
}

// TestLateAnswerStillCounted: in a -n run, one stream hears the bench
// server's answer only after txAnswerWait, while the other heard it in
// time. The late stream is a bench stream all the same: its report is
// read, and the server's count covers every byte sent. (Under load the
// late stream used to be taken for a plain sink and its count left out:
// "sent 10485760, received 6285760".)
func TestLateAnswerStillCounted(t *testing.T) {
	addr, _ := benchTCP(t)
	var n atomic.Int32
	d := func(ctx context.Context) (net.Conn, error) {
		c, err := dial("tcp", addr)(ctx)
		if err != nil || n.Add(1) != 2 {
			return c, err
		}
		return &lateConn{TCPConn: c.(*net.TCPConn), delay: txAnswerWait + 500*time.Millisecond}, nil
	}
	r, err := Run(context.Background(), Config{Mode: TX, Conns: 2, Size: 64 << 10, Count: 4 << 20, Duration: time.Minute, Dial: d})
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 0 {
		t.Fatalf("%d errors: %s", r.Errors, r.FirstError)
	}
	if r.Receiver == nil {
		t.Fatal("no receiver report")
	}
	if r.Bytes != 4<<20 || r.Receiver.Streams != 2 || r.Receiver.Bytes != 4<<20 {
		for _, s := range r.Streams {
			t.Logf("stream %d: sent %d, report %+v, error %q", s.ID, s.Bytes, s.Receiver, s.Error)
		}
		t.Fatalf("sent %d; the server reported %d streams, %d bytes", r.Bytes, r.Receiver.Streams, r.Receiver.Bytes)
	}
}

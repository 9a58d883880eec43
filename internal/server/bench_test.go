package server

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/bench/wire"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/session"
)

// These tests speak the bench protocol by hand, as docs/bench-protocol.md
// describes it, so that the server keeps to the document and not only to
// sockit's own client (package bench tests the two together).

func startBenchTCP(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Handler: Bench}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

func startBenchUDP(t *testing.T, sink event.Sink) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Handler: Bench, PacketBench: true, Sink: sink, Conn: session.Options{Sink: sink, NoData: true}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.ServePacketBench(ctx, []net.PacketConn{pc}); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return pc.LocalAddr().String()
}

// askBenchUDP sends msg, a control message, on c until an answer comes
// (datagrams may be lost), and returns the answer.
func askBenchUDP(t *testing.T, c net.Conn, msg []byte) wire.Message {
	t.Helper()
	buf := make([]byte, 2048)
	for try := 0; try < 20; try++ {
		c.Write(msg)
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if n, err := c.Read(buf); err == nil {
			m, err := wire.Parse(buf[:n])
			if err != nil {
				t.Fatalf("answer %q: %v", buf[:n], err)
			}
			return m
		}
	}
	t.Fatalf("no answer to %.40q", msg)
	return wire.Message{}
}

// readBenchLine reads one line from c.
func readBenchLine(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var line []byte
	b := make([]byte, 1)
	for {
		if _, err := c.Read(b); err != nil {
			t.Fatalf("reading a line: %v (so far %q)", err, line)
		}
		line = append(line, b[0])
		if b[0] == '\n' {
			return string(line)
		}
	}
}

func TestBenchProtocolTX(t *testing.T) {
	c, err := net.Dial("tcp", startBenchTCP(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The hello and the first data in one write, as a client may send.
	data := bytes.Repeat([]byte("x"), 100_000)
	c.Write(append([]byte(wire.Prefix+`HELLO {"mode":"tx","stream":0,"streams":1}`+"\n"), data[:1000]...))
	if l := readBenchLine(t, c); !strings.HasPrefix(l, wire.Prefix+"OK ") {
		t.Fatalf("answer %q", l)
	}
	c.Write(data[1000:])
	c.(*net.TCPConn).CloseWrite()
	m, err := wire.Parse([]byte(readBenchLine(t, c)))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := wire.ParseReport(m)
	if err != nil || rep.Bytes != int64(len(data)) || rep.Seconds <= 0 {
		t.Fatalf("report %+v %v; sent %d", rep, err, len(data))
	}
	if rest, _ := io.ReadAll(c); len(rest) != 0 {
		t.Fatalf("more after the report: %q", rest)
	}
}

func TestBenchProtocolRX(t *testing.T) {
	c, err := net.Dial("tcp", startBenchTCP(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(wire.Prefix + `HELLO {"mode":"rx","streams":1}` + "\n"))
	if l := readBenchLine(t, c); !strings.HasPrefix(l, wire.Prefix+"OK ") {
		t.Fatalf("answer %q", l)
	}
	buf := make([]byte, 1<<20)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if bytes.IndexByte(buf, '\n') >= 0 {
		t.Fatal("the data has a newline: the report could not be found after it")
	}
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	rest, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.IndexByte(rest, '\n')
	m, err := wire.Parse(rest[i+1:])
	if i < 0 || err != nil {
		t.Fatalf("no report after the data: %v, tail %q", err, rest[max(0, len(rest)-200):])
	}
	rep, err := wire.ParseReport(m)
	if err != nil || rep.SentBytes != int64(len(buf))+int64(i) || rep.Bytes != 0 {
		t.Fatalf("report %+v %v; read %d", rep, err, len(buf)+i)
	}
}

func TestBenchProtocolUDP(t *testing.T) {
	var mu sync.Mutex
	var evs []*event.Event
	addr := startBenchUDP(t, func(e *event.Event) { mu.Lock(); evs = append(evs, e); mu.Unlock() })
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ask := func(msg string) wire.Message {
		t.Helper()
		return askBenchUDP(t, c, append([]byte(msg), bytes.Repeat([]byte(" "), 600)...))
	}
	m := ask(wire.Prefix + `HELLO {"mode":"udp","streams":1,"omit_ns":1000}`)
	ack, err := wire.ParseAck(m)
	if err != nil || ack.Token == 0 {
		t.Fatalf("ack %+v %v", ack, err)
	}
	// 0..99, without 10 and 20, with 30 twice and 41 before 40; one
	// datagram sent before omit_ns is not counted.
	d := make([]byte, 64)
	send := func(seq uint64, ts int64) {
		wire.PutHeader(d, ack.Token, seq, ts)
		c.Write(d)
	}
	send(1000, 10)
	for s := uint64(0); s < 100; s++ {
		switch s {
		case 10, 20:
			continue
		case 30:
			send(s, 5000)
		case 40:
			send(41, 5000)
			send(40, 5000)
			continue
		case 41:
			continue
		}
		send(s, 5000)
	}
	wire.PutHeader(d, ack.Token+1, 5, 5000) // another stream's token: ignored
	c.Write(d)
	m = ask(wire.Prefix + `DONE {"token":` + strconv.FormatUint(uint64(ack.Token), 10) + `,"sent":100}`)
	rep, err := wire.ParseReport(m)
	if err != nil || rep.UDP == nil {
		t.Fatalf("report %+v %v", rep, err)
	}
	u := rep.UDP
	if u.Sent != 100 || u.Received != 98 || u.Lost != 2 || u.Duplicates != 1 || u.Reordered != 1 || rep.Bytes != 98*64 {
		t.Fatalf("report %+v, udp %+v", rep, u)
	}
	// A repeated DONE (our RESULT lost) gets the same report.
	m2 := ask(wire.Prefix + `DONE {"token":` + strconv.FormatUint(uint64(ack.Token), 10) + `,"sent":100}`)
	if !bytes.Equal(m2.Body, m.Body) {
		t.Fatalf("second report %s, first %s", m2.Body, m.Body)
	}
	mu.Lock()
	defer mu.Unlock()
	var opened, closed, stray bool
	for _, e := range evs {
		switch {
		case e.Kind == event.Connect:
			opened = true
		case e.Kind == event.Close && e.Reason == "test done":
			closed = true
		case e.Kind == event.Error && strings.Contains(e.Err, "another stream's token"):
			stray = true
		}
	}
	if !opened || !closed || !stray {
		t.Fatalf("events: open %v, close %v, stray logged %v", opened, closed, stray)
	}
}

// FuzzReadHello: no first bytes from a client panic the server; what it
// accepts is a valid hello, and what follows it is handed on whole.
func FuzzReadHello(f *testing.F) {
	for _, s := range []string{
		wire.Prefix + "HELLO {\"mode\":\"tx\",\"streams\":1}\nDATA",
		wire.Prefix + "HELLO {\"mode\":\"rr\",\"stream\":3,\"streams\":4,\"test\":\"ab\"}\n",
		"SOCKIT-BENCH/1 HEL",
		"SOCKIT-BENCH/2 HELLO {}\n",
		"GET / HTTP/1.1\r\n\r\n",
		"SOCKIT" + strings.Repeat("-", 2000),
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		a, b := net.Pipe()
		go func() {
			a.Write(in)
			a.Close()
		}()
		defer b.Close()
		h, rest, err := readHello(b)
		if err != nil {
			return
		}
		if h == nil {
			t.Fatal("no hello and no error")
		}
		i := bytes.IndexByte(in, '\n')
		if i < 0 || !bytes.HasPrefix(in[i+1:], rest) {
			t.Fatalf("rest %q is not what followed the hello in %q", rest, in)
		}
	})
}

// FuzzBenchDatagrams: no datagrams from a sender panic the UDP server or
// grow its memory past the bounds: one stream per sender, a fixed window.
func FuzzBenchDatagrams(f *testing.F) {
	hello := []byte(wire.Prefix + `HELLO {"mode":"udp","streams":1}` + strings.Repeat(" ", 200))
	f.Add(hello, []byte("x"), []byte(wire.Prefix+`DONE {"token":1,"sent":3}`))
	f.Add([]byte(wire.Prefix+"HELLO {"), make([]byte, 20), []byte{})
	f.Add(hello, bytes.Repeat([]byte{0xff}, 40), []byte(wire.Prefix+"RESULT {}"))
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		s := &Server{}
		s.init("udp")
		tab := &benchTable{fastSocket: fastSocket{s: s, local: pc.LocalAddr().String()}, pc: pc,
			streams: map[netip.AddrPort]*benchStream{}, finished: map[netip.AddrPort]*benchFinished{}}
		// Replies go to the discard port of 127.0.0.1: nobody there.
		from := netip.MustParseAddrPort("127.0.0.1:9")
		now := time.Now()
		for _, d := range [][]byte{a, b, c, a, b} {
			tab.datagram(from, d, now)
			now = now.Add(time.Millisecond)
		}
		if len(tab.streams) > 1 || len(tab.noted) > 1 || len(tab.finished) > 1 {
			t.Fatalf("%d streams, %d notes, %d finished from one sender", len(tab.streams), len(tab.noted), len(tab.finished))
		}
		for _, st := range tab.streams {
			if st.arr.Received > 5 {
				t.Fatalf("%d received of 5 datagrams", st.arr.Received)
			}
		}
	})
}

// A UDP bench server, like every server, ends by counting the refusals
// it did not log one by one (a flood of them is refusedBurst lines a
// second).
func TestBenchUDPRefusalSummary(t *testing.T) {
	var ev events
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Handler: Bench, PacketBench: true, MaxConns: 1, Sink: ev.sink, Conn: session.Options{Sink: ev.sink, NoData: true}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.ServePacketBench(ctx, []net.PacketConn{pc}); close(done) }()
	defer func() { cancel(); <-done }()
	hello := append([]byte(wire.Prefix+`HELLO {"mode":"udp","streams":1}`), bytes.Repeat([]byte(" "), 200)...)
	var clients [2]net.Conn
	for i := range clients {
		if clients[i], err = net.Dial("udp", pc.LocalAddr().String()); err != nil {
			t.Fatal(err)
		}
		defer clients[i].Close()
	}
	if m := askBenchUDP(t, clients[0], hello); m.Kind != wire.OK {
		t.Fatalf("first client: %s %s", m.Kind, m.Body)
	}
	// The second client is refused each time, the one stream allowed
	// being the first client's: a burst of hellos (small, so that the
	// sockets' buffers hold them all), each answered.
	for range 50 {
		clients[1].Write(hello)
	}
	buf := make([]byte, 2048)
	clients[1].SetReadDeadline(time.Now().Add(30 * time.Second))
	for range 50 {
		n, err := clients[1].Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if m, err := wire.Parse(buf[:n]); err != nil || m.Kind != wire.Err || !strings.Contains(string(m.Body), "busy: connection limit (1) reached") {
			t.Fatalf("second client: %q, %v", buf[:n], err)
		}
	}
	cancel()
	<-done
	lines, summary := ev.refusals()
	if srv.Refused() != 50 || lines < refusedBurst || lines >= 50 {
		t.Errorf("%d refusals, %d logged one by one; want 50, about %d", srv.Refused(), lines, refusedBurst)
	}
	if !strings.HasPrefix(summary, "50 peers refused in all, ") {
		t.Errorf("summary %q", summary)
	}
}

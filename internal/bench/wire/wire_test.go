package wire

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

func TestParseMessages(t *testing.T) {
	for _, tc := range []struct {
		in, kind string
		version  int
		err      string
	}{
		{"SOCKIT-BENCH/1 HELLO {\"mode\":\"tx\",\"streams\":1}\n", Hello, 1, ""},
		{"SOCKIT-BENCH/1 OK {}\r\n", OK, 1, ""},
		{"SOCKIT-BENCH/1 OK", OK, 1, ""},
		{"SOCKIT-BENCH/2 HELLO {}", Hello, 2, ""},
		{"SOCKIT-BENCH/1 ERR {\"error\":\"no\"}", Err, 1, ""},
		{"GET / HTTP/1.1\r\n", "", 0, "not a sockit bench message"},
		{"SOCKIT-BENCH/ HELLO {}", "", 0, "no protocol version"},
		{"SOCKIT-BENCH/x HELLO {}", "", 0, "bad protocol version"},
		{"SOCKIT-BENCH/0 HELLO {}", "", 0, "bad protocol version"},
		{"SOCKIT-BENCH/1 WHAT {}", "", 0, "unknown message kind"},
		{"SOCKIT-BENCH/1 HELLO [1]", "", 0, "not a JSON object"},
		{"SOCKIT-BENCH/1 HELLO " + strings.Repeat("x", MaxLine), "", 0, "at most"},
	} {
		m, err := Parse([]byte(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%.40q) = %v, want an error with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || m.Kind != tc.kind || m.Version != tc.version {
			t.Errorf("Parse(%.40q) = %+v, %v", tc.in, m, err)
		}
	}
}

func TestHello(t *testing.T) {
	good := HelloMsg{Mode: ModeRX, Test: "a1-b.c_d", Stream: 2, Streams: 3, Size: 1000, Bitrate: 1e6, Congestion: "bbr", OmitNS: 5}
	m, err := Parse(Format(Hello, good))
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseHello(m)
	if err != nil || *h != good {
		t.Fatalf("round trip: %+v, %v", h, err)
	}
	for _, body := range []string{
		`{"mode":"zz","streams":1}`,
		`{"mode":"tx","streams":0}`,
		`{"mode":"tx","stream":1,"streams":1}`,
		`{"mode":"tx","stream":-1,"streams":1}`,
		`{"mode":"tx","streams":1,"size":-1}`,
		`{"mode":"tx","streams":1,"size":99999999999}`,
		`{"mode":"tx","streams":1,"bitrate":-5}`,
		`{"mode":"tx","streams":1,"omit_ns":-5}`,
		`{"mode":"tx","streams":1,"test":"a b"}`,
		`{"mode":"tx","streams":1,"congestion":"BBR"}`,
		`{"mode":"tx","streams":1,"congestion":"../etc"}`,
		`{"mode":"tx","streams":"1"}`,
		`{"mode":"tx","streams":1`,
	} {
		m, err := Parse([]byte(Prefix + Hello + " " + body))
		if err != nil {
			continue // refused by the framing: fine too
		}
		if h, err := ParseHello(m); err == nil {
			t.Errorf("ParseHello(%s) accepted: %+v", body, h)
		}
	}
	// Another version is refused with a reason naming both.
	m, _ = Parse([]byte("SOCKIT-BENCH/2 HELLO {\"mode\":\"tx\",\"streams\":1}"))
	if _, err := ParseHello(m); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("version 2: %v", err)
	}
	// Unknown fields are ignored (a later version 1 peer may add some).
	m, _ = Parse([]byte(Prefix + `HELLO {"mode":"udp","streams":1,"future":true}`))
	if _, err := ParseHello(m); err != nil {
		t.Errorf("unknown field: %v", err)
	}
}

func TestOtherMessages(t *testing.T) {
	m, _ := Parse(Format(OK, AckMsg{Token: 7, Server: "sockit"}))
	if a, err := ParseAck(m); err != nil || a.Token != 7 {
		t.Errorf("ack %+v %v", a, err)
	}
	if _, err := ParseAck(Message{Version: 1, Kind: Hello, Body: []byte("{}")}); err == nil {
		t.Error("ParseAck took a HELLO")
	}
	m, _ = Parse(Format(Err, RefusalMsg{Error: "busy"}))
	if got := ParseRefusal(m); got != "busy" {
		t.Errorf("refusal %q", got)
	}
	m, _ = Parse(Format(Done, EndMsg{Token: 3, Sent: 10, Bytes: 1000}))
	if e, err := ParseEnd(m); err != nil || e.Sent != 10 {
		t.Errorf("end %+v %v", e, err)
	}
	m, _ = Parse([]byte(Prefix + `DONE {"sent":-1}`))
	if _, err := ParseEnd(m); err == nil {
		t.Error("negative sent accepted")
	}
	u := &UDP{Sent: 10, Received: 9}
	u.Finish()
	m, _ = Parse(Format(Result, ReportMsg{Bytes: 5, UDP: u}))
	if r, err := ParseReport(m); err != nil || r.UDP.Lost != 1 || r.UDP.LossPercent != 10 {
		t.Errorf("report %+v %v", r, err)
	}
}

func TestHeader(t *testing.T) {
	b := make([]byte, HeaderLen+3)
	PutHeader(b, 0xdeadbeef, 1<<40+5, -7)
	tok, seq, ts, ok := ParseHeader(b)
	if !ok || tok != 0xdeadbeef || seq != 1<<40+5 || ts != -7 {
		t.Fatalf("%x %d %d %v", tok, seq, ts, ok)
	}
	if _, _, _, ok := ParseHeader(b[:HeaderLen-1]); ok {
		t.Fatal("short header accepted")
	}
	if IsControl(b) || !IsControl([]byte(Prefix)) {
		t.Fatal("IsControl")
	}
	for i := 0; i < 1000; i++ {
		tok := NewToken()
		var hb [4]byte
		binary.BigEndian.PutUint32(hb[:], tok)
		if tok == 0 || IsControl(hb[:]) {
			t.Fatalf("token %x", tok)
		}
	}
}

func TestArrivals(t *testing.T) {
	a := NewArrivals(128)
	add := func(seqs ...uint64) {
		for _, s := range seqs {
			a.Add(s, int64(s)*1000, int64(s)*1000+50_000)
		}
	}
	add(0, 1, 2, 4, 3, 3, 5, 9)
	if a.Received != 7 || a.Duplicates != 1 || a.Reordered != 1 || a.Late != 0 {
		t.Fatalf("%+v", a)
	}
	u := a.UDP(10) // 0-9 sent, 6, 7 and 8 lost
	if u.Lost != 3 || u.LossPercent != 30 || u.JitterUS != 0 {
		t.Fatalf("%+v", u)
	}
	// Far ahead: the window moves; an old one is late, not a duplicate.
	add(1000, 3)
	if a.Late != 1 || a.Received != 9 || a.Duplicates != 1 {
		t.Fatalf("after a jump: %+v", a)
	}
	// Within the window after the jump: duplicates found again.
	add(1000, 999, 999)
	if a.Duplicates != 3 || a.Received != 10 {
		t.Fatalf("%+v", a)
	}
	// The memory is what NewArrivals made, whatever arrived.
	add(math.MaxUint64, 0, math.MaxUint64-1)
	if len(a.bits) != 2 {
		t.Fatalf("window grew to %d words", len(a.bits))
	}
}

// TestArrivalsJitter: a transit time that alternates 0 and 1 ms gives
// the RFC 3550 estimate, which tends to 1 ms.
func TestArrivalsJitter(t *testing.T) {
	a := NewArrivals(0)
	for i := int64(0); i < 1000; i++ {
		a.Add(uint64(i), i*1e6, i*1e6+(i%2)*1e6)
	}
	if j := a.JitterNS(); j < 0.99e6 || j > 1e6 {
		t.Fatalf("jitter %.0f ns, want about 1e6", j)
	}
	// A constant clock offset does not change it.
	b := NewArrivals(0)
	for i := int64(0); i < 1000; i++ {
		b.Add(uint64(i), i*1e6, i*1e6+(i%2)*1e6+5e9)
	}
	if b.JitterNS() != a.JitterNS() {
		t.Fatalf("offset changed jitter: %v vs %v", b.JitterNS(), a.JitterNS())
	}
}

func TestUDPAdd(t *testing.T) {
	u := &UDP{Sent: 100, Received: 90, JitterUS: 10}
	u.Add(&UDP{Sent: 100, Received: 10, JitterUS: 110, Duplicates: 2})
	if u.Sent != 200 || u.Received != 100 || u.Lost != 100 || u.LossPercent != 50 || u.Duplicates != 2 || u.JitterUS != 20 {
		t.Fatalf("%+v", u)
	}
}

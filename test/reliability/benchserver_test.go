package reliability

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/sockit/sockit/internal/sockittest"
)

// TestNetnsBenchServerOneWayLoss: one-way UDP from namespace B to a bench
// server (listen -u --bench) in A, whose side drops 5% of the arriving
// data datagrams (nftables numgen; the control messages, which start with
// "SOCK", pass): the loss the server reports is exactly what nftables
// dropped, though nothing came back to the sender.
func TestNetnsBenchServerOneWayLoss(t *testing.T) {
	t.Parallel()
	p := newNSPair(t)
	p.nft(p.a, `table inet sockit_t {
	chain in {
		type filter hook input priority 0; policy accept;
		iifname "`+p.vethA+`" meta l4proto udp @th,64,32 != 0x534f434b counter
		iifname "`+p.vethA+`" meta l4proto udp @th,64,32 != 0x534f434b numgen random mod 100 < 5 counter drop
	}
}
`)
	bin := sockittest.Binary(t)
	srv := sockittest.StartCmd(t, p.in(p.a, bin, "listen", "-u", "--bench", p.addrA+":0"))
	addr := srv.Addr()
	cmd := p.in(p.b, bin, "bench", "--mode", "udp", "--rate", "2000", "-d", "3s", "--json", "--interval", "0", "udp://"+addr)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench: %v\n%s", err, errb.String())
	}
	var s struct {
		Ops      int64 `json:"ops"`
		Receiver struct {
			UDP struct {
				Sent, Received, Lost int64
				LossPercent          float64 `json:"loss_percent"`
			} `json:"udp"`
		} `json:"receiver"`
	}
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, out.String())
	}
	c := p.counters(p.a)
	if len(c) != 2 || c[0] == 0 {
		t.Fatalf("nftables counters %v", c)
	}
	u := s.Receiver.UDP
	t.Logf("bench: sent %d; the server received %d, lost %d (%.2f%%); nftables dropped %d of %d data datagrams",
		s.Ops, u.Received, u.Lost, u.LossPercent, c[1], c[0])
	if u.Sent != s.Ops || u.Sent != c[0] || u.Lost != c[1] || u.Lost == 0 {
		t.Errorf("the server counted %d sent, %d lost; bench sent %d; nftables saw %d and dropped %d", u.Sent, u.Lost, s.Ops, c[0], c[1])
	}
}

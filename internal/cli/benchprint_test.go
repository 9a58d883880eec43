package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/sockit/sockit/internal/bench"
	"github.com/sockit/sockit/internal/bench/wire"
)

// TestBenchPrintGolden: the layout of bench's interval lines and
// summaries, for the modes whose lines differ: tx with TCP_INFO and a
// bench server's report, bidir with -O, one-way UDP, rr, and a merge.
func TestBenchPrintGolden(t *testing.T) {
	var out bytes.Buffer
	tcp := &wire.TCPInfo{RTTUS: 52, RTTVarUS: 9, CwndBytes: 1 << 20, Retransmits: 3, MSS: 65483}
	for _, c := range []struct {
		mode string
		ivs  []bench.Interval
		res  *bench.Result
	}{
		{bench.TX,
			[]bench.Interval{{Start: 0, End: 1, Bytes: 2 << 30, Bits: 17179869184, Ops: 16384, OpsRate: 16384, TCP: tcp}},
			&bench.Result{Mode: bench.TX, Conns: 2, Size: 131072, Seconds: 1, Bytes: 2 << 30, BitsPerSec: 17179869184, Ops: 16384, TCP: tcp, Congestion: "bbr",
				Server: "sockit-bench/1", Receiver: &bench.Receiver{Bytes: 2 << 30, Seconds: 1.001, BitsPerSec: 17162706477.5, Streams: 2},
				Streams: []bench.StreamResult{{ID: 0, Bytes: 1 << 30, BitsPerSec: 8589934592, TCP: tcp}, {ID: 1, Bytes: 1 << 30, BitsPerSec: 8589934592, TCP: tcp}}}},
		{bench.Bidir,
			[]bench.Interval{{Start: 0, End: 0.5, Omitted: true, Bytes: 1 << 20, Bits: 16777216, Ops: 8, OpsRate: 16, RecvBytes: 2 << 20, RecvBits: 33554432}},
			&bench.Result{Mode: bench.Bidir, Conns: 1, Size: 131072, Seconds: 2, OmitSeconds: 0.5, Bytes: 1 << 30, BitsPerSec: 4294967296, RecvBytes: 1 << 29, RecvBitsPerSec: 2147483648,
				Server: "sockit-bench/1", Receiver: &bench.Receiver{Bytes: 1 << 30, SentBytes: 1 << 29, Seconds: 2.5, BitsPerSec: 3435973836.8, Streams: 1, TCP: tcp}}},
		{bench.UDP,
			[]bench.Interval{{Start: 0, End: 1, Bytes: 125000, Bits: 1e6, Ops: 1953, OpsRate: 1953}},
			&bench.Result{Mode: bench.UDP, Conns: 1, Size: 64, Seconds: 1, Bytes: 125000, BitsPerSec: 1e6, Ops: 1953, OpsPerSec: 1953, Server: "sockit-bench/1",
				Receiver: &bench.Receiver{Bytes: 124800, Seconds: 1, BitsPerSec: 998400, Streams: 1, UDP: &wire.UDP{Sent: 1953, Received: 1950, Lost: 3, LossPercent: 0.1536, Reordered: 2, JitterUS: 12.5}}}},
		{bench.RR, nil,
			&bench.Result{Mode: bench.RR, Conns: 100, Size: 64, Depth: 1, Seconds: 5, Bytes: 64 << 20, BitsPerSec: 107374182.4, Ops: 1 << 20, OpsPerSec: 209715.2,
				Latency: &bench.Latency{Count: 1 << 20, Min: 11.5, Mean: 40, P50: 38.1, P90: 61.2, P99: 120.3, P999: 900.7, Max: 12345.6},
				Agents:  3, Hosts: []string{"web1", "web2", "web3"}, Errors: 1, FirstError: "connect: connection refused"}},
	} {
		p := &benchPrinter{w: &out, mode: c.mode}
		for _, iv := range c.ivs {
			p.interval(iv)
		}
		printSummary(&out, c.res)
		out.WriteString("\n")
	}
	golden := filepath.Join("testdata", "bench.golden")
	if *updateGolden {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("bench output:\n%s\nwant (%s; -update rewrites it):\n%s", out.String(), golden, want)
	}
}

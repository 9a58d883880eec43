package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/sockittest"
)

// ndjson renders results as bench --json prints them.
func ndjson(t *testing.T, rs ...*Result) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, r := range rs {
		for _, iv := range r.Intervals {
			enc.Encode(iv)
		}
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// TestMerge: three rr agents run at once; the merged summary sums their
// counts and rates, and its percentiles are those of their histograms
// merged.
func TestMerge(t *testing.T) {
	echo := sockittest.EchoTCP(t)
	var wg sync.WaitGroup
	rs := make([]*Result, 3)
	for i := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := Run(context.Background(), Config{Mode: RR, Conns: i + 1, Duration: 300 * time.Millisecond, Interval: 100 * time.Millisecond, Dial: dial("tcp", echo)})
			if err != nil {
				t.Error(err)
				return
			}
			rs[i] = r
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	sums, err := ReadSummaries(bytes.NewReader(ndjson(t, rs...)), "agents")
	if err != nil || len(sums) != 3 {
		t.Fatalf("%d summaries, %v", len(sums), err)
	}
	m, err := Merge(sums)
	if err != nil {
		t.Fatal(err)
	}
	want := hdrhistogram.New(1, histMax, 3)
	var ops int64
	var rate float64
	for _, r := range rs {
		ops += r.Ops
		rate += r.OpsPerSec
		h, err := hdrhistogram.Decode([]byte(r.Histogram))
		if err != nil {
			t.Fatal(err)
		}
		want.Merge(h)
	}
	if m.Agents != 3 || m.Conns != 6 || m.Ops != ops || m.OpsPerSec != rate || m.Latency.Count != ops {
		t.Fatalf("merged %+v; want ops %d, rate %v", m, ops, rate)
	}
	if p := percentiles(want); *p != *m.Latency {
		t.Fatalf("merged percentiles %+v, want %+v", m.Latency, p)
	}
	// A merged summary merges again (agents of agents).
	m2, err := Merge([]*Result{m, rs[0]})
	if err != nil || m2.Agents != 4 || m2.Latency.Count != ops+rs[0].Ops {
		t.Fatalf("merge of a merge: %+v %v", m2, err)
	}
}

func TestMergeUDP(t *testing.T) {
	a := &Result{Type: "summary", Version: 1, Mode: UDP, Conns: 1, Receiver: &Receiver{Streams: 1, UDP: &UDPStats{Sent: 100, Received: 90, JitterUS: 10}}}
	b := &Result{Type: "summary", Version: 1, Mode: UDP, Conns: 1, Receiver: &Receiver{Streams: 1, UDP: &UDPStats{Sent: 100, Received: 100, JitterUS: 21}}}
	m, err := Merge([]*Result{a, b})
	if err != nil {
		t.Fatal(err)
	}
	u := m.Receiver.UDP
	if u.Sent != 200 || u.Lost != 10 || u.LossPercent != 5 || u.JitterUS < 15.7 || u.JitterUS > 15.8 || m.Receiver.Streams != 2 {
		t.Fatalf("%+v", u)
	}
}

func TestMergeRefuses(t *testing.T) {
	h := newHist()
	h.RecordValue(1000)
	enc, _ := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	wide := hdrhistogram.New(1, 1<<62, 5)
	wide.RecordValue(5)
	wideEnc, _ := wide.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	for name, sums := range map[string][]*Result{
		"none":         nil,
		"two modes":    {{Mode: TX}, {Mode: RR}},
		"no histogram": {{Mode: RR, Latency: &Latency{P50: 1}}},
		"bad base64":   {{Mode: RR, Histogram: "!!"}},
		"wide":         {{Mode: RR, Histogram: string(wideEnc)}},
		"truncated":    {{Mode: RR, Histogram: string(enc[:20])}},
	} {
		if _, err := Merge(sums); err == nil || exitcode.Code(err) != exitcode.Usage {
			t.Errorf("%s: %v (want a usage error)", name, err)
		}
	}
}

func TestReadSummaries(t *testing.T) {
	in := `{"type":"interval","version":1,"start":0,"end":1}

{"type":"summary","version":1,"mode":"tx","bytes":5}
{"type":"summary","version":1,"mode":"tx","bytes":7}
`
	sums, err := ReadSummaries(strings.NewReader(in), "x")
	if err != nil || len(sums) != 2 || sums[1].Bytes != 7 {
		t.Fatalf("%v %v", sums, err)
	}
	for _, bad := range []string{
		"not json\n",
		`{"type":"summary","version":2,"mode":"tx"}`,
		`{"type":"other","version":1}`,
		`{"type":"summary","version":1,"bytes":"many"}`,
	} {
		_, err := ReadSummaries(strings.NewReader(bad), "in")
		if err == nil || !strings.Contains(err.Error(), "in:1") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// FuzzMerge: no input makes ReadSummaries or Merge panic, and a merge
// that succeeds adds up.
func FuzzMerge(f *testing.F) {
	h := newHist()
	h.RecordValue(12345)
	enc, _ := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	f.Add([]byte(`{"type":"summary","version":1,"mode":"rr","ops":3,"latency_histogram":"` + string(enc) + `"}` + "\n" +
		`{"type":"summary","version":1,"mode":"rr","ops":4,"latency_histogram":"` + string(enc) + `"}`))
	f.Add([]byte(`{"type":"summary","version":1,"mode":"udp","receiver":{"udp":{"sent":10,"received":3}}}`))
	f.Add([]byte(`{"type":"interval","version":1}` + "\n" + `{"type":"summary","version":1,"mode":"tx","tcp":{"rtt_us":3}}`))
	f.Add([]byte(`{"type":"summary","version":1,"mode":"rr","latency_histogram":"HISTFAAAAB"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		sums, err := ReadSummaries(bytes.NewReader(in), "fuzz")
		if err != nil {
			return
		}
		m, err := Merge(sums)
		if err != nil {
			return
		}
		var ops int64
		for _, s := range sums {
			ops += s.Ops
		}
		if m.Ops != ops {
			t.Fatalf("merged ops %d, sum %d", m.Ops, ops)
		}
	})
}

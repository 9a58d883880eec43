package bench

import (
	"sync"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// histograms are latency histograms shared by the connections in a few
// shards: one HDR histogram per connection would cost hundreds of KiB
// each at 1,000 connections, one for all would be a point of contention.
type histograms struct{ shards []*shard }

type shard struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
	_  [40]byte
}

// Latencies from 1 ns to 100 s, to 3 significant digits.
const histMax = int64(100e9)

func newHistograms(conns int) *histograms {
	n := min(conns, 16)
	hs := &histograms{shards: make([]*shard, n)}
	for i := range hs.shards {
		hs.shards[i] = &shard{h: newHist()}
	}
	return hs
}

func (hs *histograms) shard(i int) *shard { return hs.shards[i%len(hs.shards)] }

// record adds one latency in nanoseconds.
func (s *shard) record(ns int64) {
	if ns < 1 {
		ns = 1
	} else if ns > histMax {
		ns = histMax
	}
	s.mu.Lock()
	s.h.RecordValue(ns)
	s.mu.Unlock()
}

// latency merges the shards into the summary's percentiles and the
// histogram's encoding (see Result.Histogram).
func (hs *histograms) latency() (*Latency, string) {
	all := newHist()
	for _, s := range hs.shards {
		s.mu.Lock()
		all.Merge(s.h)
		s.mu.Unlock()
	}
	if all.TotalCount() == 0 {
		return nil, ""
	}
	enc, err := all.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		enc = nil // the percentiles stand without it
	}
	return percentiles(all), string(enc)
}

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, histMax, 3) }

// percentiles reads the summary figures off a histogram of nanoseconds.
func percentiles(all *hdrhistogram.Histogram) *Latency {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	return &Latency{
		Count: all.TotalCount(),
		Min:   us(all.Min()),
		Mean:  all.Mean() / 1e3,
		P50:   us(all.ValueAtQuantile(50)),
		P90:   us(all.ValueAtQuantile(90)),
		P99:   us(all.ValueAtQuantile(99)),
		P999:  us(all.ValueAtQuantile(99.9)),
		Max:   us(all.Max()),
	}
}

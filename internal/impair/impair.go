// Package impair makes a connection behave like a bad network on purpose,
// for `sockit relay --impair` and for sockit's own fault tests: delay and
// jitter, a rate limit, loss, duplication and reordering of datagrams, and
// on streams writes split into small segments, a reset or a stall after so
// many bytes. It works as wrappers: Conn wraps a net.Conn, PacketConn a
// net.PacketConn, so whatever moves data through them (a relay, a test)
// needs no change.
//
// Faults act on what is written through a wrapper (a relay wraps both of its
// sides, so each direction is impaired once); reset-after and stall-after
// count the bytes moved both ways. Randomness comes from a seeded generator
// so that a failing run can be repeated.
//
// It does not do what the kernel does better: loss on TCP (a real lost
// segment is retransmitted, so the stream stays whole: use nftables, or
// reset-after and stall-after for the faults a program sees) and MTU or
// congestion modelling.
package impair

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/units"
)

// Spec is a set of faults. The zero value injects none.
type Spec struct {
	Delay  time.Duration // added to every write (each direction once)
	Jitter time.Duration // the delay varies uniformly by ± this much; order is kept
	Rate   int64         // bytes per second, 0 for no limit

	Loss    float64 // datagrams: fraction dropped (0.02 for 2%)
	Dup     float64 // datagrams: fraction sent twice
	Reorder float64 // datagrams: fraction held back and sent after the next one

	ChunkMin, ChunkMax int   // streams: split writes into segments of this many bytes (0: whole)
	ResetAfter         int64 // streams: reset (RST) once this many bytes have moved, 0 never
	StallAfter         int64 // streams: stop moving data, keeping the connection open, after this many bytes, 0 never

	Seed uint64 // seeds the random choices; the same seed repeats a run

	// Counters, if set, counts what the faults did, across every wrapper
	// given this Spec.
	Counters *Counters
}

// Counters count the faults injected. All fields are safe to read while
// the wrappers run.
type Counters struct {
	Datagrams  atomic.Int64 // datagrams written through a wrapper
	Lost       atomic.Int64 // dropped by loss=
	Duplicated atomic.Int64 // sent twice by dup=
	Reordered  atomic.Int64 // overtaken by the next datagram (reorder=)
	Overflow   atomic.Int64 // dropped because the delay queue was full
	Resets     atomic.Int64 // connections reset by reset-after=
	Stalls     atomic.Int64 // connections stalled by stall-after=
}

// Limits of what Parse accepts.
const (
	maxDelay = time.Hour
	maxChunk = 1 << 20
)

// Opt is the option whose value Parse reads, as its errors name it (see
// fail.Option).
const Opt fail.Option = "impair"

const keys = "delay=100ms, jitter=20ms, rate=1mbit (both); loss=2%, dup=1%, reorder=1% (UDP); chunk=1-16, reset-after=1MB, stall-after=64k (TCP)"

func bad(format string, args ...any) error {
	return fail.Inputf("bad %s: %s", Opt, fail.Inputf(format, args...)).WithHint("Note that %s takes KEY=VALUE,…: %s", Opt, keys)
}

// Parse reads a spec such as "delay=100ms,jitter=20ms,rate=1mbit" or
// "loss=2%,dup=1%,reorder=1%" or "chunk=1-16,reset-after=1MB". Errors are
// *exitcode.UsageError values naming the bad item.
func Parse(s string) (Spec, error) {
	var sp Spec
	if strings.TrimSpace(s) == "" {
		return sp, bad("empty spec")
	}
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return sp, bad("empty item in %q", s)
		}
		k, v, ok := strings.Cut(item, "=")
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if !ok || v == "" {
			return sp, bad("%q needs a value (KEY=VALUE)", item)
		}
		if seen[k] {
			return sp, bad("%q given twice", k)
		}
		seen[k] = true
		var err error
		switch k {
		case "delay":
			sp.Delay, err = parseDuration(k, v)
		case "jitter":
			sp.Jitter, err = parseDuration(k, v)
		case "rate":
			sp.Rate, err = parseRate(v)
		case "loss":
			sp.Loss, err = parsePercent(k, v)
		case "dup", "duplicate":
			sp.Dup, err = parsePercent(k, v)
		case "reorder":
			sp.Reorder, err = parsePercent(k, v)
		case "chunk":
			sp.ChunkMin, sp.ChunkMax, err = parseChunk(v)
		case "reset-after":
			sp.ResetAfter, err = parseCount(k, v)
		case "stall-after":
			sp.StallAfter, err = parseCount(k, v)
		default:
			return sp, bad("unknown fault %q", k)
		}
		if err != nil {
			return sp, err
		}
	}
	return sp, nil
}

func parseDuration(k, v string) (time.Duration, error) {
	if v == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, bad("%q is not a duration (use 100ms, 1.5s)", k+"="+v)
	}
	if d < 0 || d > maxDelay {
		return 0, bad("%q is out of range (0 to 1h)", k+"="+v)
	}
	return d, nil
}

// parseRate reads bits per second as tc and iperf3 write them
// (100kbit, 10mbit, 1gbit, 100Mbit/s, 500Mbps: powers of 1000, see
// units.ParseBitrate) or bytes per second as sizes (64k/s, 1MB/s:
// powers of 1024, as everywhere else in sockit). A bare number is
// refused: it could be either. So is "bps" (10mbps): tc reads it as
// bytes per second, iperf3 and most people as bits.
func parseRate(v string) (int64, error) {
	l := strings.ToLower(v)
	var bytes float64
	switch {
	case strings.HasSuffix(l, "bps"):
		return 0, bad("%q: tc reads bps as bytes per second, others as bits: write %sbit (bits) or %s/s (bytes)", "rate="+v, strings.TrimSuffix(l, "bps"), strings.ToUpper(strings.TrimSuffix(l, "bps")))
	case units.HasBitUnit(l): // before "/s": 10mbit/s is bits
		bits, err := units.ParseBitrate(l)
		if err != nil {
			return 0, bad("%q: use 100kbit, 10mbit, 1gbit or bytes per second such as 64k/s", "rate="+v)
		}
		bytes = float64(bits) / 8
	case strings.HasSuffix(l, "/s"):
		n, err := units.ParseSize(strings.TrimSuffix(l, "/s"))
		if err != nil || n <= 0 || n > 1<<40 {
			return 0, bad("%q: use bytes per second such as 64k/s, 1MB/s, or bits such as 10mbit", "rate="+v)
		}
		bytes = float64(n)
	default:
		return 0, bad("%q needs a unit: 100kbit, 10mbit, 1gbit (bits per second) or 64k/s, 1MB/s (bytes)", "rate="+v)
	}
	if bytes < 1 {
		return 0, bad("%q is below 1 byte per second", "rate="+v)
	}
	return int64(bytes), nil
}

func parsePercent(k, v string) (float64, error) {
	num, ok := strings.CutSuffix(v, "%")
	if !ok {
		return 0, bad("%q needs a percentage, such as %s=2%%", k+"="+v, k)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || !(f >= 0 && f <= 100) {
		return 0, bad("%q is not a percentage from 0%% to 100%%", k+"="+v)
	}
	return f / 100, nil
}

func parseChunk(v string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(v, "-")
	x, err1 := units.ParseSize(a)
	y := x
	var err2 error
	if isRange {
		y, err2 = units.ParseSize(b)
	}
	if err1 != nil || err2 != nil || x < 1 || y < x || y > maxChunk {
		return 0, 0, bad("%q: use N or MIN-MAX bytes, 1 to 1M, such as chunk=1-16", "chunk="+v)
	}
	return int(x), int(y), nil
}

func parseCount(k, v string) (int64, error) {
	n, err := units.ParseSize(v)
	if err != nil || n < 1 {
		return 0, bad("%q: use a size of at least 1 byte, such as %s=1MB or 64k", k+"="+v, k)
	}
	return n, nil
}

// Check reports faults that do not apply to this kind of connection: loss,
// dup and reorder are for datagrams, chunk, reset-after and stall-after for
// streams. It returns a usage error naming them.
func (s Spec) Check(packet bool) error {
	var wrong []string
	if packet {
		if s.ChunkMax > 0 {
			wrong = append(wrong, "chunk")
		}
		if s.ResetAfter > 0 {
			wrong = append(wrong, "reset-after")
		}
		if s.StallAfter > 0 {
			wrong = append(wrong, "stall-after")
		}
		if len(wrong) > 0 {
			return fail.Inputf("%s %s applies to TCP streams, not UDP", Opt, strings.Join(wrong, ", ")).WithHint("Note that a datagram is never split and UDP has no connection to reset; try loss=, dup=, reorder=.")
		}
		return nil
	}
	if s.Loss > 0 {
		wrong = append(wrong, "loss")
	}
	if s.Dup > 0 {
		wrong = append(wrong, "dup")
	}
	if s.Reorder > 0 {
		wrong = append(wrong, "reorder")
	}
	if len(wrong) > 0 {
		return fail.Inputf("%s %s applies to UDP datagrams, not TCP streams", Opt, strings.Join(wrong, ", ")).WithHint("Note that TCP retransmits what a network loses, so a program never sees loss; try reset-after=, stall-after= or chunk=.")
	}
	return nil
}

// IsZero reports whether the spec injects no fault.
func (s Spec) IsZero() bool {
	return s.Delay == 0 && s.Jitter == 0 && s.Rate == 0 && s.Loss == 0 && s.Dup == 0 &&
		s.Reorder == 0 && s.ChunkMax == 0 && s.ResetAfter == 0 && s.StallAfter == 0
}

// String is the spec in Parse's syntax, without the seed.
func (s Spec) String() string {
	var b []string
	add := func(k, v string) { b = append(b, k+"="+v) }
	if s.Delay > 0 {
		add("delay", s.Delay.String())
	}
	if s.Jitter > 0 {
		add("jitter", s.Jitter.String())
	}
	if s.Rate > 0 {
		add("rate", strconv.FormatInt(s.Rate, 10)+"/s")
	}
	pct := func(k string, f float64) {
		if f > 0 {
			add(k, strconv.FormatFloat(f*100, 'g', -1, 64)+"%")
		}
	}
	pct("loss", s.Loss)
	pct("dup", s.Dup)
	pct("reorder", s.Reorder)
	if s.ChunkMax > 0 {
		if s.ChunkMin == s.ChunkMax {
			add("chunk", strconv.Itoa(s.ChunkMin))
		} else {
			add("chunk", strconv.Itoa(s.ChunkMin)+"-"+strconv.Itoa(s.ChunkMax))
		}
	}
	if s.ResetAfter > 0 {
		add("reset-after", strconv.FormatInt(s.ResetAfter, 10))
	}
	if s.StallAfter > 0 {
		add("stall-after", strconv.FormatInt(s.StallAfter, 10))
	}
	return strings.Join(b, ",")
}

// Rand returns the random source for the stream'th wrapper of a run (a
// relay numbers its connections), so that with the same Seed every
// connection makes the same choices again.
func (s Spec) Rand(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(s.Seed, stream))
}

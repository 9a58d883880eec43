// Package bench loads a server and measures it, as iperf3, tcpkali and
// sockperf do: throughput one way (tx, rx), request/response rate and
// latency (rr), connection rate (connect), and UDP datagram round trips
// with loss, reordering, duplicates and jitter (udp).
//
// The load generator must never be what limits the figures: one goroutine
// per connection (two for paced UDP), buffers made once per connection, no
// allocation per request, latencies into a few shared HDR histograms.
//
// It does not parse flags or print; the CLI renders Result and Interval.
package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockit/sockit/internal/fail"
)

// Modes.
const (
	TX      = "tx"      // send as fast as possible (to a discard server)
	RX      = "rx"      // receive as fast as possible (from a source server)
	RR      = "rr"      // request/response against an echo server
	Connect = "connect" // open and close connections
	UDP     = "udp"     // datagrams to an echo server
)

// The options this package's errors name (see fail.Option).
const (
	OptMode  fail.Option = "mode"
	OptSize  fail.Option = "size"
	OptDepth fail.Option = "depth"
	OptRate  fail.Option = "rate"
)

// Config describes one run. Zero fields take the defaults noted.
type Config struct {
	Mode     string
	Conns    int           // connections (UDP: sockets); default 1
	Duration time.Duration // default 10s
	Size     int           // bytes per write (tx), read (rx), request (rr), datagram (udp); default 128 KiB for tx/rx, 64 otherwise
	Depth    int           // requests in flight per connection (rr, udp); default 1
	Rate     int           // udp: datagrams per second over all sockets; 0 sends as fast as Depth allows
	Interval time.Duration // report every Interval; 0 never
	// Goroutines runs rr with a goroutine per connection even where
	// event loops could (small requests over bare TCP or Unix sockets).
	Goroutines bool
	// NoTrains sends every UDP datagram with its own system call instead
	// of each window as one UDP_SEGMENT train (Linux).
	NoTrains bool

	// Dial opens one connection (for udp: a connected UDP socket). Required.
	Dial func(ctx context.Context) (net.Conn, error)

	// Report, if set, is called after each Interval.
	Report func(Interval)
	// Progress, if set, is called about four times a second with the
	// time run so far and the totals so far (for a progress line).
	Progress func(elapsed time.Duration, bytes, ops int64)
}

// Interval is the traffic of one reporting interval.
type Interval struct {
	Start   float64 `json:"start"` // seconds since the run began
	End     float64 `json:"end"`
	Bytes   int64   `json:"bytes"`
	Bits    float64 `json:"bits_per_second"`
	Ops     int64   `json:"ops"`
	OpsRate float64 `json:"ops_per_second"`
}

// Result is a run's summary.
type Result struct {
	Mode       string     `json:"mode"`
	Target     string     `json:"target,omitempty"`
	Conns      int        `json:"connections"`
	Size       int        `json:"size"`
	Depth      int        `json:"depth,omitempty"`
	Seconds    float64    `json:"seconds"`
	Bytes      int64      `json:"bytes"` // payload bytes: sent (tx), received (rx, rr, udp)
	BitsPerSec float64    `json:"bits_per_second"`
	Ops        int64      `json:"ops"` // responses (rr), connections (connect), replies (udp), writes/reads (tx/rx)
	OpsPerSec  float64    `json:"ops_per_second"`
	Latency    *Latency   `json:"latency_us,omitempty"`
	UDP        *UDPStats  `json:"udp,omitempty"`
	Errors     int64      `json:"errors"`
	FirstError string     `json:"first_error,omitempty"`
	Intervals  []Interval `json:"intervals,omitempty"`
}

// Latency is in microseconds.
type Latency struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	Max   float64 `json:"max"`
}

// UDPStats are the datagram counts of a udp run.
type UDPStats struct {
	Sent        int64   `json:"sent"`
	Received    int64   `json:"received"`
	Lost        int64   `json:"lost"`
	LossPercent float64 `json:"loss_percent"`
	Reordered   int64   `json:"reordered"`
	Duplicates  int64   `json:"duplicates"`
	JitterUS    float64 `json:"jitter_us"` // RFC 3550 interarrival jitter of the round trips
}

// worker is one connection's counters, read by the reporter while the
// worker runs. Padded so that workers on different cores do not share a
// cache line.
type worker struct {
	bytes atomic.Int64
	ops   atomic.Int64
	_     [48]byte

	sentAtomic atomic.Int64 // datagrams sent, read by a paced sender's receiver

	// Owned by the worker until it returns.
	err                   error
	errs                  int64
	sent, recv            int64
	reordered, duplicates int64
	jitter                float64
}

// Check reports what Run would refuse in c (a bad mode, a size the mode
// cannot carry) without running anything, so that a front end can refuse
// it before printing a header.
func (c Config) Check() error { return c.setDefaults() }

func (c *Config) setDefaults() error {
	switch c.Mode {
	case TX, RX, RR, Connect, UDP:
	case "":
		c.Mode = TX
	default:
		return fail.Inputf("bad %s %q: want tx, rx, rr, connect or udp", OptMode, c.Mode)
	}
	if c.Conns <= 0 {
		c.Conns = 1
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Size <= 0 {
		c.Size = 64
		if c.Mode == TX || c.Mode == RX {
			c.Size = 128 << 10
		}
	}
	if c.Mode == UDP {
		if c.Size < udpHeader {
			return fail.Inputf("%s %d is too small for udp mode: each datagram carries a %d-byte sequence number and timestamp", OptSize, c.Size, udpHeader)
		}
		if c.Size > 65507 {
			return fail.Inputf("%s %d is larger than a UDP datagram can be (65507)", OptSize, c.Size)
		}
	}
	if c.Size > 64<<20 {
		return fail.Inputf("%s %d is too large (64 MiB at most)", OptSize, c.Size)
	}
	if c.Depth <= 0 {
		c.Depth = 1
	}
	if c.Depth > 4096 {
		return fail.Inputf("%s %d is too large (4096 at most)", OptDepth, c.Depth)
	}
	if c.Rate < 0 {
		return fail.Inputf("%s must not be negative", OptRate)
	}
	if c.Dial == nil {
		return errors.New("bench: no Dial function")
	}
	return nil
}

// Run runs the benchmark until Duration has passed or ctx is cancelled,
// and returns the summary. Connections that fail to open fail the run;
// errors during the run are counted in the result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	workers := make([]*worker, cfg.Conns)
	for i := range workers {
		workers[i] = &worker{}
	}
	var conns []net.Conn
	if cfg.Mode != Connect {
		var err error
		if conns, err = dialAll(ctx, cfg); err != nil {
			return nil, err
		}
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
	}

	hist := newHistograms(cfg.Conns)
	start := time.Now()
	end := start.Add(cfg.Duration)
	runCtx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	// Closing is how a blocked read is unblocked when ctx is cancelled
	// early; at the deadline, connection deadlines do it.
	stop := context.AfterFunc(ctx, func() {
		for _, c := range conns {
			c.SetDeadline(time.Now())
		}
	})
	defer stop()

	var wg sync.WaitGroup
	if cfg.Mode == RR && cfg.Size*cfg.Depth <= 4096 && !cfg.Goroutines && loopable(conns) {
		// Small requests: event loops (see rrloop_linux.go).
		r := &runner{cfg: &cfg, start: start, end: end, ctx: runCtx}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.rrLoops(conns, workers, hist)
		}()
	} else {
		for i, w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := &runner{cfg: &cfg, w: w, h: hist.shard(i), start: start, end: end, ctx: runCtx}
				switch cfg.Mode {
				case TX:
					r.tx(conns[i])
				case RX:
					r.rx(conns[i])
				case RR:
					r.rr(conns[i])
				case Connect:
					r.connect()
				case UDP:
					r.udp(conns[i], cfg.Conns)
				}
			}()
		}
	}

	res := &Result{Mode: cfg.Mode, Conns: cfg.Conns, Size: cfg.Size}
	if cfg.Mode == RR || cfg.Mode == UDP {
		res.Depth = cfg.Depth
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	report(cfg, workers, start, finished, res)
	elapsed := time.Since(start)
	if elapsed > cfg.Duration && ctx.Err() == nil {
		elapsed = cfg.Duration // draining UDP stragglers is not run time
	}
	summarize(res, workers, hist, elapsed)
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	if res.Ops == 0 && res.Bytes == 0 && res.Errors > 0 {
		return res, fmt.Errorf("bench: nothing got through: %s", res.FirstError)
	}
	return res, nil
}

// dialAll opens the connections, up to 64 at a time.
func dialAll(ctx context.Context, cfg Config) ([]net.Conn, error) {
	conns := make([]net.Conn, cfg.Conns)
	sem := make(chan struct{}, 64)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for i := range conns {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := cfg.Dial(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = err
				}
				return
			}
			conns[i] = c
		}()
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			break
		}
	}
	wg.Wait()
	if first != nil {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		return nil, first
	}
	return conns, nil
}

// report calls the interval and progress hooks until the workers finish.
func report(cfg Config, workers []*worker, start time.Time, finished <-chan struct{}, res *Result) {
	progress := time.NewTicker(250 * time.Millisecond)
	defer progress.Stop()
	var interval <-chan time.Time
	if cfg.Interval > 0 {
		t := time.NewTicker(cfg.Interval)
		defer t.Stop()
		interval = t.C
	}
	var lastBytes, lastOps int64
	lastT := 0.0
	sum := func() (b, o int64) {
		for _, w := range workers {
			b += w.bytes.Load()
			o += w.ops.Load()
		}
		return b, o
	}
	emit := func(now time.Time) {
		b, o := sum()
		t := min(now.Sub(start), cfg.Duration).Seconds()
		if t-lastT < 0.001 {
			return
		}
		iv := Interval{Start: lastT, End: t, Bytes: b - lastBytes, Ops: o - lastOps}
		iv.Bits = float64(iv.Bytes) * 8 / (t - lastT)
		iv.OpsRate = float64(iv.Ops) / (t - lastT)
		lastBytes, lastOps, lastT = b, o, t
		res.Intervals = append(res.Intervals, iv)
		if cfg.Report != nil {
			cfg.Report(iv)
		}
	}
	for {
		select {
		case <-finished:
			// A last partial interval, as iperf3 prints.
			if cfg.Interval > 0 && time.Since(start).Seconds()-lastT > cfg.Interval.Seconds()/10 {
				emit(time.Now())
			}
			return
		case now := <-interval:
			emit(now)
		case now := <-progress.C:
			if cfg.Progress != nil {
				b, o := sum()
				cfg.Progress(now.Sub(start), b, o)
			}
		}
	}
}

func summarize(res *Result, workers []*worker, hist *histograms, elapsed time.Duration) {
	res.Seconds = elapsed.Seconds()
	var jitterSum float64
	var jitterN int
	for _, w := range workers {
		res.Bytes += w.bytes.Load()
		res.Ops += w.ops.Load()
		res.Errors += w.errs
		if w.err != nil && res.FirstError == "" {
			res.FirstError = w.err.Error()
		}
		if res.Mode == UDP {
			if res.UDP == nil {
				res.UDP = &UDPStats{}
			}
			res.UDP.Sent += w.sent
			res.UDP.Received += w.recv
			res.UDP.Reordered += w.reordered
			res.UDP.Duplicates += w.duplicates
			if w.recv > 1 {
				jitterSum += w.jitter
				jitterN++
			}
		}
	}
	if res.Seconds > 0 {
		res.BitsPerSec = float64(res.Bytes) * 8 / res.Seconds
		res.OpsPerSec = float64(res.Ops) / res.Seconds
	}
	if u := res.UDP; u != nil {
		u.Lost = max(u.Sent-u.Received, 0)
		if u.Sent > 0 {
			u.LossPercent = 100 * float64(u.Lost) / float64(u.Sent)
		}
		if jitterN > 0 {
			u.JitterUS = jitterSum / float64(jitterN) / 1e3
		}
	}
	if res.Mode == RR || res.Mode == UDP || res.Mode == Connect {
		res.Latency = hist.latency()
	}
}

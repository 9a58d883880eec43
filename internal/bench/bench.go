// Package bench loads a server and measures it, as iperf3, tcpkali and
// sockperf do: throughput one way (tx, rx) or both (bidir), request/
// response rate and latency (rr), connection rate (connect), and UDP
// datagrams with loss, reordering, duplicates and jitter (udp).
//
// Against plain peers (a discard, source or echo server) it measures what
// it can see from its own end. Against a sockit bench server (listen
// --bench) each connection first says hello (package wire) and the server
// reports what it counted: one-way UDP then gets the receiver's loss and
// jitter, as iperf3 -u does.
//
// The load generator must never be what limits the figures: one goroutine
// per connection (two for paced UDP and for bidir), buffers made once per
// connection, no allocation per request, latencies into a few shared HDR
// histograms.
//
// It does not parse flags or print; the CLI renders Result and Interval
// (json.go says how they look as NDJSON).
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockit/sockit/internal/bench/wire"
	"github.com/sockit/sockit/internal/fail"
)

// Modes.
const (
	TX      = "tx"      // send as fast as possible (to a discard server)
	RX      = "rx"      // receive as fast as possible (from a source server)
	Bidir   = "bidir"   // both at once on each connection
	RR      = "rr"      // request/response against an echo server
	Connect = "connect" // open and close connections
	UDP     = "udp"     // datagrams to an echo server, or one way to a bench server
)

// The options this package's errors name (see fail.Option).
const (
	OptMode     fail.Option = "mode"
	OptSize     fail.Option = "size"
	OptDepth    fail.Option = "depth"
	OptRate     fail.Option = "rate"
	OptBitrate  fail.Option = "bitrate"
	OptCount    fail.Option = "count"
	OptOmit     fail.Option = "omit"
	OptZeroCopy fail.Option = "zerocopy"
)

// Modes lists the modes, for flags and messages.
var Modes = []string{TX, RX, Bidir, RR, Connect, UDP}

// DefaultOneWayBitrate is what one-way UDP sends at when neither Rate nor
// Bitrate is set, as iperf3 -u does: without replies there is nothing to
// slow a sender down but loss.
const DefaultOneWayBitrate = 1_000_000

// maxStreamsShown bounds the per-stream entries of intervals and
// summaries.
const maxStreamsShown = 128

// Config describes one run. Zero fields take the defaults noted.
type Config struct {
	Mode     string
	Conns    int           // connections (UDP: sockets); default 1
	Duration time.Duration // default 10s; with Count, at most this long (default 24h)
	Size     int           // bytes per write (tx), read (rx), request (rr), datagram (udp); default 128 KiB for tx/rx/bidir, 64 otherwise
	Depth    int           // requests in flight per connection (rr, udp echo); default 1
	Rate     int           // udp: datagrams per second over all sockets; 0 sends as fast as Depth allows
	Interval time.Duration // report every Interval; 0 never

	// Count ends the run after this many bytes (tx, rx, bidir: sent), requests
	// (rr), datagrams (udp) or connections (connect) over all connections,
	// not counting those of the Omit period.
	Count int64
	// Omit runs this long first without counting it (TCP's slow start),
	// then Duration more.
	Omit time.Duration
	// Bitrate paces the sending, in bits/s over all connections (tx, bidir,
	// udp; rx and bidir ask a bench server to pace its own). 0 is as fast as
	// it goes, except one-way UDP (DefaultOneWayBitrate).
	Bitrate int64
	// Congestion is the congestion control a bench server uses on its
	// sending side (rx, bidir); Dial sets the client's own.
	Congestion string
	// Plain never says hello: the peer is treated as a plain discard,
	// source or echo server even if it is a bench server.
	Plain bool
	// ZeroCopy sends tx with MSG_ZEROCOPY where the kernel has it (Linux).
	ZeroCopy bool

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
type UDPStats = wire.UDP

// worker is one connection's counters, read by the reporter while the
// worker runs. Padded so that workers on different cores do not share a
// cache line.
type worker struct {
	bytes   atomic.Int64 // sent (tx, bidir, one-way udp) or received (rx, rr, udp echo)
	ops     atomic.Int64
	rxBytes atomic.Int64 // bidir: received
	stop    atomic.Int64 // when it stopped counting, ns since the start; 0 still counting
	_       [32]byte

	sentAtomic atomic.Int64 // datagrams sent, read by a paced sender's receiver

	conn net.Conn       // for TCP_INFO (tx, bidir)
	fd   atomic.Int64   // --zerocopy: the socket's descriptor + 1, once it is taken over
	zc   *ZeroCopyStats // --zerocopy: the sends, when they are over

	// The reporter's, between intervals.
	last    struct{ bytes, ops, rx, retrans int64 }
	omitted struct{ bytes, ops, rx, retrans int64 } // totals at the end of Omit

	// Owned by the worker until it returns.
	err        error
	errs       int64
	sent, recv int64  // udp: datagrams sent after -O; replies of any kind
	token      uint32 // udp to a bench server: the stream's token
	dead       bool   // its hello failed: the connection is not used
	sentBytes  int64  // udp one-way: their payload
	arr        *wire.Arrivals
	report     *wire.ReportMsg // what a bench server counted
	bench      bool            // the peer is a bench server
}

// Check reports what Run would refuse in c (a bad mode, a size the mode
// cannot carry) without running anything, so that a front end can refuse
// it before printing a header.
func (c Config) Check() error { return c.setDefaults() }

func (c *Config) setDefaults() error {
	switch c.Mode {
	case TX, RX, Bidir, RR, Connect, UDP:
	case "":
		c.Mode = TX
	default:
		return fail.Inputf("bad %s %q: want tx, rx, bidir, rr, connect or udp", OptMode, c.Mode)
	}
	if c.Conns <= 0 {
		c.Conns = 1
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
		if c.Count > 0 {
			c.Duration = 24 * time.Hour
		}
	}
	if c.Size <= 0 {
		c.Size = 64
		if c.streaming() {
			c.Size = 128 << 10
		}
	}
	if c.Mode == UDP {
		if c.Size < wire.HeaderLen {
			return fail.Inputf("%s %d is too small for udp mode: each datagram carries a %d-byte header (token, sequence number, timestamp)", OptSize, c.Size, wire.HeaderLen)
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
	if c.Rate < 0 || c.Bitrate < 0 || c.Count < 0 || c.Omit < 0 {
		return fail.Inputf("%s, %s, %s and %s must not be negative", OptRate, OptBitrate, OptCount, OptOmit)
	}
	if c.Rate > 0 && c.Bitrate > 0 {
		return fail.Inputf("%s and %s both set the pace: give one (%s counts datagrams, %s bits)", OptRate, OptBitrate, OptRate, OptBitrate)
	}
	if c.Rate > 0 && c.Mode != UDP {
		return fail.Inputf("%s is for %s udp (datagrams per second)", OptRate, OptMode).
			WithHint("Note that %s paces every mode that sends: %s 100M.", OptBitrate, OptBitrate)
	}
	if c.Bitrate > 0 && (c.Mode == RR || c.Mode == Connect) {
		return fail.Inputf("%s paces sending modes (tx, rx, bidir, udp), not %s", OptBitrate, c.Mode)
	}
	if c.ZeroCopy && c.Mode != TX {
		return fail.Inputf("%s is for %s tx, not %s", OptZeroCopy, OptMode, c.Mode)
	}
	if c.Dial == nil {
		return errors.New("bench: no Dial function")
	}
	return nil
}

// streaming reports whether the mode moves a byte stream (throughput).
func (c *Config) streaming() bool { return c.Mode == TX || c.Mode == RX || c.Mode == Bidir }

// budget is what is left of Count, shared by the connections.
type budget struct {
	left   atomic.Int64
	on     bool
	cancel context.CancelFunc
	heard  chan struct{} // closed once a stream of the run hears a bench server
	once   sync.Once
}

// heardBench records that a stream of the run heard a bench server answer.
func (b *budget) heardBench() { b.once.Do(func() { close(b.heard) }) }

// take claims up to want units and returns how many it got; the claim
// that takes the last unit ends the run.
func (b *budget) take(want int64) int64 {
	if !b.on {
		return want
	}
	for {
		left := b.left.Load()
		if left <= 0 {
			return 0
		}
		got := min(want, left)
		if b.left.CompareAndSwap(left, left-got) {
			if got == left {
				b.cancel()
			}
			return got
		}
	}
}

// Run runs the benchmark until Duration (after Omit) has passed, Count is
// reached or ctx is cancelled, and returns the summary. Connections that
// fail to open fail the run; errors during the run are counted in the
// result.
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
	test := testID()
	if !cfg.Plain && (cfg.Mode == RR || cfg.Mode == UDP) {
		// rr and udp wait for the answer to their hello: before the
		// clock starts, as the connections' own handshakes are.
		if err := helloAll(ctx, &cfg, conns, workers, test); err != nil {
			for _, c := range conns {
				c.Close()
			}
			return nil, err
		}
	}

	hist := newHistograms(cfg.Conns)
	start := time.Now()
	end := start.Add(cfg.Omit + cfg.Duration)
	runCtx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	bud := &budget{on: cfg.Count > 0, cancel: cancel, heard: make(chan struct{})}
	bud.left.Store(cfg.Count)
	// Closing is how a blocked read is unblocked when ctx is cancelled
	// early; at the deadline, connection deadlines do it. When Count is
	// reached, the other connections notice at their next write or read
	// (their peers keep them moving).
	stop := context.AfterFunc(ctx, func() {
		for _, c := range conns {
			c.SetDeadline(time.Now())
		}
	})
	defer stop()

	var wg sync.WaitGroup
	newRunner := func(i int) *runner {
		return &runner{cfg: &cfg, w: workers[i], h: hist.shard(i), start: start, end: end, ctx: runCtx,
			omit: int64(cfg.Omit), bud: bud, test: test, id: i}
	}
	if cfg.Mode == RR && cfg.Size*cfg.Depth <= 4096 && !cfg.Goroutines && loopable(conns) && cfg.Plain {
		// Small requests to a plain echo server: event loops (see
		// rrloop_linux.go). A bench server hears its hello first, below.
		r := newRunner(0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.rrLoops(conns, workers, hist)
		}()
	} else {
		// rr: the connections the event loops can take (a bench server's,
		// after the hello) go to them; the others get a goroutine each.
		var loopConns []net.Conn
		var loopWorkers []*worker
		for i, w := range workers {
			if cfg.Mode == TX || cfg.Mode == Bidir {
				w.conn = conns[i] // for the reporter's TCP_INFO
			}
			if w.dead {
				continue
			}
			if cfg.Mode == RR && cfg.Size*cfg.Depth <= 4096 && !cfg.Goroutines && loopable(conns[i:i+1]) {
				loopConns = append(loopConns, conns[i])
				loopWorkers = append(loopWorkers, w)
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := newRunner(i)
				switch cfg.Mode {
				case TX, RX, Bidir:
					r.stream(conns[i])
				case RR:
					r.rr(conns[i])
				case Connect:
					r.connect()
				case UDP:
					r.udp(conns[i], cfg.Conns)
				}
			}()
		}
		if len(loopConns) > 0 {
			r := newRunner(0)
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.rrLoops(loopConns, loopWorkers, hist)
			}()
		}
	}

	res := &Result{Type: "summary", Version: wire.Version, Mode: cfg.Mode, Conns: cfg.Conns, Size: cfg.Size,
		OmitSeconds: cfg.Omit.Seconds(), Host: hostname()}
	if cfg.Mode == RR || cfg.Mode == UDP {
		res.Depth = cfg.Depth
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	rep := &reporter{cfg: &cfg, workers: workers, start: start, res: res}
	rep.run(finished)
	summarize(&cfg, res, workers, hist, start)
	for _, w := range workers {
		if fd := w.fd.Load(); fd > 0 {
			closeFD(int(fd - 1)) // a --zerocopy socket, kept for TCP_INFO until now
		}
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	for _, w := range workers {
		var refused *errRefused
		if errors.As(w.err, &refused) {
			return res, w.err // a stream refused during the run
		}
	}
	if res.Ops == 0 && res.Bytes == 0 && res.RecvBytes == 0 && res.Errors > 0 {
		return res, fmt.Errorf("bench: nothing got through: %s", res.FirstError)
	}
	return res, nil
}

// helloAll says hello on every rr or udp connection, up to 1024 at a
// time (a sink answers no hello: each waits its full time), and waits for the answers: it marks the workers of bench servers
// (and, for udp, their tokens) and those whose connection failed. A
// bench server's refusal is returned: nothing would be measured right.
func helloAll(ctx context.Context, cfg *Config, conns []net.Conn, workers []*worker, test string) error {
	sem := make(chan struct{}, 1024)
	var wg sync.WaitGroup
	for i, c := range conns {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := &runner{cfg: cfg, w: workers[i], ctx: ctx, end: time.Now().Add(24 * time.Hour),
				omit: int64(cfg.Omit), bud: &budget{cancel: func() {}, heard: make(chan struct{})}, test: test, id: i}
			if cfg.Mode == RR {
				workers[i].dead = !r.rrHello(c)
				return
			}
			bench, token, err := r.udpHello(c)
			switch {
			case err != nil:
				r.fail(err)
				workers[i].dead = true
			case bench:
				workers[i].bench, workers[i].token = true, token
			}
		}()
	}
	wg.Wait()
	for _, w := range workers {
		var refused *errRefused
		if errors.As(w.err, &refused) {
			return w.err
		}
	}
	return nil
}

// testID names a run for the servers' logs.
func testID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func hostname() string {
	h, _ := os.Hostname()
	return h
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

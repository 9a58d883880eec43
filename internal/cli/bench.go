package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/internal/bench"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/talk"
)

type benchFlags struct {
	mode            string
	conns           int
	duration        time.Duration
	size            int64
	depth, rate     int
	json            bool
	interval        time.Duration
	udp, ipv4, ipv6 bool
	timeout         time.Duration
	noTrains        bool
	tls             tlsFlags
	opt             talk.Options // TLS
}

func newBench(st *stdio) *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench EP",
		Short: "Load a server and measure throughput, request rate, latency, connection rate, UDP loss",
		Long: `Load the server at EP and measure it, like iperf3 (throughput), tcpkali
(request rate) and sockperf (latency):

  --mode tx       send as fast as possible (to sockit listen -k --discard, or any sink)
  --mode rx       receive as fast as possible (from sockit listen -k --source)
  --mode rr       request/response with an echo server: requests/s and latency
                  percentiles (p50, p90, p99, p99.9, max); --depth pipelines requests
  --mode connect  connections opened per second, and connect latency
  --mode udp      datagrams to a UDP echo server: round trips, loss, reordering,
                  duplicates, jitter; --rate paces the sending

With --depth N > 1, udp sends each window of N datagrams as one train
(UDP_SEGMENT, on Linux): a server that enables UDP_GRO can take the train
whole, any other receives the datagrams one by one; --no-trains sends each
with its own system call.

A line per --interval, like iperf3, then a summary (--json: as JSON on
stdout). The run ends by itself after -d.`,
		Example: `  sockit listen -k --discard 127.0.0.1:9000 &  sockit bench 127.0.0.1:9000
  sockit listen -k --source 127.0.0.1:9000 &   sockit bench --mode rx 127.0.0.1:9000
  sockit listen -k --echo 127.0.0.1:7 &        sockit bench --mode rr -c 100 -d 5s 127.0.0.1:7
  sockit bench --mode connect -c 4 127.0.0.1:80
  sockit listen -u -k --echo 127.0.0.1:7 &     sockit bench --mode udp -c 4 --rate 100000 udp://127.0.0.1:7
  sockit bench --mode rr --json 127.0.0.1:7 | jq .latency_us.p99`,
		Args: exactArgs(1, "the endpoint to load, such as 127.0.0.1:9000"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBench(cmd.Context(), st, &f, args[0])
		},
	}
	fs := cmd.Flags()
	f.mode = bench.TX
	fs.VarP(choice{&f.mode, []string{bench.TX, bench.RX, bench.RR, bench.Connect, bench.UDP}}, "mode", "m", "tx, rx, rr, connect or udp")
	f.conns, f.depth, f.duration, f.interval = 1, 1, 10*time.Second, time.Second
	fs.VarP(intFlag{n: &f.conns, min: 1, max: 100000}, "conns", "c", "connections (udp: sockets) at once")
	fs.VarP(seconds{d: &f.duration, min: time.Millisecond, max: 24 * time.Hour}, "duration", "d", "how long to run")
	fs.Var(byteSize{n: &f.size, min: 1, max: 64 << 20}, "size", "bytes per write (tx), read (rx), request (rr), datagram (udp); default 128k for tx/rx, 64 otherwise")
	fs.Var(intFlag{n: &f.depth, min: 1, max: 4096}, "depth", "requests in flight per connection (rr, udp)")
	fs.Var(intFlag{n: &f.rate, max: 100_000_000, zero: "as fast as --depth allows"}, "rate", "udp: datagrams per second over all sockets (0: as fast as --depth allows)")
	fs.BoolVar(&f.json, "json", false, "print the summary as JSON on stdout (interval lines go to stderr)")
	fs.Var(seconds{d: &f.interval}, "interval", "report every this long; 0 for the summary only")
	fs.BoolVarP(&f.udp, "udp", "u", false, "HOST:PORT means udp://")
	fs.BoolVarP(&f.ipv4, "ipv4", "4", false, "IPv4 only")
	fs.BoolVarP(&f.ipv6, "ipv6", "6", false, "IPv6 only")
	fs.VarP(seconds{d: &f.timeout}, "timeout", "w", "give up connecting after this long (0: the system's own limit)")
	fs.BoolVar(&f.noTrains, "no-trains", false, "udp: one system call per datagram, not each window as one UDP_SEGMENT train")
	f.tls.register(fs, &f.opt, tlsClient)
	return cmd
}

func runBench(ctx context.Context, st *stdio, f *benchFlags, arg string) error {
	d, err := dialing(&f.opt, &f.tls, arg, f.udp || f.mode == bench.UDP, f.ipv4, f.ipv6, f.timeout)
	if err != nil {
		return err
	}
	ep := d.Endpoint()
	if f.mode == bench.UDP && !ep.IsPacket() {
		return exitcode.Usagef("--mode udp needs a udp:// endpoint, not %s", ep.Scheme)
	}
	if f.mode != bench.UDP && ep.IsPacket() {
		return exitcode.WithHint("Note that --mode udp measures a UDP echo server.", "--mode %s needs a stream endpoint, not %s", f.mode, ep.Scheme)
	}

	// Interval lines go to stdout, or to stderr when stdout carries JSON.
	lines := st.out
	if f.json {
		lines = st.err
	}
	pr := &benchPrinter{w: lines, mode: f.mode, progress: st.errTTY, errw: st.err, duration: f.duration}
	cfg := bench.Config{
		Mode:     f.mode,
		Conns:    f.conns,
		Duration: f.duration,
		Size:     int(f.size),
		Depth:    f.depth,
		Rate:     f.rate,
		Interval: f.interval,
		NoTrains: f.noTrains,
		Dial:     func(ctx context.Context) (net.Conn, error) { return d.Dialer().Dial(ctx, ep) },
		Report:   pr.interval,
	}
	if st.errTTY {
		cfg.Progress = pr.showProgress
	}
	if err := cfg.Check(); err != nil {
		return err // a usage error, before anything is printed
	}
	if !f.json {
		fmt.Fprintf(st.out, "sockit bench --mode %s %s: %d connection%s, %s\n", f.mode, ep, f.conns, plural(f.conns), f.duration)
	}
	res, err := bench.Run(ctx, cfg)
	pr.clearProgress()
	if err != nil && exitcode.Hint(err) == "" && exitcode.Code(err) != exitcode.Interrupted {
		err = &hinted{err, "Note that --mode " + f.mode + " needs " + benchServer[f.mode] + "."}
	}
	if res == nil {
		return err
	}
	res.Target = ep.String()
	if f.json {
		enc := json.NewEncoder(st.out)
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(res); jerr != nil {
			return jerr
		}
	} else {
		printSummary(st.out, res)
	}
	return err
}

// benchServer is what each mode needs at the other end.
var benchServer = map[string]string{
	bench.TX:      "a sink (sockit listen -k --discard)",
	bench.RX:      "a source (sockit listen -k --source)",
	bench.RR:      "an echo server (sockit listen -k --echo)",
	bench.Connect: "a server that accepts connections",
	bench.UDP:     "a UDP echo server (sockit listen -u -k --echo)",
}

// benchPrinter writes interval lines and, on a terminal, a progress line
// on stderr that the interval lines overwrite.
type benchPrinter struct {
	mu       sync.Mutex
	w, errw  io.Writer
	mode     string
	progress bool
	shown    bool
	header   bool
	duration time.Duration
}

func (p *benchPrinter) interval(iv bench.Interval) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	if !p.header {
		p.header = true
		fmt.Fprintf(p.w, "%-13s  %10s  %14s  %12s\n", "interval", "transfer", "bitrate", opsName(p.mode))
	}
	fmt.Fprintf(p.w, "%6.2f-%-6.2f  %10s  %14s  %12s\n", iv.Start, iv.End, formatBytes(iv.Bytes), formatBits(iv.Bits), formatRate(iv.OpsRate))
}

func (p *benchPrinter) showProgress(elapsed time.Duration, bytes, ops int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	frac := min(elapsed.Seconds()/p.duration.Seconds(), 1)
	const width = 20
	bar := strings.Repeat("=", int(frac*width)) + strings.Repeat(" ", width-int(frac*width))
	fmt.Fprintf(p.errw, "\r\x1b[K[%s] %4.1fs/%s  %s  %s", bar, elapsed.Seconds(), p.duration, formatBytes(bytes), formatCount(ops))
	p.shown = true
}

func (p *benchPrinter) clearProgress() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
}

func (p *benchPrinter) clearLocked() {
	if p.shown {
		fmt.Fprint(p.errw, "\r\x1b[K")
		p.shown = false
	}
}

func opsName(mode string) string {
	switch mode {
	case bench.RR:
		return "requests/s"
	case bench.Connect:
		return "connects/s"
	case bench.UDP:
		return "replies/s"
	}
	return "ops/s"
}

func printSummary(w io.Writer, r *bench.Result) {
	fmt.Fprintf(w, "- - - - - - - - - - - - - - - - - - - - - - - - -\n")
	fmt.Fprintf(w, "summary      %s, %d connection%s, %d B messages, %.2f s\n", r.Mode, r.Conns, plural(r.Conns), r.Size, r.Seconds)
	switch r.Mode {
	case bench.TX:
		fmt.Fprintf(w, "sent         %s  %s\n", formatBytes(r.Bytes), formatBits(r.BitsPerSec))
	case bench.RX:
		fmt.Fprintf(w, "received     %s  %s\n", formatBytes(r.Bytes), formatBits(r.BitsPerSec))
	case bench.RR:
		fmt.Fprintf(w, "requests     %d  %s req/s  (%s echoed, %s)\n", r.Ops, formatRate(r.OpsPerSec), formatBytes(r.Bytes), formatBits(r.BitsPerSec))
	case bench.Connect:
		fmt.Fprintf(w, "connections  %d  %s conn/s\n", r.Ops, formatRate(r.OpsPerSec))
	case bench.UDP:
		u := r.UDP
		fmt.Fprintf(w, "datagrams    sent %d  received %d  lost %d (%.3f%%)  reordered %d  duplicates %d\n", u.Sent, u.Received, u.Lost, u.LossPercent, u.Reordered, u.Duplicates)
		fmt.Fprintf(w, "replies      %s/s  %s  jitter %.1f µs\n", formatRate(r.OpsPerSec), formatBits(r.BitsPerSec), u.JitterUS)
	}
	if l := r.Latency; l != nil {
		fmt.Fprintf(w, "latency      min %s  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n",
			formatUS(l.Min), formatUS(l.P50), formatUS(l.P90), formatUS(l.P99), formatUS(l.P999), formatUS(l.Max))
	}
	if r.Errors > 0 {
		fmt.Fprintf(w, "errors       %d (first: %s)\n", r.Errors, r.FirstError)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func formatBytes(n int64) string {
	f := float64(n)
	for _, u := range []string{"B", "KiB", "MiB", "GiB", "TiB"} {
		if f < 1024 || u == "TiB" {
			if u == "B" {
				return fmt.Sprintf("%d B", n)
			}
			return fmt.Sprintf("%.2f %s", f, u)
		}
		f /= 1024
	}
	return ""
}

func formatBits(bps float64) string {
	for _, u := range []string{"bit/s", "kbit/s", "Mbit/s", "Gbit/s"} {
		if bps < 1000 || u == "Gbit/s" {
			return fmt.Sprintf("%.2f %s", bps, u)
		}
		bps /= 1000
	}
	return ""
}

func formatRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e4:
		return fmt.Sprintf("%.1fk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}

func formatCount(n int64) string {
	return formatRate(float64(n))
}

func formatUS(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%.2fs", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%.2fms", us/1e3)
	}
	return fmt.Sprintf("%.1fµs", us)
}

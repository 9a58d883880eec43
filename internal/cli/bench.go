package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/internal/bench"
	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/talk"
	"github.com/sockit/sockit/internal/tcpsock"
	"github.com/sockit/sockit/internal/units"
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

	bidir      bool
	count      int64
	omit       time.Duration
	bitrate    int64
	congestion string
	mss        int
	zeroCopy   bool
	plain      bool
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
  --mode bidir    both at once on each connection (--bidir)
  --mode rr       request/response with an echo server: requests/s and latency
                  percentiles (p50, p90, p99, p99.9, max); --depth pipelines requests
  --mode connect  connections opened per second, and connect latency
  --mode udp      datagrams to a UDP echo server: round trips, loss, reordering,
                  duplicates, jitter; --rate or -b paces the sending

Against a sockit bench server (sockit listen -k --bench, TCP or -u) each
connection says hello first, and the server counts what arrives and
reports it back: received bytes, its own TCP sending side for rx, and for
--mode udp a one-way test with the receiver's loss, reordering, duplicates
and jitter (at -b, 1 Mbit/s by default, as iperf3 -u). Any number of
clients may test one server at once. --plain skips the hello.

iperf3's knobs: -n stops after a number of bytes (datagrams, requests,
connections); -O leaves out the first seconds (slow start); -b paces the
sending, in bits/s over all connections (not per connection, as iperf3);
-c opens parallel connections, reported one by one and summed; -C picks
the congestion control (Linux: what /proc/sys/net/ipv4/
tcp_available_congestion_control lists); --mss sets the segment size;
--zerocopy sends with MSG_ZEROCOPY (Linux).

On Linux, tx and bidir show the sender's TCP state each interval, as
iperf3 does: retransmits, congestion window and round-trip time (from
TCP_INFO). Other systems print no such columns.

With --depth N > 1, udp sends each window of N datagrams as one train
(UDP_SEGMENT, on Linux): a server that enables UDP_GRO can take the train
whole, any other receives the datagrams one by one; --no-trains sends each
with its own system call.

A line per --interval, like iperf3, then a summary. --json prints NDJSON on
stdout: an object per interval as it ends, then the summary
(docs/bench-json.md); the interval lines go to stderr. Summaries of several
agents run at once add up with 'sockit bench merge'. The run ends by itself
after -d (or -n).`,
		Example: `  sockit listen -k --discard 127.0.0.1:9000 &  sockit bench 127.0.0.1:9000
  sockit listen -k --source 127.0.0.1:9000 &   sockit bench --mode rx 127.0.0.1:9000
  sockit listen -k --echo 127.0.0.1:7 &        sockit bench --mode rr -c 100 -d 5s 127.0.0.1:7
  sockit bench --mode connect -c 4 127.0.0.1:80
  sockit listen -u -k --echo 127.0.0.1:7 &     sockit bench --mode udp -c 4 --rate 100000 udp://127.0.0.1:7
  sockit listen -k --bench 127.0.0.1:5201 &    sockit bench --bidir -c 4 -O 1 -C bbr 127.0.0.1:5201
  sockit listen -u --bench 127.0.0.1:5201 &    sockit bench --mode udp -b 100M udp://127.0.0.1:5201
  sockit bench -n 1G -b 500M --json 127.0.0.1:5201 > run.ndjson
  sockit bench merge agent-*.ndjson`,
		Args: endpointArgs(1, 1, "the endpoint to load, such as 127.0.0.1:9000"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBench(cmd.Context(), st, &f, args[0])
		},
	}
	fs := cmd.Flags()
	f.mode = bench.TX
	fs.VarP(choice{&f.mode, bench.Modes}, "mode", "m", "tx, rx, bidir, rr, connect or udp")
	f.conns, f.depth, f.duration, f.interval = 1, 1, 10*time.Second, time.Second
	fs.VarP(intFlag{n: &f.conns, min: 1, max: 100000}, "conns", "c", "connections (udp: sockets) at once")
	fs.VarP(seconds{d: &f.duration, min: time.Millisecond, max: 24 * time.Hour}, "duration", "d", "how long to run")
	fs.Var(byteSize{n: &f.size, min: 1, max: 64 << 20}, "size", "bytes per write (tx), read (rx), request (rr), datagram (udp); default 128k for tx/rx/bidir, 64 otherwise")
	fs.Var(intFlag{n: &f.depth, min: 1, max: 4096}, "depth", "requests in flight per connection (rr, udp)")
	fs.Var(intFlag{n: &f.rate, max: 100_000_000, zero: "as fast as --depth allows"}, "rate", "udp: datagrams per second over all sockets (0: as fast as --depth allows)")
	fs.BoolVar(&f.json, "json", false, "print NDJSON on stdout: an object per interval, then the summary (interval lines go to stderr)")
	fs.Var(seconds{d: &f.interval}, "interval", "report every this long; 0 for the summary only")
	fs.BoolVarP(&f.udp, "udp", "u", false, "HOST:PORT means udp://")
	fs.BoolVarP(&f.ipv4, "ipv4", "4", false, "IPv4 only")
	fs.BoolVarP(&f.ipv6, "ipv6", "6", false, "IPv6 only")
	fs.VarP(seconds{d: &f.timeout}, "timeout", "w", "give up connecting after this long (0: the system's own limit)")
	fs.BoolVar(&f.noTrains, "no-trains", false, "udp: one system call per datagram, not each window as one UDP_SEGMENT train")
	fs.BoolVar(&f.bidir, "bidir", false, "send and receive at once on each connection (--mode bidir)")
	fs.VarP(byteSize{n: &f.count, min: 1, max: 1 << 50}, "count", "n", "stop after this many bytes sent (tx, bidir) or received (rx), datagrams (udp), requests (rr), connections (connect): 1G, 100k")
	fs.VarP(seconds{d: &f.omit, max: 24 * time.Hour}, "omit", "O", "run this long first without counting it (TCP slow start), then -d more")
	fs.VarP(bitrateFlag{&f.bitrate}, "bitrate", "b", "pace the sending at this many bits/s over all connections: 100M, 1.5G (one-way udp: 1M unless set)")
	fs.StringVarP(&f.congestion, "congestion", "C", "", "TCP congestion control, such as cubic or bbr (Linux; a bench server uses it too for rx)")
	fs.Var(intFlag{n: &f.mss, min: 88, max: 32767, zero: "the system's"}, "mss", "TCP maximum segment size (TCP_MAXSEG), both ways")
	fs.BoolVar(&f.zeroCopy, "zerocopy", false, "tx: send with MSG_ZEROCOPY (Linux 4.14+; loopback copies anyway)")
	fs.BoolVar(&f.plain, "plain", false, "never say hello: treat the server as a plain sink, source or echo even if it is a bench server")
	f.tls.register(fs, &f.opt, tlsClient)
	cmd.AddCommand(newBenchMerge(st))
	return cmd
}

// bitrateFlag is -b: bits per second, k/M/G/T as powers of ten.
type bitrateFlag struct{ n *int64 }

func (b bitrateFlag) String() string {
	if b.n == nil || *b.n == 0 {
		return "0"
	}
	return formatBits(float64(*b.n))
}

func (b bitrateFlag) Set(v string) error {
	n, err := units.ParseBitrate(v)
	if err != nil {
		return fmt.Errorf("%q is not a bit rate (use 500k, 100M, 1.5G: bits per second, k = 1000)", v)
	}
	*b.n = n
	return nil
}

func (b bitrateFlag) Type() string { return "bits/s" }

func runBench(ctx context.Context, st *stdio, f *benchFlags, arg string) error {
	mode := f.mode
	if f.bidir {
		if mode != bench.TX && mode != bench.RX && mode != bench.Bidir {
			return exitcode.Usagef("--bidir goes with tx or rx, not --mode %s", mode)
		}
		mode = bench.Bidir
	}
	setup, err := dialing(&f.opt, &f.tls, arg, f.udp || mode == bench.UDP, f.ipv4, f.ipv6, f.timeout)
	if err != nil {
		return err
	}
	ep := setup.Endpoint()
	if mode == bench.UDP && !ep.IsPacket() {
		return exitcode.Usagef("--mode udp needs a udp:// endpoint, not %s", ep.Scheme)
	}
	if mode != bench.UDP && ep.IsPacket() {
		return exitcode.WithHint("Note that --mode udp measures a UDP echo server, or a sockit bench server one way.", "--mode %s needs a stream endpoint, not %s", mode, ep.Scheme)
	}
	d := setup.Dialer()
	if err := f.socketOptions(d, ep, mode); err != nil {
		return err
	}

	// Interval lines go to stdout, or to stderr when stdout carries JSON.
	lines := st.out
	if f.json {
		lines = st.err
	}
	pr := &benchPrinter{w: lines, mode: mode, progress: st.errTTY, errw: st.err, duration: f.omit + f.duration}
	if f.json {
		pr.ndjson = json.NewEncoder(st.out)
	}
	cfg := bench.Config{
		Mode:       mode,
		Conns:      f.conns,
		Duration:   f.duration,
		Size:       int(f.size),
		Depth:      f.depth,
		Rate:       f.rate,
		Interval:   f.interval,
		NoTrains:   f.noTrains,
		Count:      f.count,
		Omit:       f.omit,
		Bitrate:    f.bitrate,
		Congestion: f.congestion,
		Plain:      f.plain,
		ZeroCopy:   f.zeroCopy,
		Dial:       func(ctx context.Context) (net.Conn, error) { return d.Dial(ctx, ep) },
		Report:     pr.interval,
	}
	if f.count > 0 && !durationSet(f) {
		cfg.Duration = 0 // -n alone: as long as it takes (24 h at most)
	}
	if st.errTTY {
		cfg.Progress = pr.showProgress
	}
	if err := cfg.Check(); err != nil {
		return err // a usage error, before anything is printed
	}
	if !f.json {
		fmt.Fprintf(st.out, "sockit bench --mode %s %s: %d connection%s, %s\n", mode, ep, f.conns, plural(f.conns), runLength(f))
	}
	res, err := bench.Run(ctx, cfg)
	pr.clearProgress()
	if err != nil && exitcode.Hint(err) == "" && exitcode.Code(err) != exitcode.Interrupted {
		err = &hinted{err, "Note that --mode " + mode + " needs " + benchServer[mode] + "."}
	}
	if res == nil {
		return err
	}
	res.Target = ep.String()
	if f.congestion != "" && len(res.Streams) > 0 {
		res.Congestion = f.congestion
	}
	if f.json {
		if jerr := pr.ndjson.Encode(res); jerr != nil {
			return jerr
		}
	} else {
		printSummary(st.out, res)
	}
	return err
}

// durationSet tells -d given from -d left at its default.
func durationSet(f *benchFlags) bool { return f.duration != 10*time.Second }

func runLength(f *benchFlags) string {
	var parts []string
	if f.count > 0 {
		parts = append(parts, "-n "+sizeText(f.count))
	}
	if f.count == 0 || durationSet(f) {
		parts = append(parts, f.duration.String())
	}
	if f.omit > 0 {
		parts = append(parts, "after "+f.omit.String()+" omitted")
	}
	if f.bitrate > 0 {
		parts = append(parts, "at "+formatBits(float64(f.bitrate)))
	}
	return strings.Join(parts, ", ")
}

// socketOptions checks -C, --mss and --zerocopy and sets d up to apply
// them to each socket before it connects.
func (f *benchFlags) socketOptions(d *endpoint.Dialer, ep endpoint.Endpoint, mode string) error {
	if f.congestion == "" && f.mss == 0 && !f.zeroCopy {
		return nil
	}
	name := "-C"
	if f.congestion == "" {
		name = "--mss"
		if f.mss == 0 {
			name = "--zerocopy"
		}
	}
	if ep.Scheme != "tcp" && ep.Scheme != "tls" {
		return exitcode.Usagef("%s is for TCP, not %s", name, ep.Scheme)
	}
	if f.zeroCopy && (ep.IsTLS() || !bench.ZeroCopy) {
		if ep.IsTLS() {
			return exitcode.Usagef("--zerocopy sends from a buffer the kernel reads: not over TLS, which encrypts into its own")
		}
		return exitcode.Usagef("--zerocopy needs MSG_ZEROCOPY (Linux 4.14 or later)")
	}
	if (f.congestion != "" || f.mss != 0) && !tcpsock.Supported {
		return exitcode.Usagef("%s needs Linux", name)
	}
	if f.congestion != "" {
		if err := tcpsock.CheckCongestion(f.congestion); err != nil {
			return exitcode.WithHint("Note that an algorithm built as a module may need loading first: modprobe tcp_"+f.congestion+" (as root).", "%v", err)
		}
		if mode == bench.Connect || mode == bench.UDP {
			return exitcode.Usagef("-C is for the modes that move data over TCP, not %s", mode)
		}
	}
	cc, mss := f.congestion, f.mss
	d.Control = func(fd uintptr) error {
		if cc != "" {
			if err := tcpsock.SetCongestionFD(fd, cc); err != nil {
				return exitcode.WithHint("Note that without root only the algorithms in /proc/sys/net/ipv4/tcp_allowed_congestion_control may be chosen.", "%v", err)
			}
		}
		if mss != 0 {
			if err := tcpsock.SetMSSFD(fd, mss); err != nil {
				return fmt.Errorf("--mss %d: %w", mss, err)
			}
		}
		return nil
	}
	return nil
}

// benchServer is what each mode needs at the other end.
var benchServer = map[string]string{
	bench.TX:      "a sink (sockit listen -k --discard) or a bench server (sockit listen -k --bench)",
	bench.RX:      "a source (sockit listen -k --source) or a bench server (sockit listen -k --bench)",
	bench.Bidir:   "a server that reads and sends at once (sockit listen -k --bench, or --source)",
	bench.RR:      "an echo server (sockit listen -k --echo)",
	bench.Connect: "a server that accepts connections",
	bench.UDP:     "a UDP echo server (sockit listen -u -k --echo) or bench server (sockit listen -u --bench)",
}

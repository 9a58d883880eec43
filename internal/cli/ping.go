package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/probe"
	"github.com/sockit/sockit/internal/talk"
)

type pingFlags struct {
	echo            bool
	count           int
	interval        time.Duration
	timeout         time.Duration
	size            int
	udp, ipv4, ipv6 bool
	tls             tlsFlags
	opt             talk.Options // TLS
}

func newPing(st *stdio) *cobra.Command {
	var f pingFlags
	cmd := &cobra.Command{
		Use:   "ping EP",
		Short: "Time TCP connects, or echo round trips over TCP or UDP, like ping(8)",
		Long: `Probe EP repeatedly and time each probe, with a ping(8)-style summary:
min/avg/max/mdev and loss.

TCP: each probe is a connect (the three-way handshake), then a close; with
--echo, one connection carries a probe message that an echo server sends
back. UDP: each probe is a datagram that an echo server sends back; no
reply within --timeout is a lost probe.`,
		Example: `  sockit ping 127.0.0.1:22                    # TCP connect time, 4 probes
  sockit ping -c 10 -i 0.2 127.0.0.1:8080
  sockit ping --echo 127.0.0.1:7              # round trips on an echo server
  sockit ping udp://127.0.0.1:7               # UDP echo round trips`,
		Args: endpointArgs(1, 1, "the endpoint to probe, such as 127.0.0.1:22 or udp://127.0.0.1:7"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPing(cmd.Context(), st, &f, args[0])
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&f.echo, "echo", false, "TCP: time echo round trips on one connection instead of connects")
	f.count, f.size, f.interval, f.timeout = 4, 56, time.Second, time.Second
	fs.VarP(intFlag{n: &f.count, max: maxCount, zero: "until Ctrl-C"}, "count", "c", "probes to send; 0 until Ctrl-C")
	fs.VarP(seconds{d: &f.interval, min: time.Millisecond}, "interval", "i", "between probes")
	fs.VarP(seconds{d: &f.timeout, min: time.Millisecond}, "timeout", "w", "give up on one probe after this long")
	fs.VarP(intFlag{n: &f.size, min: 1, max: 65507}, "size", "s", "echo probe size in bytes")
	fs.BoolVarP(&f.udp, "udp", "u", false, "HOST:PORT means udp://")
	fs.BoolVarP(&f.ipv4, "ipv4", "4", false, "IPv4 only")
	fs.BoolVarP(&f.ipv6, "ipv6", "6", false, "IPv6 only")
	f.tls.register(fs, &f.opt, tlsClient)
	return cmd
}

func runPing(ctx context.Context, st *stdio, f *pingFlags, arg string) error {
	setup, err := dialing(&f.opt, &f.tls, arg, f.udp, f.ipv4, f.ipv6, f.timeout)
	if err != nil {
		return err
	}
	ep, d := setup.Endpoint(), setup.Dialer()
	what := "connect"
	if f.echo || ep.IsPacket() {
		what = "echo"
	}
	fmt.Fprintf(st.out, "PING %s (%s)\n", ep, what)
	p := &probe.Ping{
		Dial:     func(ctx context.Context) (net.Conn, error) { return d.Dial(ctx, ep) },
		Echo:     f.echo,
		UDP:      ep.IsPacket(),
		Count:    f.count,
		Interval: f.interval,
		Timeout:  f.timeout,
		Size:     f.size,
		Probe: func(r probe.Result) {
			switch {
			case r.Err != nil && probe.IsTimeout(r.Err):
				fmt.Fprintf(st.out, "seq=%d timed out after %s\n", r.Seq, f.timeout)
			case r.Err != nil:
				fmt.Fprintf(st.out, "seq=%d %s\n", r.Seq, endpoint.Cause(bare(r.Err)))
			case what == "echo":
				fmt.Fprintf(st.out, "%d bytes from %s: seq=%d time=%s\n", r.Size, r.Peer, r.Seq, ms(r.RTT))
			default:
				fmt.Fprintf(st.out, "connected to %s: seq=%d time=%s\n", r.Peer, r.Seq, ms(r.RTT))
			}
		},
	}
	sum := p.Run(ctx)
	fmt.Fprintf(st.out, "\n--- %s ping statistics ---\n", ep)
	fmt.Fprintf(st.out, "%d probes sent, %d answered, %.1f%% loss, time %dms\n", sum.Sent, sum.Received, sum.LossPercent(), sum.Elapsed.Milliseconds())
	if sum.Received > 0 {
		fmt.Fprintf(st.out, "rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", msf(sum.Min), msf(sum.Avg), msf(sum.Max), msf(sum.Mdev))
	}
	if ctx.Err() != nil && sum.Received > 0 {
		return nil // Ctrl-C is how an endless ping ends
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if sum.Received == 0 && sum.LastErr != nil {
		// The exit code tells why: refused (3), timeout (4)…
		var op *endpoint.OpError
		if errors.As(sum.LastErr, &op) {
			return sum.LastErr
		}
		return &endpoint.OpError{Op: "ping", Endpoint: ep.String(), Err: sum.LastErr}
	}
	return nil
}

// bare is err without the "connect EP:" the dialer puts before it.
func bare(err error) error {
	var op *endpoint.OpError
	if errors.As(err, &op) {
		return op.Err
	}
	return err
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", msf(d)) }

func msf(d time.Duration) float64 { return float64(d) / 1e6 }

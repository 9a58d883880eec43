package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/internal/console"
	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/relay"
	"github.com/sockit/sockit/internal/talk"
)

type relayFlags struct {
	// opt holds -u and the TLS options: the listening side's
	// (termination: --cert, --key) and the upstream side's (origination)
	// each take their own.
	opt            talk.Options
	net            netFlags
	tls            tlsFlags
	log, hex, json bool
	admit          admitFlags
	idle, timeout  time.Duration
	quiet          bool
	imp            impairFlags
	ep             endpointFlags
}

func newRelay(st *stdio) *cobra.Command {
	var f relayFlags
	cmd := &cobra.Command{
		Use:   "relay FROM TO",
		Short: "Forward every connection or datagram from FROM to TO",
		Long: `Listen on FROM and forward each connection that arrives to TO, like socat
or a port forward: TCP, TLS and Unix streams (each direction half-closed on
its own), and UDP with one upstream socket per client address, which expires
after --idle-timeout (60s) without traffic.

Between plain TCP or Unix sockets on Linux the bytes never enter sockit:
the kernel splices them (other systems copy them through a 256 KiB
buffer). --log shows on stdout what passes in each direction (← from
the client, → back to it), --hex as hex dumps, --json as events; only then
is the data copied through sockit. Connections are logged on stderr (-q:
only where the relay listens, and errors).

A reset on either side (or an upstream that cannot be reached) is passed
on as a reset, a FIN as a FIN: a client never reads a clean end of a
conversation that broke.

A tls:// FROM terminates TLS (--cert/--key, or an ephemeral certificate
whose fingerprint is printed); a tls:// TO originates it (verified by the
system roots, --ca, --pin or --insecure).

--impair SPEC makes the relay a bad network on purpose, to test how
programs cope: delay, jitter and rate for both; loss, dup and reorder for
UDP; chunk, reset-after and stall-after for TCP. Each direction meets the
faults once; --seed N repeats a run's random choices.`,
		Example: `  sockit relay :8080 127.0.0.1:80                   # TCP port forward
  sockit relay --log 127.0.0.1:6380 127.0.0.1:6379   # watch a Redis conversation
  sockit relay udp://:5353 udp://127.0.0.1:53       # UDP, a mapping per client
  sockit relay tls://:8443 tcp://127.0.0.1:8080     # TLS termination
  sockit relay :8080 tls://127.0.0.1:8443 --insecure # TLS origination
  sockit relay unix:///tmp/app.sock 127.0.0.1:9000  # Unix socket to TCP
  sockit relay --impair delay=100ms,jitter=20ms,chunk=1-16 :8080 127.0.0.1:80   # a slow, choppy path
  sockit relay -u --impair loss=2%,dup=1%,reorder=1% --seed 7 udp://:5353 udp://127.0.0.1:53`,
		Args: exactArgs(2, "FROM and TO endpoints, such as :8080 127.0.0.1:80"),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.admit.given(cmd)
			return runRelay(cmd.Context(), st, &f, args[0], args[1])
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&f.opt.UDP, "udp", "u", false, "UDP: HOST:PORT and PORT mean udp://")
	f.net.registerFamily(fs)
	fs.BoolVar(&f.log, "log", false, "print what passes in each direction, as text")
	fs.BoolVar(&f.hex, "hex", false, "print what passes in each direction, as hex dumps")
	fs.BoolVar(&f.json, "json", false, "print every event (connections and data) as JSON lines on stdout; schema: docs/events.md")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "do not report connections on stderr")
	f.admit.register(fs, "clients", "1024 UDP clients, TCP unlimited", "client ")
	fs.VarP(seconds{d: &f.idle}, "idle-timeout", "i", "close a connection or UDP mapping after this long without traffic (UDP default 60s)")
	fs.VarP(seconds{d: &f.timeout}, "timeout", "w", "give up connecting to TO after this long")
	f.net.registerBuffer(fs)
	f.net.registerTrace(fs)
	f.tls.register(fs, &f.opt, tlsRelay)
	f.ep.register(fs, true, true)
	f.imp.register(fs)
	return cmd
}

func runRelay(ctx context.Context, st *stdio, f *relayFlags, fromArg, toArg string) error {
	fam, err := family(f.net.ipv4, f.net.ipv6)
	if err != nil {
		return err
	}
	fromEP, err := endpoint.Parse(fromArg, endpoint.Options{UDP: f.opt.UDP, Listen: true, Family: fam})
	if err != nil {
		return err
	}
	to, err := endpoint.Parse(toArg, endpoint.Options{UDP: f.opt.UDP, Family: fam})
	if err != nil {
		return err
	}
	if err := relay.Check(fromEP, to); err != nil {
		return err
	}
	if n := btoi(f.log) + btoi(f.hex) + btoi(f.json); n > 1 {
		return exitcode.Usagef("--log, --hex and --json exclude each other")
	}
	f.tls.apply(&f.opt)
	t := f.opt.TLSOptions
	if !fromEP.IsTLS() && (t.Cert != "" || t.Key != "") {
		return exitcode.Usagef("--cert/--key are for a tls:// FROM, not %s", fromEP.Scheme)
	}
	// One set of socket and endpoint options, the listening side's and
	// the upstream side's TLS options apart.
	o := talk.Options{Buffer: int(f.net.buffer), Trace: f.net.tracer(st.err), Timeout: f.timeout}
	// A client's upstream retries are events of its conversation, which
	// the log shows with the client's number.
	if err := f.ep.apply(&o); err != nil {
		return err
	}
	from := o
	from.TLSOptions = endpoint.TLSOptions{Cert: t.Cert, Key: t.Key, ALPN: t.ALPN, Min: t.Min}
	l, err := talk.NewListening(fromEP, from)
	if err != nil {
		return err
	}
	certNote(st, l, true)
	upstream := o
	upstream.TLSOptions = t
	upstream.TLSOptions.Cert, upstream.TLSOptions.Key = "", ""
	d, err := talk.NewDialer(to, upstream)
	if err != nil {
		return err
	}

	adm := f.admit.admission()
	r := &relay.Relay{From: fromEP, To: to, Listen: l.Config, Dialer: d, MaxConns: adm.MaxConns, Idle: f.idle}
	if r.Allow, r.Deny, err = adm.ACLs(fromEP); err != nil {
		return err
	}
	noteAdmitsNoOne(st, talk.AdmitsNoOne(r.Allow))
	summary, err := f.imp.apply(st, r)
	if err != nil {
		return err
	}
	defer summary()

	obs := observers{outs: st.outs}
	defer obs.close()
	var sinks []event.Sink
	switch {
	case f.json:
		w := event.NewWriter(st.out, event.WriterOptions{Hex: true, Flush: true})
		sinks = append(sinks, event.Locked(w.Sink()))
		obs.addCloser("stdout", w.Flush)
		r.Data = true
	case f.log || f.hex:
		// stdout carries the data log only; where the relay listens and
		// which connections come and go is for stderr, as without --log.
		p := &console.Printer{W: st.out, Hex: f.hex, Server: true, ShowOut: true, Color: st.outTTY && colorOK(), Option: flagOf}
		sinks = append(sinks, func(e *event.Event) {
			if e.Kind == event.Data {
				p.Print(e)
			}
		})
		r.Data = true
	}
	log := st.stderrLog(true)
	if f.quiet {
		// Still say where it listens on stderr: scripts wait for that
		// line.
		sinks = append(sinks, func(e *event.Event) {
			if e.Kind == event.Listen || e.Kind == event.Error {
				log.Print(e)
			}
		})
	} else {
		sinks = append(sinks, log.Sink())
	}
	r.Sink = event.Tee(sinks...)
	err = r.Run(ctx)
	if err == context.Canceled && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/internal/console"
	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/relay"
)

type relayFlags struct {
	udp, ipv4, ipv6 bool
	log, hex, json  bool
	maxConns        int
	allow, deny     string
	allowSet        bool // --allow was given, even empty
	denySet         bool
	capSet          bool // --max-conns was given
	idle, timeout   time.Duration
	trace, quiet    bool
	buffer          int64
	// TLS: the listening side (termination) and the upstream side
	// (origination) each take their own options.
	cert, key, ca, pin, sni string
	clientCert, clientKey   string
	insecure                bool
	alpn, tlsMin            string
	imp                     impairFlags
	ep                      endpointFlags
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
			f.allowSet, f.denySet = cmd.Flags().Changed("allow"), cmd.Flags().Changed("deny")
			f.capSet = cmd.Flags().Changed("max-conns")
			return runRelay(cmd.Context(), st, &f, args[0], args[1])
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&f.udp, "udp", "u", false, "UDP: HOST:PORT and PORT mean udp://")
	fs.BoolVarP(&f.ipv4, "ipv4", "4", false, "IPv4 only")
	fs.BoolVarP(&f.ipv6, "ipv6", "6", false, "IPv6 only")
	fs.BoolVar(&f.log, "log", false, "print what passes in each direction, as text")
	fs.BoolVar(&f.hex, "hex", false, "print what passes in each direction, as hex dumps")
	fs.BoolVar(&f.json, "json", false, "print every event (connections and data) as JSON lines on stdout; schema: docs/events.md")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "do not report connections on stderr")
	fs.Var(intFlag{n: &f.maxConns, max: maxConns, zero: "no limit"}, "max-conns", "refuse clients beyond this many at once; 0: no limit (default: 1024 UDP clients, TCP unlimited)")
	fs.StringVar(&f.allow, "allow", "", "only these client addresses: CIDR,…|@FILE")
	fs.StringVar(&f.deny, "deny", "", "never these client addresses: CIDR,…|@FILE")
	fs.VarP(seconds{d: &f.idle}, "idle-timeout", "i", "close a connection or UDP mapping after this long without traffic (UDP default 60s)")
	fs.VarP(seconds{d: &f.timeout}, "timeout", "w", "give up connecting to TO after this long")
	fs.Var(byteSize{n: &f.buffer, max: maxBuffer}, "buffer", "socket send and receive buffer size, e.g. 4M")
	fs.BoolVar(&f.trace, "trace", false, "print each socket step on stderr")
	fs.StringVar(&f.cert, "cert", "", "certificate for a tls:// FROM, PEM (default: ephemeral self-signed)")
	fs.StringVar(&f.key, "key", "", "private key for --cert, PEM")
	fs.StringVar(&f.ca, "ca", "", "CA certificates (PEM) to verify a tls:// TO by")
	fs.StringVar(&f.pin, "pin", "", "accept exactly the tls:// TO certificate with this SHA-256 fingerprint")
	fs.BoolVar(&f.insecure, "insecure", false, "accept any tls:// TO certificate")
	fs.StringVar(&f.sni, "sni", "", "server name to send to a tls:// TO")
	fs.StringVar(&f.clientCert, "client-cert", "", "client certificate for a tls:// TO, PEM")
	fs.StringVar(&f.clientKey, "client-key", "", "private key for --client-cert, PEM")
	fs.StringVar(&f.alpn, "alpn", "", "ALPN protocols, comma-separated")
	fs.StringVar(&f.tlsMin, "tls-min", "1.2", "lowest TLS version: 1.2 or 1.3")
	f.imp.register(fs)
	f.ep.register(fs, true, true)
	return cmd
}

func runRelay(ctx context.Context, st *stdio, f *relayFlags, fromArg, toArg string) error {
	fam, err := family(f.ipv4, f.ipv6)
	if err != nil {
		return err
	}
	from, err := endpoint.Parse(fromArg, endpoint.Options{UDP: f.udp, Listen: true, Family: fam})
	if err != nil {
		return err
	}
	to, err := endpoint.Parse(toArg, endpoint.Options{UDP: f.udp, Family: fam})
	if err != nil {
		return err
	}
	if err := relay.Check(from, to); err != nil {
		return err
	}
	if n := btoi(f.log) + btoi(f.hex) + btoi(f.json); n > 1 {
		return exitcode.Usagef("--log, --hex and --json exclude each other")
	}
	var alpn []string
	if f.alpn != "" {
		alpn = strings.Split(f.alpn, ",")
	}
	tracer := (&netFlags{trace: f.trace}).tracer(st.err)
	lc := &endpoint.ListenConfig{Buffer: int(f.buffer), Trace: tracer}
	if err := f.ep.listen(lc); err != nil {
		return err
	}
	if from.IsTLS() {
		cfg, fp, err := endpoint.TLSOptions{Cert: f.cert, Key: f.key, ALPN: alpn, Min: f.tlsMin}.Server()
		if err != nil {
			return err
		}
		lc.TLS = cfg
		if f.cert == "" {
			fmt.Fprintf(st.err, "sockit: TLS with an ephemeral self-signed certificate, SHA256 fingerprint %s\n", fp)
		}
	} else if f.cert != "" || f.key != "" {
		return exitcode.Usagef("--cert/--key are for a tls:// FROM, not %s", from.Scheme)
	}
	d := &endpoint.Dialer{Timeout: f.timeout, Buffer: int(f.buffer), Trace: tracer}
	if err := f.ep.dialer(d, st.err); err != nil {
		return err
	}
	if to.IsTLS() {
		cfg, err := endpoint.TLSOptions{CA: f.ca, Pin: f.pin, Insecure: f.insecure, SNI: f.sni,
			ClientCert: f.clientCert, ClientKey: f.clientKey, ALPN: alpn, Min: f.tlsMin}.Client()
		if err != nil {
			return err
		}
		d.TLS = cfg
	}

	capConns, err := maxConnsFlag(f.maxConns, f.capSet, false)
	if err != nil {
		return err
	}
	r := &relay.Relay{From: from, To: to, Listen: lc, Dialer: d, MaxConns: capConns, Idle: f.idle}
	if r.Allow, r.Deny, err = aclFlags(st, from, f.allow, f.allowSet, f.deny, f.denySet); err != nil {
		return err
	}
	summary, err := f.imp.apply(st, r)
	if err != nil {
		return err
	}
	defer summary()

	obs := observers{outs: st.outs}
	defer obs.close()
	switch {
	case f.json:
		w := event.NewWriter(st.out, event.WriterOptions{Hex: true, Flush: true})
		obs.add(event.Locked(w.Sink()))
		obs.addCloser("stdout", w.Flush)
		r.Data = true
	case f.log || f.hex:
		// stdout carries the data log only; where the relay listens and
		// which connections come and go is for stderr, as without --log.
		p := &console.Printer{W: st.out, Hex: f.hex, Server: true, ShowOut: true, Color: st.outTTY && colorOK()}
		obs.add(func(e *event.Event) {
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
		obs.addQuiet(func(e *event.Event) {
			if e.Kind == event.Listen || e.Kind == event.Error {
				log.Print(e)
			}
		})
	} else {
		obs.addQuiet(log.Sink())
	}
	r.Sink = obs.sink()
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

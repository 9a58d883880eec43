package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/console"
	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/relay"
	"github.com/sockit/sockit/internal/server"
	"github.com/sockit/sockit/internal/session"
)

// serverFlags are listen's own options (SPEC §2.4).
type serverFlags struct {
	keepOpen bool
	maxConns int
	allow    string
	deny     string
	allowSet bool // --allow was given, even empty
	denySet  bool
	capSet   bool // --max-conns was given
	echo     bool
	discard  bool
	chat     bool
	broker   bool
	reply    string
	respond  []string
	exec     string
	source   bool
	forward  string
	bench    bool
}

func (f *serverFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.BoolVarP(&f.keepOpen, "keep-open", "k", false, "serve many clients, one after another and at once")
	fs.Var(intFlag{n: &f.maxConns, max: maxConns, zero: "no limit"}, "max-conns", "refuse connections (UDP: peers) beyond this many at once; 0: no limit (default: 1024 UDP peers, 100 --exec processes, TCP unlimited)")
	fs.StringVar(&f.allow, "allow", "", "only these addresses: CIDR,…|@FILE")
	fs.StringVar(&f.deny, "deny", "", "never these addresses: CIDR,…|@FILE")
	fs.BoolVar(&f.echo, "echo", false, "send every message back to its sender")
	fs.BoolVar(&f.discard, "discard", false, "read and throw away everything (a sink for bench --mode tx)")
	fs.BoolVar(&f.chat, "chat", false, "send each client's messages to all the other clients, after the sender's address")
	fs.BoolVar(&f.broker, "broker", false, "send the bytes each client sends, unchanged, to all the other clients (ncat --broker)")
	fs.StringVar(&f.reply, "reply", "", "answer each message with TEXT, @FILE or hex:BYTES (--escapes, --template apply)")
	fs.StringArrayVar(&f.respond, "respond", nil, "'PATTERN=>REPLY': answer messages the regexp matches (repeatable; first match wins; --reply answers the rest)")
	fs.StringVar(&f.exec, "exec", "", "run CMD for each connection (via /bin/sh -c; cmd /c on Windows), its stdin and stdout wired to the socket")
	fs.BoolVar(&f.source, "source", false, "send endless data to every client (a source for bench --mode rx)")
	fs.StringVar(&f.forward, "forward", "", "forward every client to EP, as sockit relay does")
	fs.BoolVar(&f.bench, "bench", false, "the receiving end of sockit bench: counts what arrives and reports it back (any number of clients)")
}

type listenFlags struct {
	clientFlags
	srv serverFlags
}

func newListen(st *stdio) *cobra.Command {
	var f listenFlags
	cmd := &cobra.Command{
		Use:   "listen EP",
		Short: "Run a server: bind, listen, accept, and talk to the client",
		Long: `Listen on EP (a port, :PORT, HOST:PORT or a full endpoint) and serve
clients. Without -k sockit serves one client and exits when it leaves, like
nc -l; with -k it serves many, and what you type goes to every client (or
to one, after /to PEER). A UDP server answers each sender at its own
address.

Instead of stdin/stdout, a server can have one behaviour: --echo,
--discard, --chat, --reply/--respond (canned and pattern-matched answers,
to stand in for a device or a protocol peer) or --exec CMD (one process
per connection). A message is what one read returns, one datagram on UDP,
or one framed message with --frame (use --frame line for line protocols).

Two more behaviours: --source sends endless data (for bench --mode rx),
--forward EP relays every client to EP, as sockit relay does.`,
		Example: `  sockit listen 8888                    # TCP server for one client, on all interfaces
  sockit listen -k 127.0.0.1:8888       # many clients; typed lines go to all
  sockit listen -u 8888                 # UDP server: shows each datagram and its sender
  sockit listen -k --echo 8888          # TCP echo server
  sockit listen -u --echo 8888          # UDP echo server
  sockit listen -k --chat 8888          # chat room: each line goes to the others
  sockit listen --reply 'OK\r\n' --escapes 8888     # canned answer to each message
  sockit listen --frame line --respond '^PING=>PONG' --respond '^TIME=>{{time}}' --template 8888
  sockit listen --exec 'cat' 8888       # one process per connection (here: an echo)
  sockit listen --encoding gbk 8888     # show and send GBK text
  sockit listen unix:///tmp/test.sock
  sockit listen tls://:8443             # TLS with a throwaway certificate (fingerprint on stderr)
  sockit listen 8888 > received.bin     # save what one client sends`,
		Args: exactArgs(1, "one endpoint to listen on, such as 8888, :8888 or udp://0.0.0.0:8888"),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.srv.allowSet, f.srv.denySet = cmd.Flags().Changed("allow"), cmd.Flags().Changed("deny")
			f.srv.capSet = cmd.Flags().Changed("max-conns")
			return runListen(cmd.Context(), st, &f, args[0])
		},
	}
	f.net.register(cmd.Flags(), true)
	f.data.register(cmd.Flags())
	f.tls.register(cmd.Flags(), true)
	f.pipe.register(cmd)
	f.srv.register(cmd)
	return cmd
}

func runListen(ctx context.Context, st *stdio, f *listenFlags, arg string) error {
	ep, err := f.net.parse(arg, true)
	if err != nil {
		return err
	}
	if ep, err = f.tls.apply(ep); err != nil {
		return err
	}
	behaviour, handler, err := f.behaviour(st)
	if err != nil {
		return err
	}
	if behaviour == "source" && ep.IsPacket() {
		return exitcode.Usagef("--source sends a stream: it needs a TCP, TLS or Unix endpoint, not %s", ep.Scheme)
	}
	if behaviour == "forward" {
		// Parsed once already by forwardHandler, without error.
		to, _ := f.net.parse(f.srv.forward, false)
		if err := relay.Check(ep, to); err != nil {
			return err
		}
	}
	conv, err := f.conversation(st, ep, true)
	if err != nil {
		return err
	}
	defer conv.obs.close()

	capConns, err := maxConnsFlag(f.srv.maxConns, f.srv.capSet, behaviour == "exec")
	if err != nil {
		return err
	}
	srv := &server.Server{
		Handler:  handler,
		Conn:     conv.options(ep, 0),
		MaxConns: capConns,
		// UDP servers answer every sender, -k or not (SPEC §2.4).
		Once:  !f.srv.keepOpen && !ep.IsPacket(),
		Sink:  conv.obs.sink(),
		Trace: f.net.tracer(st.err),
	}
	if srv.Allow, srv.Deny, err = aclFlags(st, ep, f.srv.allow, f.srv.allowSet, f.srv.deny, f.srv.denySet); err != nil {
		return err
	}
	srv.PacketEcho = behaviour == "echo"
	srv.PacketBench = behaviour == "bench"
	if (ep.IsUDP() || ep.Scheme == "dtls") && f.net.idle == 0 {
		srv.Conn.IdleTimeout = 60 * time.Second // UDP and DTLS peers expire (SPEC §2.4): one that vanishes says nothing
	}
	if behaviour != "stdio" {
		// A behaviour answers by itself: stdin is not read, and every
		// client is served until Ctrl-C unless -k was left off.
		if behaviour != "stdio" && !f.srv.keepOpen && !ep.IsPacket() {
			srv.Once = false
			if !f.net.verbose {
				fmt.Fprintf(st.err, "sockit: note: --%s serves every client; -k is implied\n", behaviour)
			}
		}
	}

	lc := &endpoint.ListenConfig{NoReuseAddr: !f.net.reuseaddr, Buffer: int(f.net.buffer), Trace: f.net.tracer(st.err)}
	if err := f.net.ep.listen(lc); err != nil {
		return err
	}
	if ep.IsTLS() {
		cfg, fp, err := f.tls.options().Server()
		if err != nil {
			return err
		}
		lc.TLS = cfg
		if f.tls.opts.Cert == "" {
			fmt.Fprintf(st.err, "sockit: TLS with an ephemeral self-signed certificate, SHA256 fingerprint %s\n", fp)
			fmt.Fprintf(st.err, "sockit: clients can check it with: --pin %s\n", fp)
		}
	}

	if behaviour == "stdio" {
		if !f.srv.keepOpen && !ep.IsPacket() {
			// One client, exactly like connect once it is accepted.
			srv.Handler = func(ctx context.Context, c *session.Conn) error { return conv.run(ctx, st, c) }
		} else {
			return serveHub(ctx, st, conv, srv, lc, ep)
		}
	}
	return serve(ctx, srv, lc, ep)
}

// serve listens on ep and runs srv until it ends.
func serve(ctx context.Context, srv *server.Server, lc *endpoint.ListenConfig, ep endpoint.Endpoint) error {
	if ep.IsPacket() {
		if srv.PacketBench {
			return serveBench(ctx, srv, lc, ep)
		}
		if srv.PacketEcho && ep.IsUDP() && srv.FastPacketEcho() {
			pcs, err := server.ListenPacketPerCore(ctx, lc, ep, 0)
			if err != nil {
				return err
			}
			return srv.ServePacketEcho(ctx, pcs)
		}
		pc, err := lc.ListenPacket(ctx, ep)
		if err != nil {
			return err
		}
		return srv.ServePacket(ctx, pc)
	}
	ln, err := lc.Listen(ctx, ep)
	if err != nil {
		return err
	}
	return srv.Serve(ctx, ln)
}

// maxConnsFlag turns --max-conns into server.Server.MaxConns: not given,
// the server's default for its kind (UDP peers are capped), or
// server.DefaultMaxExec for --exec, whose every conversation is a process;
// given as 0, no cap at all.
func maxConnsFlag(n int, set, exec bool) (int, error) {
	switch {
	case n < 0:
		return 0, exitcode.Usagef("--max-conns %d: want 0 (no limit) or more", n)
	case set && n == 0:
		return -1, nil
	case !set && exec:
		return server.DefaultMaxExec, nil
	}
	return n, nil
}

// aclFlags reads --allow and --deny, failing closed: a flag given with an
// empty value (--allow=, an empty or comments-only file) is an empty list,
// which as --allow admits no one (said on stderr), never everyone; a list
// that cannot be read in full is a usage error before any socket opens.
func aclFlags(st *stdio, ep endpoint.Endpoint, allow string, allowSet bool, deny string, denySet bool) (a, d *server.ACL, err error) {
	if (allowSet || denySet) && ep.IsUnix() {
		return nil, nil, exitcode.WithHint("Note that Unix sockets are guarded by the socket file's permissions (chmod).",
			"--allow and --deny check IP addresses; %s peers have none", ep.Scheme)
	}
	if allowSet {
		if a, err = server.ParseACL("--allow", allow); err != nil {
			return nil, nil, err
		}
		if a.Empty() {
			fmt.Fprintf(st.err, "sockit: note: --allow lists no address: every client will be refused\n")
		}
	}
	if denySet {
		if d, err = server.ParseACL("--deny", deny); err != nil {
			return nil, nil, err
		}
	}
	return a, d, nil
}

// behaviour picks the one server behaviour the flags ask for.
func (f *listenFlags) behaviour(st *stdio) (string, server.Handler, error) {
	var chosen []string
	pick := func(on bool, name string) {
		if on {
			chosen = append(chosen, name)
		}
	}
	pick(f.srv.echo, "echo")
	pick(f.srv.discard, "discard")
	pick(f.srv.chat, "chat")
	pick(f.srv.broker, "broker")
	// --reply with --respond is one behaviour: --reply answers what no
	// pattern matches.
	pick(len(f.srv.respond) > 0, "respond")
	pick(f.srv.reply != "" && len(f.srv.respond) == 0, "reply")
	pick(f.srv.exec != "", "exec")
	pick(f.srv.source, "source")
	pick(f.srv.forward != "", "forward")
	pick(f.srv.bench, "bench")
	if len(chosen) > 1 {
		return "", nil, exitcode.WithHint("Note that --reply and --respond go together; the other behaviours do not.",
			"--%s and --%s exclude each other: a server has one behaviour", chosen[0], chosen[1])
	}
	if len(chosen) == 0 {
		return "stdio", server.Drain, nil
	}
	switch chosen[0] {
	case "echo":
		return "echo", server.Echo, nil
	case "discard":
		return "discard", server.Discard, nil
	case "source":
		return "source", server.Source, nil
	case "forward":
		return f.forwardHandler()
	case "bench":
		return "bench", server.Bench, nil
	case "chat":
		return "chat", f.chat(), nil
	case "broker":
		return "broker", (&server.Broker{}).Handle, nil
	case "reply", "respond":
		r, err := f.responder()
		if err != nil {
			return "", nil, err
		}
		return chosen[0], r.Handle, nil
	case "exec":
		if strings.TrimSpace(f.srv.exec) == "" {
			return "", nil, exitcode.Usagef("--exec needs a command")
		}
		x := &server.Exec{Command: f.srv.exec, Stderr: st.err}
		return "exec", x.Handle, nil
	}
	return "", nil, errors.New("unreachable")
}

// forwardHandler is --forward EP: each client relayed to EP.
func (f *listenFlags) forwardHandler() (string, server.Handler, error) {
	to, err := f.net.parse(f.srv.forward, false)
	if err != nil {
		return "", nil, err
	}
	d := &endpoint.Dialer{Buffer: int(f.net.buffer)}
	fw := &relay.Forward{
		Dial: func(ctx context.Context) (net.Conn, error) { return d.Dial(ctx, to) },
		Idle: relay.DefaultPacketIdle,
	}
	if f.net.idle > 0 {
		fw.Idle = f.net.idle
	}
	return "forward", fw.Handler(), nil
}

// hubWriteTimeout is how long stdin waits for one slow client.
const hubWriteTimeout = 5 * time.Second

// serveHub runs a server whose clients all share stdin and stdout: what
// arrives from any of them is shown, and what is typed or piped goes to
// all of them (or to the one picked with /to).
func serveHub(ctx context.Context, st *stdio, conv *conversation, srv *server.Server, lc *endpoint.ListenConfig, ep endpoint.Endpoint) error {
	if conv.out != nil {
		out := &lockedWriter{w: conv.out}
		var tap io.Writer = out
		if conv.tap != nil {
			tap = io.MultiWriter(out, conv.tap)
		}
		srv.Conn.Tap = tap
	}
	var (
		mu     sync.Mutex
		target string
	)
	first := make(chan struct{})
	var firstOnce sync.Once
	srv.OnOpen = func(*session.Conn) { firstOnce.Do(func() { close(first) }) }

	sendTo := func(msg []byte, raw bool) error {
		mu.Lock()
		t := target
		mu.Unlock()
		write := func(c *session.Conn) error {
			// A client that stops reading must not hold up stdin for the
			// others: give each write a deadline and drop the client that
			// misses it.
			nc := c.NetConn()
			nc.SetWriteDeadline(time.Now().Add(hubWriteTimeout))
			defer nc.SetWriteDeadline(time.Time{})
			var err error
			if raw {
				err = c.WriteRaw(msg)
			} else {
				err = c.Write(msg)
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				c.SetReason(fmt.Sprintf("not reading: a write waited %s", hubWriteTimeout))
				nc.Close()
			}
			return err
		}
		if t != "" {
			c := srv.Lookup(t)
			if c == nil {
				return fmt.Errorf("peer %s is gone (/to all, or /peers)", t)
			}
			return write(c)
		}
		conns := srv.Conns()
		if len(conns) == 0 {
			return errors.New("no peer connected yet: nothing sent")
		}
		var firstErr error
		for _, c := range conns {
			if err := write(c); err != nil && firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", c.Peer(), err)
			}
		}
		return firstErr
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	serveErr := make(chan error, 1)
	go func() { serveErr <- serve(ctx, srv, lc, ep) }()

	if conv.interactive {
		it := &console.Interactive{
			In:      st.inFile,
			Out:     st.out,
			Printer: conv.printer,
			Send: func(line string) error {
				msg, err := conv.compose.Message(nil, []byte(line+"\n"), "")
				if err != nil {
					return err
				}
				return sendTo(msg, false)
			},
			SendRaw: func(b []byte) error { return sendTo(b, true) },
			SetEncoding: func(e *codec.Encoding) {
				conv.compose.SetEncoding(e)
				conv.printer.SetEncodings(e, e)
			},
			Peers: func() []console.Peer {
				var out []console.Peer
				for _, c := range srv.Conns() {
					out = append(out, console.Peer{ID: c.ID(), Addr: c.Peer()})
				}
				return out
			},
			SetTarget: func(addr string) error {
				if addr != "" {
					c := srv.Lookup(addr)
					if c == nil {
						return fmt.Errorf("no peer %s (see /peers)", addr)
					}
					addr = c.Peer()
				}
				mu.Lock()
				target = addr
				mu.Unlock()
				return nil
			},
		}
		done := make(chan error, 1)
		go func() { done <- it.Run(ctx) }()
		select {
		case err := <-done:
			cancel()
			<-serveErr
			if err == nil || errors.Is(err, context.Canceled) && ctx.Err() == nil {
				return err
			}
			return err
		case err := <-serveErr:
			return err
		}
	}

	// Pipe mode: stdin goes to every client, once there is one.
	if !conv.f.net.recvOnly {
		go func() {
			select {
			case <-first:
			case <-ctx.Done():
				return
			}
			br := bufio.NewReaderSize(st.in, 64<<10)
			buf := make([]byte, 64<<10)
			passthrough := conv.compose.Passthrough() && conv.spec.IsRaw() && !ep.Messages()
			for {
				var (
					unit []byte
					err  error
				)
				if passthrough {
					var n int
					n, err = br.Read(buf)
					unit = buf[:n]
				} else {
					// Bounded: stdin without line ends must not grow it.
					unit, err = session.ReadLine(br, buf[:0], 0)
					buf = unit[:0]
				}
				if len(unit) > 0 && (err == nil || err == io.EOF) {
					msg := unit
					if !conv.compose.Passthrough() {
						var cerr error
						if msg, cerr = conv.compose.Message(nil, unit, ""); cerr != nil {
							fmt.Fprintf(st.err, "sockit: %v\n", cerr)
							continue
						}
					}
					if serr := sendTo(msg, false); serr != nil {
						fmt.Fprintf(st.err, "sockit: %v\n", serr)
					}
				}
				if err != nil {
					if err != io.EOF {
						fmt.Fprintf(st.err, "sockit: stdin: %v\n", err)
					}
					return // stdin ended: the server goes on
				}
			}
		}()
	}
	return <-serveErr
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

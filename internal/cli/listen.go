package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/console"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/server"
	"github.com/sockit/sockit/internal/session"
	"github.com/sockit/sockit/internal/talk"
)

// serverFlags are listen's own options (README "Server flags (listen)").
type serverFlags struct {
	keepOpen bool
	admit    admitFlags
	echo     bool
	discard  bool
	chat     bool
	broker   bool
	bench    bool
	reply    string
	respond  []string
	exec     string
	source   bool
	forward  string
	name     string // the behaviour flag given, or "stdio"
}

func (f *serverFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.BoolVarP(&f.keepOpen, "keep-open", "k", false, "serve many clients, one after another and at once")
	f.admit.register(fs, "connections (UDP: peers)", "1024 UDP peers, 100 --exec processes, TCP unlimited", "")
	fs.BoolVar(&f.echo, "echo", false, "send every message back to its sender")
	fs.BoolVar(&f.discard, "discard", false, "read and throw away everything (a sink for bench --mode tx)")
	fs.BoolVar(&f.chat, "chat", false, "send each client's messages to all the other clients, after the sender's address")
	fs.BoolVar(&f.broker, "broker", false, "send the bytes each client sends, unchanged, to all the other clients (ncat --broker)")
	fs.BoolVar(&f.bench, "bench", false, "the receiving end of sockit bench: counts what arrives and reports it back (any number of clients)")
	fs.StringVar(&f.reply, "reply", "", "answer each message with TEXT, @FILE or hex:BYTES (--escapes, --template apply)")
	fs.StringArrayVar(&f.respond, "respond", nil, "'PATTERN=>REPLY': answer messages the regexp matches (repeatable; first match wins; --reply answers the rest)")
	fs.StringVar(&f.exec, "exec", "", "run CMD for each connection (via /bin/sh -c; cmd /c on Windows), its stdin and stdout wired to the socket")
	fs.BoolVar(&f.source, "source", false, "send endless data to every client (a source for bench --mode rx)")
	fs.StringVar(&f.forward, "forward", "", "forward every client to EP, as sockit relay does")
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
to one, after /to PEER). Piped input that arrives while no client is
connected is held for the next one, as ncat -l -k does. A UDP server
answers each sender at its own address.

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
  sockit listen 8888 > received.bin     # save what one client sends
  echo hello | sockit listen -k 8888    # greet the next client to connect`,
		Args: endpointArgs(1, 1, "one endpoint to listen on, such as 8888, :8888 or udp://0.0.0.0:8888"),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.srv.admit.given(cmd)
			return runListen(cmd.Context(), st, &f, args[0])
		},
	}
	f.register(cmd, talk.Server)
	f.pipe.register(cmd)
	f.srv.register(cmd)
	return cmd
}

func runListen(ctx context.Context, st *stdio, f *listenFlags, arg string) error {
	if err := f.srv.apply(&f.opt); err != nil {
		return err
	}
	if f.opt.Behaviour == talk.Exec {
		f.opt.ExecStderr = st.err
	}
	conv, err := f.conversation(st, arg, talk.Server)
	if err != nil {
		return err
	}
	defer conv.obs.close()
	noteAdmitsNoOne(st, conv.AdmitsNoOne())
	srv := conv.Server()
	srv.Conn.Tap = conv.tap
	if conv.KeepsOpenAnyway() && !f.net.verbose {
		// A behaviour answers by itself: stdin is not read, and every
		// client is served until Ctrl-C.
		fmt.Fprintf(st.err, "sockit: note: --%s serves every client; -k is implied\n", f.srv.name)
	}
	l := conv.Listening()
	certNote(st, l, true)
	if f.opt.Behaviour != talk.Stdio {
		return l.Serve(ctx, srv)
	}
	if srv.Once {
		// One client, exactly like connect once it is accepted.
		srv.Handler = func(ctx context.Context, c *session.Conn) error { return conv.run(ctx, st, c) }
		return l.Serve(ctx, srv)
	}
	return serveHub(ctx, st, conv, srv, l)
}

// certNote says, for a listener with an ephemeral TLS certificate, its
// fingerprint, and with pin how clients pin it.
func certNote(st *stdio, l *talk.Listening, pin bool) {
	if l.Ephemeral == "" {
		return
	}
	fmt.Fprintf(st.err, "sockit: TLS with an ephemeral self-signed certificate, SHA256 fingerprint %s\n", l.Ephemeral)
	if pin {
		fmt.Fprintf(st.err, "sockit: clients can check it with: --pin %s\n", l.Ephemeral)
	}
}

// admitFlags are who a server or relay lets in: --max-conns, --allow
// and --deny.
type admitFlags struct {
	maxConns    int
	allow, deny string
	allowSet    bool // --allow was given, even empty
	denySet     bool
	capSet      bool // --max-conns was given
}

// register adds the flags; conns says what --max-conns counts, dflt its
// defaults, and who whose addresses the lists hold ("client " or "").
func (f *admitFlags) register(fs *pflag.FlagSet, conns, dflt, who string) {
	fs.Var(intFlag{n: &f.maxConns, max: maxConns, zero: "no limit"}, "max-conns", "refuse "+conns+" beyond this many at once; 0: no limit (default: "+dflt+")")
	fs.StringVar(&f.allow, "allow", "", "only these "+who+"addresses: CIDR,…|@FILE")
	fs.StringVar(&f.deny, "deny", "", "never these "+who+"addresses: CIDR,…|@FILE")
}

// given notes which of the flags cmd was given: an empty --allow is a
// list, and --max-conns 0 is no cap rather than the default.
func (f *admitFlags) given(cmd *cobra.Command) {
	fl := cmd.Flags()
	f.allowSet, f.denySet, f.capSet = fl.Changed("allow"), fl.Changed("deny"), fl.Changed("max-conns")
}

// admission is what the flags ask for. --max-conns not given is 0 (the
// default for the kind of server); given as 0, no cap at all.
func (f *admitFlags) admission() talk.Admission {
	var a talk.Admission
	a.MaxConns = f.maxConns
	if f.capSet && f.maxConns == 0 {
		a.MaxConns = -1
	}
	if f.allowSet {
		a.Allow = &f.allow
	}
	if f.denySet {
		a.Deny = &f.deny
	}
	return a
}

// noteAdmitsNoOne says so when an empty --allow refuses every client.
func noteAdmitsNoOne(st *stdio, noOne bool) {
	if noOne {
		fmt.Fprintf(st.err, "sockit: note: --allow lists no address: every client will be refused\n")
	}
}

// apply sets the server options these flags stand for: the one behaviour
// they ask for, the caps and the address lists.
func (f *serverFlags) apply(o *talk.Options) error {
	var chosen []string
	pick := func(on bool, name string) {
		if on {
			chosen = append(chosen, name)
		}
	}
	pick(f.echo, "echo")
	pick(f.discard, "discard")
	pick(f.chat, "chat")
	pick(f.broker, "broker")
	// --reply with --respond is one behaviour: --reply answers what no
	// pattern matches.
	pick(len(f.respond) > 0, "respond")
	pick(f.reply != "" && len(f.respond) == 0, "reply")
	pick(f.exec != "", "exec")
	pick(f.source, "source")
	pick(f.forward != "", "forward")
	pick(f.bench, "bench")
	if len(chosen) > 1 {
		return exitcode.WithHint("Note that --reply and --respond go together; the other behaviours do not.",
			"--%s and --%s exclude each other: a server has one behaviour", chosen[0], chosen[1])
	}
	o.Behaviour, f.name = talk.Stdio, "stdio"
	if len(chosen) == 1 {
		f.name = chosen[0]
		o.Behaviour = behaviours[f.name]
	}
	o.KeepOpen = f.keepOpen
	o.Reply, o.Respond, o.Exec, o.Forward = f.reply, f.respond, f.exec, f.forward
	o.Admission = f.admit.admission()
	return nil
}

// behaviours are the behaviour flags and what they ask for.
var behaviours = map[string]talk.Behaviour{
	"echo": talk.Echo, "discard": talk.Discard, "chat": talk.Chat, "reply": talk.Reply, "respond": talk.Reply,
	"exec": talk.Exec, "source": talk.Source, "forward": talk.Forward, "broker": talk.Broker,
	"bench": talk.Bench,
}

// serveHub runs a server whose clients all share stdin and stdout: what
// arrives from any of them is shown, and what is typed or piped goes to
// all of them (or to the one picked with /to), through a server.Hub.
func serveHub(ctx context.Context, st *stdio, conv *conversation, srv *server.Server, l *talk.Listening) error {
	if conv.out != nil {
		out := &lockedWriter{w: conv.out}
		var tap io.Writer = out
		if conv.tap != nil {
			tap = io.MultiWriter(out, conv.tap)
		}
		srv.Conn.Tap = tap
	}
	hub := &server.Hub{Server: srv}
	srv.OnOpen = func(*session.Conn) {}
	if !conv.interactive && !conv.Options().RecvOnly {
		// Each new client first gets what piped stdin holds for it (a
		// banner read before anyone connected), before it reads anything
		// itself. Not at a terminal: a typed line is sent at once or not
		// at all, and a new client need not wait for one being sent.
		srv.OnOpen = hub.Open
	}
	listening := make(chan struct{})
	var listenOnce sync.Once
	sink := srv.Sink
	srv.Sink = func(e *event.Event) {
		if sink != nil {
			sink(e)
		}
		if e.Kind == event.Listen {
			listenOnce.Do(func() { close(listening) })
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	serveErr := make(chan error, 1)
	go func() { serveErr <- l.Serve(ctx, srv) }()

	if conv.interactive {
		it := &console.Interactive{
			In:      st.inFile,
			Out:     st.out,
			Printer: conv.printer,
			Send: func(line string) error {
				msg, err := conv.Compose().Message(nil, []byte(line+"\n"), "")
				if err != nil {
					return err
				}
				return hubErr(hub.Write(msg))
			},
			SendRaw: func(b []byte) error { return hubErr(hub.WriteRaw(b)) },
			SetEncoding: func(e *codec.Encoding) {
				conv.Compose().SetEncoding(e)
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
				var gone *server.GoneError
				if err := hub.SetTarget(addr); errors.As(err, &gone) {
					return fmt.Errorf("no peer %s (see /peers)", gone.Peer)
				}
				return nil
			},
		}
		done := make(chan error, 1)
		go func() { done <- it.Run(ctx) }()
		select {
		case err := <-done:
			cancel()
			<-serveErr
			return err
		case err := <-serveErr:
			return err
		}
	}

	// Pipe mode: stdin goes to every client; what comes while none is
	// connected waits for the first (as with ncat -l -k). It is read from
	// the moment the server listens, so that its note on what it holds
	// comes after "listening on".
	if !conv.Options().RecvOnly {
		go func() {
			select {
			case <-listening:
			case <-ctx.Done():
				return
			}
			conv.Feed(ctx, st.in, hub, func(err error) { fmt.Fprintf(st.err, "sockit: %v\n", hubErr(err)) })
		}()
	}
	return <-serveErr
}

// hubErr words a hub's refusal for the prompt: a peer picked with /to
// that is gone.
func hubErr(err error) error {
	var gone *server.GoneError
	if errors.As(err, &gone) {
		return fmt.Errorf("peer %s is gone (/to all, or /peers)", gone.Peer)
	}
	return err
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

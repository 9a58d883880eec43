package cli

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/console"
	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/session"
	"github.com/sockit/sockit/internal/talk"
)

// pipeFlags are pipe mode's end-of-input options (README "Pipe mode and the end of input").
type pipeFlags struct {
	noShutdown bool
	quit       time.Duration
	halfDuplex bool
	shutNull   bool
}

func (f *pipeFlags) register(cmd *cobra.Command) {
	f.quit = -1
	fs := cmd.Flags()
	fs.BoolVar(&f.noShutdown, "no-shutdown", false, "keep the write side open when stdin ends (no FIN)")
	fs.VarP(seconds{d: &f.quit}, "quit", "q", "after stdin ends, quit this long later even if the peer has not closed")
	fs.BoolVar(&f.halfDuplex, "half-duplex", false, "after the peer shut down its write side, keep sending stdin, waiting for what is still to come (by default only what is already there is sent)")
	fs.BoolVar(&f.shutNull, "shut-null", false, "UDP: when stdin ends, send one empty datagram (socat's shut-null)")
}

// clientFlags are everything connect takes: the options of one
// conversation, and how the command line shows it.
type clientFlags struct {
	opt  talk.Options
	net  netFlags
	data dataFlags
	tls  tlsFlags
	pipe pipeFlags
}

// register adds the flags of one conversation on this side.
func (f *clientFlags) register(cmd *cobra.Command, role talk.Role) {
	fs := cmd.Flags()
	f.net.register(fs, &f.opt, role == talk.Server)
	f.data.register(fs, &f.opt)
	tr := tlsClient
	if role == talk.Server {
		tr = tlsServer
	}
	f.tls.register(fs, &f.opt, tr)
}

func newConnect(st *stdio) *cobra.Command {
	var (
		f      clientFlags
		expect string
	)
	cmd := &cobra.Command{
		Use:   "connect EP",
		Short: "Connect to a server: stdin to the socket, the socket to stdout",
		Long: `Connect to EP as a client. On a terminal, sockit shows a prompt: each line
you type is sent, and what arrives is printed above it with the time, the
peer and the length. In a pipe, stdin goes to the socket and the socket to
stdout, byte for byte; when stdin ends, sockit shuts down its sending side
(TCP FIN) and exits once the server closes. When the server closes first,
sockit sends the input already there, then exits at once.`,
		Example: `  sockit connect 127.0.0.1:8888                  # TCP, interactive on a terminal
  sockit connect udp://127.0.0.1:8888            # UDP: each line one datagram
  printf 'GET / HTTP/1.0\r\n\r\n' | sockit connect example.test:80
  sockit connect --recv-encoding gbk 127.0.0.1:8888
  sockit connect --hex tcp://[::1]:8888          # received data as a hex dump
  sockit connect tls://127.0.0.1:8443 --pin AB:CD:…  # TLS, accept that certificate
  sockit connect unix:///tmp/app.sock
  sockit connect --proxy socks5://127.0.0.1:1080 10.1.2.3:22
  sockit connect 127.0.0.1:22 --expect '^SSH-2\.0' --wait 3s < /dev/null   # health check: exit 0 or 1`,
		Args: endpointArgs(1, 1, "one endpoint, such as 127.0.0.1:8888 or udp://127.0.0.1:8888"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if expect != "" {
				return runConnectExpect(cmd.Context(), st, &f, args[0], expect)
			}
			return runConnect(cmd.Context(), st, &f, args[0])
		},
	}
	cmd.Flags().StringVar(&expect, "expect", "", "exit 0 as soon as what arrives matches this regular expression; 1 if the peer closes, or --wait passes after the input ended, without a match")
	f.opt.Wait = time.Second
	f.register(cmd, talk.Client)
	f.pipe.register(cmd)
	return cmd
}

func runConnect(ctx context.Context, st *stdio, f *clientFlags, arg string) error {
	conv, err := f.conversation(st, arg, talk.Client)
	if err != nil {
		return err
	}
	defer conv.obs.close()
	c, err := conv.dial(ctx, st)
	if err != nil {
		return err
	}
	return conv.run(ctx, st, c)
}

// dialing sets up a client of arg that only dials it (ping, bench): the
// address options, TLS and the connect timeout, checked as for every
// conversation.
func dialing(o *talk.Options, tls *tlsFlags, arg string, udp, ipv4, ipv6 bool, timeout time.Duration) (*talk.Setup, error) {
	opt := *o
	opt.Endpoint, opt.UDP, opt.Timeout = arg, udp, timeout
	var err error
	if opt.Family, err = family(ipv4, ipv6); err != nil {
		return nil, err
	}
	tls.apply(&opt)
	return talk.New(opt)
}

// options are the conversation's options from the flags, on endpoint arg.
func (f *clientFlags) options(st *stdio, arg string, role talk.Role) (talk.Options, error) {
	o := f.opt
	o.Endpoint, o.Role = arg, role
	if err := f.net.apply(st, &o); err != nil {
		return o, err
	}
	if err := f.data.apply(&o); err != nil {
		return o, err
	}
	f.tls.apply(&o)
	return o, nil
}

// conversation is how the command line talks on one conversation (or a
// server's many) on stdin and stdout: the set-up, and how what arrives is
// shown and saved.
type conversation struct {
	*talk.Setup
	f           *clientFlags
	server      bool
	interactive bool
	printer     *console.Printer
	obs         observers
	tap         io.Writer // -o FILE
	out         io.Writer // pipe mode: where received bytes go (nil when another form is printed)
	closeOut    func() error
}

// conversation sets up the conversation on arg and its outputs.
func (f *clientFlags) conversation(st *stdio, arg string, role talk.Role) (*conversation, error) {
	o, err := f.options(st, arg, role)
	if err != nil {
		return nil, err
	}
	return f.conversationOf(st, o)
}

// conversationOf sets up the conversation with options o and its outputs.
func (f *clientFlags) conversationOf(st *stdio, o talk.Options) (*conversation, error) {
	role := o.Role
	setup, err := talk.New(o)
	if err != nil {
		return nil, err
	}
	server := role == talk.Server
	cv := &conversation{Setup: setup, f: f, server: server}
	send, recv := setup.Encodings()
	cv.interactive = st.interactive() && !f.data.json && f.data.file == ""
	if err := f.data.commonObservers(&cv.obs, setup, st); err != nil {
		cv.obs.close()
		return nil, err
	}
	if f.data.output != "" {
		file, err := create("-o", f.data.output)
		if err != nil {
			cv.obs.close()
			return nil, err
		}
		name := "-o " + f.data.output
		cv.tap = st.outs.guard(name, file)
		cv.obs.addCloser(name, file.Close)
	}
	if cv.interactive {
		cv.printer = &console.Printer{W: st.out, Hex: f.data.hex, Server: server, ShowOut: true, Color: colorOK(), Option: flagOf}
		cv.printer.SetEncodings(recv, send)
		setup.Observe(talk.Observer{Sink: cv.printer.Sink()})
	} else {
		switch {
		case f.data.json:
		case f.data.hex:
			h := &console.HexDump{W: st.out}
			setup.Observe(talk.Observer{Sink: h.Print})
		case f.data.timestamps:
			var enc *codec.Encoding
			if setup.Transcoding() {
				enc = recv
			}
			s := &console.Stamped{W: st.out, Enc: enc}
			setup.Observe(talk.Observer{Sink: s.Print})
		default:
			cv.out = st.out
			if !recv.IsUTF8() {
				w := recv.NewDecodeWriter(st.out)
				cv.out, cv.closeOut = w, w.Close
			}
		}
		if f.net.verbose || server {
			setup.Observe(talk.Observer{Sink: st.stderrLog(server).Sink(), Quiet: true})
		} else if reconnects, verify := setup.Reconnects(), o.VerifyChecksum && !f.data.json; reconnects || verify {
			// --retry/--forever: a reconnect is said on stderr, -v or
			// not (what the old connection took may be lost).
			// --verify-checksum: so is a message whose checksum is wrong,
			// or the check would be silent unless -v or --json.
			log := st.stderrLog(false)
			setup.Observe(talk.Observer{Quiet: true, Sink: func(e *event.Event) {
				if reconnects && (e.Kind == event.Retry || e.Kind == event.Connect && e.Conn > 1) ||
					verify && e.Kind == event.Error {
					log.Print(e)
				}
			}})
		}
	}
	if !setup.Transcoding() && !f.data.hex && !f.data.json && (cv.interactive || st.outTTY) {
		// A person reads the output: say so if it looks like GBK.
		setup.Observe(talk.Observer{Sink: encodingHint(cv.note(st), cv.interactive)})
	}
	return cv, nil
}

// dial connects a client's conversation, numbered 1, with -o FILE as its
// tap. With -v it prints the certificate a TLS, wss or DTLS server
// presented.
func (cv *conversation) dial(ctx context.Context, st *stdio) (*session.Conn, error) {
	nc, err := cv.Setup.Dial(ctx)
	if err != nil {
		return nil, err
	}
	cv.connected(st)(nc)
	return session.New(nc, cv.session(1)), nil
}

// connected is what the command line does with each new connection of a
// client: with -v, print the certificate a TLS, wss or DTLS server
// presented.
func (cv *conversation) connected(st *stdio) func(net.Conn) {
	return func(nc net.Conn) {
		if cv.f.net.verbose {
			if cert := endpoint.PeerCertificate(nc); cert != nil {
				st.errorf("%s", endpoint.DescribeCertificate(cert))
			}
		}
	}
}

// redial is how a client reconnects with --retry or --forever (nil
// without), each conversation with the options session gives.
func (cv *conversation) redial(st *stdio, session func(uint64) session.Options) *talk.Redial {
	r := cv.Redial(session)
	if r != nil {
		r.Connected = cv.connected(st)
	}
	return r
}

// session is the options of conversation id, with -o FILE as its tap.
func (cv *conversation) session(id uint64) session.Options {
	opt := cv.Session(id)
	opt.Tap = cv.tap
	return opt
}

// run talks on c until it ends: the prompt on a terminal, pipe mode
// otherwise.
func (cv *conversation) run(ctx context.Context, st *stdio, c *session.Conn) error {
	if cv.interactive {
		return cv.runInteractive(ctx, st, c)
	}
	in := st.in
	if cv.f.data.file != "" {
		file, err := os.Open(cv.f.data.file)
		if err != nil {
			c.Close(nil)
			return exitcode.Usagef("--file: %v", err)
		}
		defer file.Close()
		in = file
	}
	p := cv.Pipe(c)
	p.In, p.Out = in, cv.out
	p.NoShutdown, p.Quit, p.HalfDuplex, p.ShutNull = cv.f.pipe.noShutdown, cv.f.pipe.quit, cv.f.pipe.halfDuplex, cv.f.pipe.shutNull
	var clearProgress func()
	p.Progress, clearProgress = fileProgress(st, in)
	defer clearProgress()
	sess := cv.session
	if cv.out != nil && cv.tap != nil {
		p.Out = io.MultiWriter(cv.out, cv.tap)
		c.SetTap(nil)
		sess = func(id uint64) session.Options {
			o := cv.session(id)
			o.Tap = nil // Out writes to it
			return o
		}
	}
	if r := cv.redial(st, sess); r != nil {
		p.Reconnect = r.Again
	}
	err := p.Run(ctx, c)
	if cv.closeOut != nil {
		cv.closeOut()
	}
	if terr := c.TapErr(); terr != nil && err == nil {
		err = terr
	}
	return err
}

func (cv *conversation) runInteractive(ctx context.Context, st *stdio, c *session.Conn) error {
	// With --retry or --forever a connection that breaks is made again
	// (talk.Redial, its tries shown in the log) and the prompt stays;
	// lines typed meanwhile are refused, not queued.
	rd := cv.redial(st, cv.session)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var cur atomic.Pointer[session.Conn]
	var reconnecting atomic.Bool
	cur.Store(c)
	done := make(chan struct{})
	var readErr error
	go func(c *session.Conn) {
		defer close(done)
		for {
			_, err := c.Read()
			if err == nil {
				continue
			}
			if rd != nil && rctx.Err() == nil && session.BrokenByPeer(c, err) {
				reconnecting.Store(true)
				c.Close(err)
				next, rerr := rd.Again(rctx, c, err)
				if rerr == nil {
					c = next
					cur.Store(next)
					reconnecting.Store(false)
					if rctx.Err() != nil {
						next.Close(rctx.Err()) // the prompt ended meanwhile
						readErr = rctx.Err()
						return
					}
					continue
				}
				err = rerr
			}
			readErr = err
			return
		}
	}(c)
	send := func(write func(c *session.Conn) error) error {
		c := cur.Load()
		if reconnecting.Load() {
			return errNotConnected
		}
		err := write(c)
		if err != nil && rd != nil && session.BrokenByPeer(c, err) {
			return errNotConnected
		}
		return err
	}
	it := &console.Interactive{
		In:      st.inFile,
		Out:     st.out,
		Printer: cv.printer,
		Send: func(line string) error {
			return send(func(c *session.Conn) error {
				msg, err := cv.Compose().Message(nil, []byte(line+"\n"), c.Peer())
				if err != nil {
					return err
				}
				return c.Write(msg)
			})
		},
		SendRaw: func(b []byte) error {
			return send(func(c *session.Conn) error { return c.WriteRaw(b) })
		},
		SetEncoding: func(e *codec.Encoding) {
			cv.Compose().SetEncoding(e)
			cv.printer.SetEncodings(e, e)
		},
		Done: done,
	}
	err := it.Run(ctx)
	if err == nil {
		select {
		case <-done:
			err = readErr
		default:
		}
	}
	cancel() // a reconnect under way stops
	last := cur.Load()
	if err == nil {
		last.SetReason("closed by you")
	}
	last.Close(err)
	<-done
	if err == nil || isEOF(err) {
		return nil
	}
	return err
}

// errNotConnected refuses a line typed while a client reconnects.
var errNotConnected = errors.New("not sent: the connection broke and is being made again (see the log)")

func isEOF(err error) bool { return err == io.EOF }

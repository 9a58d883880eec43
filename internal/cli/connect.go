package cli

import (
	"context"
	"io"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/internal/checksum"
	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/console"
	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/session"
)

// pipeFlags are pipe mode's end-of-input options (SPEC §2.1).
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

// clientFlags are everything connect takes.
type clientFlags struct {
	net  netFlags
	data dataFlags
	tls  tlsFlags
	pipe pipeFlags
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
		Args: exactArgs(1, "one endpoint, such as 127.0.0.1:8888 or udp://127.0.0.1:8888"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if expect != "" {
				return runConnectExpect(cmd.Context(), st, &f, args[0], expect)
			}
			return runConnect(cmd.Context(), st, &f, args[0])
		},
	}
	cmd.Flags().StringVar(&expect, "expect", "", "exit 0 as soon as what arrives matches this regular expression; 1 if the peer closes, or --wait passes after the input ended, without a match")
	f.net.wait = time.Second
	f.net.register(cmd.Flags(), false)
	f.data.register(cmd.Flags())
	f.tls.register(cmd.Flags(), false)
	f.pipe.register(cmd)
	return cmd
}

func runConnect(ctx context.Context, st *stdio, f *clientFlags, arg string) error {
	ep, d, err := f.target(st, arg)
	if err != nil {
		return err
	}
	conv, err := f.conversation(st, ep, false)
	if err != nil {
		return err
	}
	defer conv.obs.close()
	nc, err := d.Dial(ctx, ep)
	if err != nil {
		return err
	}
	f.showPeerCert(st, nc)
	c := session.New(nc, conv.options(ep, 1))
	return conv.run(ctx, st, c)
}

// showPeerCert prints, with -v, the certificate a TLS, wss or DTLS
// server presented.
func (f *clientFlags) showPeerCert(st *stdio, nc net.Conn) {
	if !f.net.verbose {
		return
	}
	if cert := endpoint.PeerCertificate(nc); cert != nil {
		st.errorf("%s", endpoint.DescribeCertificate(cert))
	}
}

// target parses a client's endpoint (with --tls) and builds its Dialer.
func (f *clientFlags) target(st *stdio, arg string) (endpoint.Endpoint, *endpoint.Dialer, error) {
	ep, err := f.net.parse(arg, false)
	if err != nil {
		return ep, nil, err
	}
	if ep, err = f.tls.apply(ep); err != nil {
		return ep, nil, err
	}
	d, err := f.dialer(st, ep)
	return ep, d, err
}

// dialer builds the Dialer for the connection flags.
func (f *clientFlags) dialer(st *stdio, ep endpoint.Endpoint) (*endpoint.Dialer, error) {
	d := &endpoint.Dialer{
		Timeout:   f.net.timeout,
		Source:    f.net.source,
		KeepAlive: f.net.keepalive,
		Nagle:     !f.net.nodelay,
		Buffer:    int(f.net.buffer),
		NoDNS:     f.net.noDNS,
		Proxy:     f.net.proxy,
		Trace:     f.net.tracer(st.err),
	}
	if err := f.net.ep.dialer(d, st.err); err != nil {
		return nil, err
	}
	if ep.IsTLS() {
		cfg, err := f.tls.options().Client()
		if err != nil {
			return nil, err
		}
		d.TLS = cfg
	}
	return d, nil
}

// conversation is what connect and single-client listen share: how data
// is composed, shown and recorded for one conversation on stdin/stdout.
type conversation struct {
	f           *clientFlags
	server      bool
	interactive bool
	send, recv  *codec.Encoding
	spec        frame.Spec
	compose     *session.Compose
	printer     *console.Printer
	obs         observers
	tap         io.Writer // -o FILE
	out         io.Writer // pipe mode: where received bytes go (nil when another form is printed)
	closeOut    func() error
}

func (f *clientFlags) conversation(st *stdio, ep endpoint.Endpoint, server bool) (*conversation, error) {
	cv := &conversation{f: f, server: server}
	var err error
	if cv.send, cv.recv, err = f.data.codecs(); err != nil {
		return nil, err
	}
	if cv.spec, err = f.data.framing(); err != nil {
		return nil, err
	}
	if ep.Messages() && !cv.spec.IsRaw() && cv.spec.Kind != frame.Line {
		return nil, exitcode.WithHint("Note that each UDP datagram (WebSocket message, DTLS record) is already one message; --frame line splits stdin into one message per line.",
			"--frame %s is for streams, not %s", cv.spec, ep.Scheme)
	}
	if cv.compose, err = f.data.compose(cv.send); err != nil {
		return nil, err
	}
	if f.net.sendOnly && f.net.recvOnly {
		return nil, exitcode.Usagef("--send-only and --recv-only exclude each other")
	}
	if f.data.hex && f.data.json {
		return nil, exitcode.WithHint("Note that --json events carry the bytes as hex already.", "--hex and --json exclude each other")
	}
	cv.interactive = st.interactive() && !f.data.json && f.data.file == ""
	if err := f.data.commonObservers(&cv.obs, st, cv.recv); err != nil {
		return nil, err
	}
	if f.data.output != "" {
		file, err := create("-o", f.data.output)
		if err != nil {
			return nil, err
		}
		name := "-o " + f.data.output
		cv.tap = st.outs.guard(name, file)
		cv.obs.addCloser(name, file.Close)
	}
	if cv.interactive {
		cv.printer = &console.Printer{W: st.out, Hex: f.data.hex, Server: server, ShowOut: true, Color: colorOK()}
		cv.printer.SetEncodings(cv.recv, cv.send)
		cv.obs.add(cv.printer.Sink())
	} else {
		switch {
		case f.data.json:
		case f.data.hex:
			h := &console.HexDump{W: st.out}
			cv.obs.add(h.Print)
		case f.data.timestamps:
			var enc *codec.Encoding
			if f.data.transcoding() {
				enc = cv.recv
			}
			s := &console.Stamped{W: st.out, Enc: enc}
			cv.obs.add(s.Print)
		default:
			cv.out = st.out
			if !cv.recv.IsUTF8() {
				w := cv.recv.NewDecodeWriter(st.out)
				cv.out, cv.closeOut = w, w.Close
			}
		}
		if f.net.verbose || server {
			cv.obs.addQuiet(st.stderrLog(server).Sink())
		}
	}
	if !f.data.transcoding() && !f.data.hex && !f.data.json && (cv.interactive || st.outTTY) {
		// A person reads the output: say so if it looks like GBK.
		cv.obs.add(encodingHint(cv.note(st)))
	}
	if f.data.verifyChecksum {
		a, _ := checksum.Lookup(f.data.checksum)
		cv.obs.sinks = append([]event.Sink{checksumCheck(a, &cv.obs)}, cv.obs.sinks...)
	}
	return cv, nil
}

// checksumCheck reports received messages whose trailing checksum is wrong
// as error events to the other observers.
func checksumCheck(a *checksum.Algo, obs *observers) event.Sink {
	return func(e *event.Event) {
		if e.Kind != event.Data || e.Dir != event.In {
			return
		}
		if _, ok := a.Verify(e.Data); !ok {
			bad := *e
			bad.Kind, bad.Data = event.Error, nil
			bad.Err = "checksum mismatch: " + a.Name + " of the message does not match its last bytes"
			for _, s := range obs.sinks[1:] {
				s(&bad)
			}
		}
	}
}

// options are the session options for a conversation on ep.
func (cv *conversation) options(ep endpoint.Endpoint, id uint64) session.Options {
	opt := session.Options{
		ID:          id,
		Proto:       ep.Proto(),
		Frame:       cv.spec,
		MaxMessage:  cv.f.data.maxMsg(),
		Sink:        cv.obs.sink(),
		IdleTimeout: cv.f.net.idle,
		Packet:      ep.Messages(),
		Tap:         cv.tap,
		NoData:      cv.obs.noData(),
	}
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
	p := &session.Pipe{
		In:         in,
		Out:        cv.out,
		NoShutdown: cv.f.pipe.noShutdown,
		Quit:       cv.f.pipe.quit,
		HalfDuplex: cv.f.pipe.halfDuplex,
		ShutNull:   cv.f.pipe.shutNull,
		SendOnly:   cv.f.net.sendOnly,
		RecvOnly:   cv.f.net.recvOnly,
		Wait:       cv.f.net.wait,
		Delay:      cv.f.net.delay,
		// A server that has nothing to say does not end the conversation.
		QuietKeepsOpen: cv.server,
	}
	var clearProgress func()
	p.Progress, clearProgress = fileProgress(st, in)
	defer clearProgress()
	if cv.out != nil && cv.tap != nil {
		p.Out = io.MultiWriter(cv.out, cv.tap)
		c.SetTap(nil)
	}
	if !cv.compose.Passthrough() || (c.Packet() && cv.spec.Kind == frame.Line) || !cv.spec.IsRaw() {
		p.Lines = true
		p.Compose = func(dst, line []byte) ([]byte, error) { return cv.compose.Message(dst, line, c.Peer()) }
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
	done := make(chan struct{})
	var readErr error
	go func() {
		defer close(done)
		for {
			if _, err := c.Read(); err != nil {
				readErr = err
				return
			}
		}
	}()
	it := &console.Interactive{
		In:      st.inFile,
		Out:     st.out,
		Printer: cv.printer,
		Send: func(line string) error {
			msg, err := cv.compose.Message(nil, []byte(line+"\n"), c.Peer())
			if err != nil {
				return err
			}
			return c.Write(msg)
		},
		SendRaw: c.WriteRaw,
		SetEncoding: func(e *codec.Encoding) {
			cv.compose.SetEncoding(e)
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
			c.SetReason("closed by you")
		}
	}
	c.Close(err)
	<-done
	if err == nil || isEOF(err) {
		return nil
	}
	return err
}

func isEOF(err error) bool { return err == io.EOF }

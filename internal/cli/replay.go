package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/optfile"
	"github.com/sockit/sockit/internal/replay"
	"github.com/sockit/sockit/internal/server"
	"github.com/sockit/sockit/internal/session"
)

type replayFlags struct {
	clientFlags
	as     string
	timing bool
	expect bool
	conn   uint64
}

func newReplay(st *stdio) *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay FILE EP --as client|server",
		Short: "Play a recorded conversation (--record FILE) back, as client or as server",
		Long: `Play back a conversation recorded with --record (or printed with --json):
the messages one side sent are sent again, in order, each after what the
other side sent before it has arrived.

--as client connects to EP and sends what the client sent; --as server
listens on EP, serves one client and answers it as the server did. Either
side can be played from either side's recording, so a session recorded once
against a real device becomes a mock of that device (--as server), and a
session recorded against a server becomes a test of it (--as client
--expect).

--timing keeps the recorded pauses before each message sent. --expect
checks that what arrives is what arrived in the recording, message by
message when the recording was framed (--frame) or made of datagrams, and
as a byte stream otherwise; the first difference ends the replay with exit
status 1:

  message 3: expected "PONG\r\n", got "ERR\r\n"`,
		Example: `  sockit send 127.0.0.1:6379 'PING\r\n' --escapes --record ping.jsonl
  sockit replay ping.jsonl 127.0.0.1:6379 --as client --expect   # the server still answers the same
  sockit replay ping.jsonl 127.0.0.1:7000 --as server            # a mock server answering as recorded
  sockit replay device.jsonl udp://127.0.0.1:9000 --as client --timing`,
		Args: exactArgs(2, "a transcript and an endpoint: sockit replay session.jsonl 127.0.0.1:8888 --as client"),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, name := range notForReplay {
				if cmd.Flags().Changed(name) {
					return exitcode.WithHint("Note that replay sends the recorded bytes exactly as they were.",
						"--%s does not apply to replay", name)
				}
			}
			return runReplay(cmd.Context(), st, &f, args[0], args[1])
		},
	}
	f.net.wait = 5 * time.Second
	f.net.register(cmd.Flags(), false)
	f.data.register(cmd.Flags())
	f.tls.register(cmd.Flags(), false)
	fs := cmd.Flags()
	fs.StringVar(&f.tls.opts.Cert, "cert", "", "server certificate, PEM, for --as server on tls:// (default: an ephemeral self-signed one)")
	fs.StringVar(&f.tls.opts.Key, "key", "", "private key for --cert, PEM")
	fs.StringVar(&f.as, "as", "", "play the client (connect to EP) or the server (listen on EP)")
	fs.BoolVar(&f.timing, "timing", false, "keep the recorded pauses before each message sent")
	fs.BoolVar(&f.expect, "expect", false, "check that what arrives matches the recording; exit 1 at the first difference")
	fs.Uint64Var(&f.conn, "conn", 0, "which conversation of the transcript to play (its conn number; default the first with data)")
	fs.Lookup("wait").Usage = "how long to wait for each message expected from the peer"
	for _, name := range notForReplay {
		fs.MarkHidden(name)
	}
	return cmd
}

// notForReplay are the data options that shape what is sent: a replay
// sends the recorded bytes, so they are refused (and not listed in help).
var notForReplay = []string{"send-hex", "escapes", "template", "file", "checksum", "verify-checksum", "eol", "crlf", "send-encoding", "delay", "send-only", "recv-only"}

func runReplay(ctx context.Context, st *stdio, f *replayFlags, file, arg string) error {
	var role replay.Role
	switch f.as {
	case "client", "server":
		role = replay.Role(f.as)
	case "":
		return exitcode.WithHint("Note that --as client connects to EP, --as server listens on it.", "replay needs --as client or --as server")
	default:
		return exitcode.Usagef("bad --as %q: want client or server", f.as)
	}
	script, err := loadScript(ctx, file, f.conn)
	if err != nil {
		return err
	}
	asServer := role == replay.Server
	ep, err := f.net.parse(arg, asServer)
	if err != nil {
		return err
	}
	if ep, err = f.tls.apply(ep); err != nil {
		return err
	}
	if f.data.frame == "" && script.Frame != "" && !ep.Messages() {
		f.data.frame = script.Frame // send and compare the messages as they were framed
	}
	pst := *st
	pst.inTTY = false // a replay takes no input: never the prompt
	conv, err := f.conversation(&pst, ep, asServer)
	if err != nil {
		return err
	}
	defer conv.obs.close()

	steps := script.As(role)
	player := &replay.Player{
		Timing:     f.timing,
		Expect:     f.expect,
		Wait:       f.net.wait,
		PerMessage: ep.Messages() || !conv.spec.IsRaw(),
	}
	play := func(ctx context.Context, c *session.Conn) error {
		c.SetTap(conv.received()) // stdout and -o FILE
		err := player.Play(ctx, c, steps)
		if err == nil {
			c.SetReason("replay finished")
		}
		return err
	}
	if f.net.verbose {
		sends, expects := replay.Counts(steps)
		fmt.Fprintf(st.err, "sockit: replaying conversation %d of %s as %s: %d messages to send, %d to expect\n", script.Conn, file, role, sends, expects)
	}

	if !asServer {
		d, err := f.dialer(st, ep)
		if err != nil {
			return err
		}
		nc, err := d.Dial(ctx, ep)
		if err != nil {
			return err
		}
		c := session.New(nc, conv.options(ep, 1))
		err = play(ctx, c)
		c.Close(err)
		return err
	}

	// As a server: one client, played the script, then the end.
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var playErr error
	srv := &server.Server{
		Conn: conv.options(ep, 0),
		Once: true,
		Sink: conv.obs.sink(),
		Handler: func(ctx context.Context, c *session.Conn) error {
			playErr = play(ctx, c)
			cancel() // a datagram server has no end of its own
			return playErr
		},
	}
	lc := &endpoint.ListenConfig{Buffer: int(f.net.buffer), Trace: f.net.tracer(st.err)}
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
		}
	}
	err = serve(ctx, srv, lc, ep)
	if playErr != nil {
		return playErr
	}
	if parent.Err() != nil {
		return parent.Err()
	}
	if errors.Is(err, context.Canceled) {
		return nil // the handler ended the datagram server
	}
	return err
}

// loadScript reads the transcript, a line at a time (event.MaxLine each)
// from a regular file, keeping only the conversation to play; a file
// that is not a transcript is a usage error naming the line.
func loadScript(ctx context.Context, file string, conn uint64) (*replay.Script, error) {
	fh, err := optfile.Open(file)
	if err != nil {
		return nil, exitcode.Usagef("replay: %v", err)
	}
	defer fh.Close()
	sc := event.NewScanner(optfile.Reader(ctx, fh))
	l := replay.NewLoader(conn)
	for sc.Scan() {
		if err := l.Add(sc.Record()); err != nil {
			return nil, exitcode.Usagef("replay %s: %v", file, err)
		}
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, exitcode.WithHint("Note that replay reads the JSON lines that --record FILE (or --json) writes.",
			"replay %s: %v", file, err)
	}
	s, err := l.Script()
	if err != nil {
		return nil, exitcode.Usagef("replay %s: %v", file, err)
	}
	return s, nil
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/optfile"
	"github.com/sockit/sockit/internal/replay"
	"github.com/sockit/sockit/internal/server"
	"github.com/sockit/sockit/internal/session"
	"github.com/sockit/sockit/internal/talk"
)

type replayFlags struct {
	clientFlags
	as     string
	timing bool
	expect bool
	conn   uint64
	// --match: the mock that answers many clients by request.
	match bool
	key   string
	dflt  string
	count int
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

--as server --match serves any number of clients at once and answers each
request with what the recorded server answered that request, in any
conversation of the transcript, whatever order the client asks in: by its
exact bytes first (on a raw stream what arrives is answered as soon as it
begins with a recorded request, and waited on for up to --wait while it
is the start of one; with --frame or datagrams, message by message), then
by --match-key REGEX (the request's first group, or whole match, must equal a
recorded request's). A request recorded with several answers gets them in
order in each conversation, then the last again. A request that matches
nothing is an error event (stderr, --json) and gets --default's answer,
or none; the mock serves on until Ctrl-C, SIGTERM or --count clients,
then exits 1 if any request matched nothing, 0 otherwise.

--timing keeps the recorded pauses before each message sent. --expect
checks that what arrives is what arrived in the recording, message by
message when the recording was framed (--frame) or made of datagrams, and
as a byte stream otherwise; the first difference ends the replay with exit
status 1:

  message 3: expected "PONG\r\n", got "ERR\r\n"`,
		Example: `  sockit send 127.0.0.1:6379 'PING\r\n' --escapes --record ping.jsonl
  sockit replay ping.jsonl 127.0.0.1:6379 --as client --expect   # the server still answers the same
  sockit replay ping.jsonl 127.0.0.1:7000 --as server            # a mock server answering as recorded
  sockit replay device.jsonl udp://127.0.0.1:9000 --as client --timing
  sockit relay --json 127.0.0.1:6380 127.0.0.1:6379 > redis.jsonl   # record redis-cli -p 6380 sessions
  sockit replay redis.jsonl 127.0.0.1:6379 --as server --match --default '-ERR not recorded\r\n'   # then a Redis mock`,
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
	f.opt.Wait = 5 * time.Second
	f.register(cmd, talk.Client)
	fs := cmd.Flags()
	fs.StringVar(&f.opt.TLSOptions.Cert, "cert", "", "server certificate, PEM, for --as server on tls:// (default: an ephemeral self-signed one)")
	fs.StringVar(&f.opt.TLSOptions.Key, "key", "", "private key for --cert, PEM")
	fs.StringVar(&f.as, "as", "", "play the client (connect to EP) or the server (listen on EP)")
	fs.BoolVar(&f.timing, "timing", false, "keep the recorded pauses before each message sent")
	fs.BoolVar(&f.expect, "expect", false, "check that what arrives matches the recording; exit 1 at the first difference")
	fs.Uint64Var(&f.conn, "conn", 0, "which conversation of the transcript to play (its conn number; default the first with data)")
	fs.BoolVar(&f.match, "match", false, "with --as server: serve many clients, answering each request by what it asks, from every conversation recorded")
	fs.StringVar(&f.key, "match-key", "", "with --match: match a request the recording lacks by this regexp's first group (or whole match) over its bytes")
	fs.StringVar(&f.dflt, "default", "", `with --match: answer requests that match nothing with TEXT (\r \n \xNN escapes), @FILE or hex:BYTES`)
	fs.Var(intFlag{n: &f.count, max: maxCount, zero: "until Ctrl-C"}, "count", "with --match: end once this many clients have come and gone (0: serve until Ctrl-C)")
	fs.Lookup("wait").Usage = "how long to wait for each message expected from the peer (--match: for the rest of a request)"
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
	if f.match || f.key != "" || f.dflt != "" || f.count != 0 {
		return runMock(ctx, st, f, role, file, arg)
	}
	script, err := loadScript(ctx, file, f.conn)
	if err != nil {
		return err
	}
	asServer := role == replay.Server
	talkRole := talk.Client
	if asServer {
		talkRole = talk.Server
	}
	o, err := f.options(st, arg, talkRole)
	if err != nil {
		return err
	}
	framedAsRecorded(&o, script.Frame) // send and compare the messages as they were framed
	pst := *st
	pst.inTTY = false // a replay takes no input: never the prompt
	conv, err := f.conversationOf(&pst, o)
	if err != nil {
		return err
	}
	defer conv.obs.close()

	steps := script.As(role)
	player := &replay.Player{
		Timing:     f.timing,
		Expect:     f.expect,
		Wait:       f.opt.Wait,
		PerMessage: conv.PerMessage(),
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
		c, err := conv.dial(ctx, st)
		if err != nil {
			return err
		}
		err = play(ctx, c)
		c.Close(err)
		return err
	}

	// As a server: one client, played the script, then the end.
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var playErr error
	srv := conv.Server()
	srv.Once = true
	srv.Conn.IdleTimeout = o.Idle // one peer, played to its end
	srv.Handler = func(ctx context.Context, c *session.Conn) error {
		playErr = play(ctx, c)
		cancel() // a datagram server has no end of its own
		return playErr
	}
	l := conv.Listening()
	certNote(st, l, true)
	err = l.Serve(ctx, srv)
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

// runMock is replay --as server --match: a server for many clients that
// answers each request from every conversation of the transcript
// (replay.Mock). Ctrl-C, SIGTERM and --count are its normal end; a
// request that matched nothing makes it exit 1.
func runMock(ctx context.Context, st *stdio, f *replayFlags, role replay.Role, file, arg string) error {
	const hint = "Note that --match makes replay --as server a mock for many clients; --match-key, --default and --count go with it."
	switch {
	case !f.match:
		return exitcode.WithHint(hint, "--match-key, --default and --count need --match")
	case role != replay.Server:
		return exitcode.WithHint(hint, "--match is for --as server")
	case f.expect:
		return exitcode.WithHint("Note that --match reports each request that matches nothing, and exits 1 at the end.",
			"--expect checks one client in the recorded order; it does not go with --match")
	}
	mock := &replay.Mock{Timing: f.timing, Wait: f.opt.Wait, Count: int64(f.count)}
	if f.key != "" {
		var err error
		if mock.Key, err = regexp.Compile(f.key); err != nil {
			return exitcode.WithHint("Note that --match-key is a Go regular expression over a request's bytes, such as '^\\*\\d+\\r\\n\\$\\d+\\r\\n(\\w+)'.",
				"bad --match-key %q: %v", f.key, err)
		}
	}
	if f.dflt != "" {
		r, err := server.ParseReply("--default", f.dflt, server.ReplyOptions{Escapes: true})
		if err != nil {
			return err
		}
		mock.Default, _ = r.Append(nil, 0, "")
	}
	book, err := loadBook(ctx, file, f.conn)
	if err != nil {
		return err
	}
	o, err := f.options(st, arg, talk.Server)
	if err != nil {
		return err
	}
	ep, err := o.ParseEndpoint()
	if err != nil {
		return err
	}
	framedAsRecorded(&o, book.Frame) // a UDP peer's idle time is talk's, as for listen
	pst := *st
	pst.inTTY = false
	conv, err := f.conversationOf(&pst, o)
	if err != nil {
		return err
	}
	defer conv.obs.close()
	mock.Book, mock.Packet, mock.Frame, mock.Sink = book, ep.Messages(), conv.Frame(), conv.Sink()
	if err := mock.Prepare(); err != nil {
		return exitcode.Usagef("replay %s: %v", file, err)
	}
	if f.net.verbose {
		fmt.Fprintf(st.err, "sockit: answering from %s: %d exchanges, %d distinct requests, in %d conversations\n",
			file, book.Exchanges(), book.Requests(), book.Conversations())
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	mock.Finished = cancel
	srv := conv.Server()
	srv.Handler, srv.Once = mock.Handle, false // every client, at once
	if w := conv.received(); w != nil {
		srv.Conn.Tap = &lockedWriter{w: w} // what every client sent, to stdout and -o
	}
	l := conv.Listening()
	certNote(st, l, true)
	err = l.Serve(ctx, srv)
	if merr := mock.Err(); merr != nil {
		return &hinted{merr, "Note that each such request is an error event above (and in --json); --default answers them, --match-key REGEX matches them by a key."}
	}
	if errors.Is(err, context.Canceled) {
		return nil // Ctrl-C, SIGTERM or --count: the mock's end
	}
	return err
}

// framedAsRecorded frames a stream conversation as the transcript was
// framed (recorded) unless --frame says otherwise.
func framedAsRecorded(o *talk.Options, recorded string) {
	if ep, err := o.ParseEndpoint(); err == nil && o.Frame == "" && recorded != "" && !ep.Messages() {
		o.Frame = recorded
	}
}

// loadBook reads every conversation of the transcript (or --conn's) into
// a replay.Book, a line at a time.
func loadBook(ctx context.Context, file string, conn uint64) (*replay.Book, error) {
	l := replay.NewBookLoader(conn)
	if err := readTranscript(ctx, file, l.Add); err != nil {
		return nil, err
	}
	b, err := l.Book()
	if err != nil {
		return nil, transcriptError(file, err)
	}
	return b, nil
}

// transcriptError is a transcript replay cannot use, as a usage error
// naming the file: the engine's options in it written as flags, and its
// what-to-try line kept.
func transcriptError(file string, err error) error {
	return exitcode.WithHint(exitcode.Hint(err), "replay %s: %s", file, exitcode.Message(err))
}

// loadScript reads the transcript, a line at a time (event.MaxLine each)
// from a regular file, keeping only the conversation to play; a file
// that is not a transcript is a usage error naming the line.
func loadScript(ctx context.Context, file string, conn uint64) (*replay.Script, error) {
	l := replay.NewLoader(conn)
	if err := readTranscript(ctx, file, l.Add); err != nil {
		return nil, err
	}
	s, err := l.Script()
	if err != nil {
		return nil, transcriptError(file, err)
	}
	return s, nil
}

// readTranscript gives add each record of the transcript file, read a
// line at a time (event.MaxLine each) from a regular file; a file that
// is not a transcript is a usage error naming the line.
func readTranscript(ctx context.Context, file string, add func(event.Record) error) error {
	fh, err := optfile.Open(file)
	if err != nil {
		return exitcode.Usagef("replay: %v", err)
	}
	defer fh.Close()
	sc := event.NewScanner(optfile.Reader(ctx, fh))
	for sc.Scan() {
		if err := add(sc.Record()); err != nil {
			return transcriptError(file, err)
		}
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return exitcode.WithHint("Note that replay reads the JSON lines that --record FILE (or --json) writes.",
			"replay %s: %v", file, err)
	}
	return nil
}

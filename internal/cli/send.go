package cli

import (
	"context"
	"io"
	"os"
	"regexp"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/talk"
)

type sendFlags struct {
	clientFlags
	expect   string
	count    int
	interval time.Duration
	shutdown bool
}

func newSend(st *stdio) *cobra.Command {
	var f sendFlags
	cmd := &cobra.Command{
		Use:   "send EP [DATA]",
		Short: "Send once (DATA, --file or stdin), print the reply, exit",
		Long: `Send DATA (or --file, or stdin) to EP, print what comes back within --wait,
and exit: the client of every socket tutorial in one line.

DATA goes as it is, with no line end: --eol lf|crlf|cr (or -C) ends each
line with one, which line-based servers wait for; --frame line does the
same and frames what comes back. A file or stdin is streamed, so its size
does not matter; on UDP (one datagram), with --frame lenN or fixed:N and
with --checksum it is one message, up to --max-message.

send exits 0 once the data went out, whether or not a reply came (a note
on stderr says when none came within --wait). With --expect REGEX the exit
status says whether what came back matched (0) or not (1), for scripts
and health checks; --expect . requires any reply.`,
		Example: `  sockit send udp://127.0.0.1:8888 hello
  sockit send -C 127.0.0.1:7000 PING                  # a line: PING\r\n
  sockit send 127.0.0.1:8888 'GET / HTTP/1.0\r\n\r\n' --escapes --shutdown
  sockit send --send-hex udp://127.0.0.1:9000 '01 03 00 00 00 0a'
  sockit send --encoding gbk 127.0.0.1:8888 你好
  sockit send 127.0.0.1:6379 'PING\r\n' --escapes --expect PONG
  sockit send --file big.bin 127.0.0.1:9000 --wait 0
  sockit send --count 10 --interval 1s --template udp://127.0.0.1:8888 'msg {{seq}}'`,
		Args: endpointArgs(1, 2, "an endpoint and optionally the data: sockit send udp://127.0.0.1:8888 hello"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSend(cmd.Context(), st, &f, args)
		},
	}
	f.opt.Wait = time.Second
	f.register(cmd, talk.Client)
	fs := cmd.Flags()
	// send, unlike the prompt, adds no line end unless asked.
	fs.Lookup("eol").Usage = "end each line sent with this: lf, crlf, cr (default none: DATA goes as it is)"
	fs.StringVar(&f.expect, "expect", "", "exit 0 when what comes back matches this regular expression, 1 when it does not (--expect . requires a reply)")
	f.count = 1
	fs.Var(intFlag{n: &f.count, min: 1, max: maxCount}, "count", "send this many times")
	fs.Var(seconds{d: &f.interval}, "interval", "pause between sends with --count (1s, 100ms)")
	fs.BoolVar(&f.shutdown, "shutdown", false, "after sending, shut down the write side (TCP FIN) as HTTP/1.0 servers expect")
	return cmd
}

func runSend(ctx context.Context, st *stdio, f *sendFlags, args []string) error {
	var re *regexp.Regexp
	if f.expect != "" {
		var err error
		if re, err = regexp.Compile(f.expect); err != nil {
			return exitcode.Usagef("bad --expect: %v", err)
		}
	}
	// send prints replies, not a live log: pipe-style output, or on a
	// terminal the decoded text.
	stInteractive := *st
	stInteractive.inTTY = false
	conv, err := f.conversation(&stInteractive, args[0], talk.Client)
	if err != nil {
		return err
	}
	defer conv.obs.close()
	ep := conv.Endpoint()
	wait := f.opt.Wait
	p, closeInput, err := f.payload(st, args)
	if err != nil {
		return err
	}
	defer closeInput()
	x, err := conv.Prepare(p)
	if err != nil {
		return err
	}
	if st.outTTY && conv.out != nil && !f.data.json {
		// A person is reading: show the reply as text, escaped where it is
		// not printable, each message on its own line.
		conv.out = nil
		conv.Observe(talk.Observer{Sink: replyPrinter(st.out, conv)})
	}
	if re != nil {
		x.Expect(re)
	}
	x.Observe()

	c, err := conv.dial(ctx, st)
	if err != nil {
		return err
	}
	c.SetTap(conv.received()) // stdout and -o FILE
	res, err := x.Run(ctx, c, talk.Exchange{
		Interval: f.interval, Shutdown: f.shutdown, Wait: wait, Progress: progress(st),
		PeerClosed: func(cut string) {
			if cut != "" {
				st.errorf("note: %s: %s", ep, cut)
			}
		},
	})
	if conv.closeOut != nil {
		conv.closeOut()
	}
	if err != nil {
		return err
	}
	if re != nil {
		switch {
		case res.Matched:
			return nil
		case !res.Replied && wait > 0:
			return exitcode.Mismatchf("no reply from %s within %s (--wait), so nothing matched --expect %q", ep, wait, f.expect)
		}
		return exitcode.Mismatchf("reply from %s did not match --expect %q", ep, f.expect)
	}
	if !res.Replied && wait > 0 {
		// Fire and forget (syslog, a device that only listens) is not a
		// failure: the data went out (README "Exit codes").
		st.errorf("note: nothing came back from %s within %s (--wait); --expect . makes a reply required", ep, wait)
	}
	return nil
}

// payload is what send sends: DATA, --file or stdin, and how to close it.
func (f *sendFlags) payload(st *stdio, args []string) (talk.Payload, func(), error) {
	p := talk.Payload{Count: f.count, Name: "stdin"}
	none := func() {}
	switch {
	case len(args) == 2 && f.data.file != "":
		return p, none, exitcode.Usagef("give DATA or --file, not both")
	case len(args) == 2:
		p.Data = []byte(args[1])
	case f.data.file != "":
		file, err := os.Open(f.data.file)
		if err != nil {
			return p, none, exitcode.Usagef("--file: %v", err)
		}
		p.R, p.File, p.Name = file, file, "--file "+f.data.file
		return p, func() { file.Close() }, nil
	case st.inTTY:
		return p, none, exitcode.WithHint("Note that send takes DATA after the endpoint, --file PATH, or stdin from a pipe.",
			"nothing to send")
	default:
		p.R = st.in
		if file, ok := st.in.(*os.File); ok {
			p.File = file
		}
	}
	return p, none, nil
}

// replyPrinter shows each reply as decoded text on its own line.
func replyPrinter(w io.Writer, conv *conversation) event.Sink {
	var buf []byte
	_, recv := conv.Encodings()
	return func(e *event.Event) {
		if e.Kind != event.Data || e.Dir != event.In {
			return
		}
		buf = recv.AppendDisplay(buf[:0], e.Data)
		buf = append(buf, '\n')
		w.Write(buf)
	}
}

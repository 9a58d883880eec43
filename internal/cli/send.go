package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/session"
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
		Long: `Send DATA (or --file, or stdin) to EP as one message, print what comes back
within --wait, and exit: the client of every socket tutorial in one line.
With --expect REGEX the exit status says whether the reply matched (0) or
not (1), for scripts and health checks. Exit status 1 also means no reply
arrived at all; --wait 0 sends without waiting for one.`,
		Example: `  sockit send udp://127.0.0.1:8888 hello
  sockit send 127.0.0.1:8888 'GET / HTTP/1.0\r\n\r\n' --escapes --shutdown
  sockit send --send-hex udp://127.0.0.1:9000 '01 03 00 00 00 0a'
  sockit send --encoding gbk 127.0.0.1:8888 你好
  sockit send 127.0.0.1:6379 'PING\r\n' --escapes --expect PONG
  sockit send --count 10 --interval 1s --template udp://127.0.0.1:8888 'msg {{seq}}'`,
		Args: rangeArgs(1, 2, "an endpoint and optionally the data: sockit send udp://127.0.0.1:8888 hello"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSend(cmd.Context(), st, &f, args)
		},
	}
	f.net.wait = time.Second
	f.net.register(cmd.Flags(), false)
	f.data.register(cmd.Flags())
	f.tls.register(cmd.Flags(), false)
	fs := cmd.Flags()
	fs.StringVar(&f.expect, "expect", "", "exit 0 when the reply matches this regular expression, 1 when it does not")
	f.count = 1
	fs.Var(intFlag{n: &f.count, min: 1, max: maxCount}, "count", "send this many times")
	fs.Var(seconds{d: &f.interval}, "interval", "pause between sends with --count (1s, 100ms)")
	fs.BoolVar(&f.shutdown, "shutdown", false, "after sending, shut down the write side (TCP FIN) as HTTP/1.0 servers expect")
	return cmd
}

func runSend(ctx context.Context, st *stdio, f *sendFlags, args []string) error {
	ep, d, err := f.target(st, args[0])
	if err != nil {
		return err
	}
	var re *regexp.Regexp
	if f.expect != "" {
		if re, err = regexp.Compile(f.expect); err != nil {
			return exitcode.Usagef("bad --expect: %v", err)
		}
	}
	if f.count < 1 {
		return exitcode.Usagef("--count must be at least 1, got %d", f.count)
	}
	data, err := f.input(st, args)
	if err != nil {
		return err
	}
	// send prints replies, not a live log: pipe-style output, or on a
	// terminal the decoded text.
	stInteractive := *st
	stInteractive.inTTY = false
	conv, err := f.conversation(&stInteractive, ep, false)
	if err != nil {
		return err
	}
	defer conv.obs.close()
	if st.outTTY && conv.out != nil && !f.data.json {
		// A person is reading: show the reply as text, escaped where it is
		// not printable, each message on its own line.
		conv.out = nil
		conv.obs.add(replyPrinter(st.out, conv))
	}

	// The reply matcher sees decoded text of everything received.
	matched := make(chan struct{})
	var (
		mu      sync.Mutex
		got     []byte
		once    sync.Once
		replied = make(chan struct{})
		rOnce   sync.Once
		arrived = make(chan struct{}, 1) // a signal per reply, to restart --wait
	)
	conv.obs.add(func(e *event.Event) {
		if e.Kind != event.Data || e.Dir != event.In {
			return
		}
		rOnce.Do(func() { close(replied) })
		select {
		case arrived <- struct{}{}:
		default:
		}
		if re == nil {
			return
		}
		mu.Lock()
		got = append(got, e.Data...)
		text, _ := conv.recv.Decode(got)
		mu.Unlock()
		if re.MatchString(text) {
			once.Do(func() { close(matched) })
		}
	})

	// Bad input (hex, escapes, an encoding that cannot carry the text) is
	// a usage error before any socket opens. Templates change with each
	// send, so they are composed at each send instead.
	var fixed []byte
	if !f.data.template {
		if fixed, err = conv.compose.Message(nil, data, ""); err != nil {
			return err
		}
	} else if err := conv.compose.Check(data); err != nil {
		return err // a bad placeholder, found without counting a message
	}

	nc, err := d.Dial(ctx, ep)
	if err != nil {
		return err
	}
	c := session.New(nc, conv.options(ep, 1))
	c.SetTap(conv.received()) // stdout and -o FILE

	readDone := make(chan error, 1)
	go func() {
		for {
			if _, err := c.Read(); err != nil {
				readDone <- err
				return
			}
		}
	}()

	for i := 0; i < f.count; i++ {
		if i > 0 && f.interval > 0 {
			select {
			case <-time.After(f.interval):
			case <-ctx.Done():
				c.Close(ctx.Err())
				return ctx.Err()
			case err := <-readDone:
				c.Close(err)
				return fmt.Errorf("peer closed before all %d messages were sent: %w", f.count, endOr(err))
			}
		}
		msg := fixed
		if f.data.template {
			if msg, err = conv.compose.Message(nil, data, c.Peer()); err != nil {
				c.Close(err)
				return err
			}
		}
		if err := writeWithProgress(st, c, msg, conv.spec.IsRaw() && !c.Packet()); err != nil {
			c.Close(err)
			return err
		}
	}
	if f.shutdown {
		c.CloseWrite()
	}
	err = awaitReplies(ctx, f.net.wait, arrived, matched, readDone)
	c.Close(err)
	if conv.closeOut != nil {
		conv.closeOut()
	}
	if err != nil {
		return err
	}
	if re != nil {
		select {
		case <-matched:
			return nil
		default:
			return exitcode.Mismatchf("reply from %s did not match --expect %q", ep, f.expect)
		}
	}
	if f.net.wait > 0 {
		select {
		case <-replied:
		default:
			return exitcode.Mismatchf("no reply from %s within %s (--wait)", ep, f.net.wait)
		}
	}
	return nil
}

// awaitReplies waits until the peer closes, the expectation matches, or
// wait passes without anything new arriving.
func awaitReplies(ctx context.Context, wait time.Duration, arrived, matched <-chan struct{}, readDone <-chan error) error {
	if wait <= 0 {
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-matched:
			return nil
		case <-arrived:
			// Each reply restarts the wait, so a reply in several pieces
			// is read whole.
			timer.Reset(wait)
		case err := <-readDone:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func endOr(err error) error {
	if err == nil {
		return io.EOF
	}
	return err
}

// input is the one message to send: DATA, --file or stdin.
func (f *sendFlags) input(st *stdio, args []string) ([]byte, error) {
	switch {
	case len(args) == 2 && f.data.file != "":
		return nil, exitcode.Usagef("give DATA or --file, not both")
	case len(args) == 2:
		return []byte(args[1]), nil
	case f.data.file != "":
		b, err := os.ReadFile(f.data.file)
		if err != nil {
			return nil, exitcode.Usagef("--file: %v", err)
		}
		return b, nil
	case st.inTTY:
		return nil, exitcode.WithHint("Note that send takes DATA after the endpoint, --file PATH, or stdin from a pipe.",
			"nothing to send")
	}
	b, err := io.ReadAll(st.in)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// replyPrinter shows each reply as decoded text on its own line.
func replyPrinter(w io.Writer, conv *conversation) event.Sink {
	var buf []byte
	return func(e *event.Event) {
		if e.Kind != event.Data || e.Dir != event.In {
			return
		}
		buf = conv.recv.AppendDisplay(buf[:0], e.Data)
		buf = append(buf, '\n')
		w.Write(buf)
	}
}

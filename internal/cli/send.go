package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/match"
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
	// send prints replies, not a live log: pipe-style output, or on a
	// terminal the decoded text.
	stInteractive := *st
	stInteractive.inTTY = false
	conv, err := f.conversation(&stInteractive, ep, false)
	if err != nil {
		return err
	}
	defer conv.obs.close()
	in, err := f.input(st, args, conv, ep)
	if err != nil {
		return err
	}
	defer in.close()
	if st.outTTY && conv.out != nil && !f.data.json {
		// A person is reading: show the reply as text, escaped where it is
		// not printable, each message on its own line.
		conv.out = nil
		conv.obs.add(replyPrinter(st.out, conv))
	}

	// What comes back: a signal per reply (to restart --wait), and the
	// --expect matcher, capped, fed each reply once.
	var (
		matched = make(chan struct{})
		mOnce   sync.Once
		replied = make(chan struct{})
		rOnce   sync.Once
		arrived = make(chan struct{}, 1)
		m       *match.Matcher
	)
	if re != nil {
		m = match.Regexp(re, conv.recv, 0)
	}
	conv.obs.add(func(e *event.Event) {
		if e.Kind != event.Data || e.Dir != event.In {
			return
		}
		rOnce.Do(func() { close(replied) })
		select {
		case arrived <- struct{}{}:
		default:
		}
		if m != nil {
			if m.Feed(e.Data); m.Matched() {
				mOnce.Do(func() { close(matched) })
			}
		}
	})

	nc, err := d.Dial(ctx, ep)
	if err != nil {
		return err
	}
	f.showPeerCert(st, nc)
	c := session.New(nc, conv.options(ep, 1))
	c.SetTap(conv.received()) // stdout and -o FILE

	var readErr error
	readDone := make(chan struct{}) // closed when the peer closed or failed; readErr says which
	go func() {
		defer close(readDone)
		for {
			if _, err := c.Read(); err != nil {
				readErr = err
				return
			}
		}
	}()

	peerClosed := false
	for i := 0; i < f.count; i++ {
		if peerClosed {
			c.Close(nil)
			return fmt.Errorf("peer closed before all %d messages were sent: %w", f.count, endOr(readErr))
		}
		if i > 0 && f.interval > 0 {
			select {
			case <-time.After(f.interval):
			case <-ctx.Done():
				c.Close(ctx.Err())
				return ctx.Err()
			case <-readDone:
				c.Close(readErr)
				return fmt.Errorf("peer closed before all %d messages were sent: %w", f.count, endOr(readErr))
			}
		}
		if peerClosed, err = in.send(ctx, st, c, i, readDone, &readErr); err != nil {
			c.Close(err)
			return err
		}
	}
	if peerClosed {
		if cut := c.Reason(); cut != "" {
			st.errorf("note: %s: %s", ep, cut)
		}
	} else if f.shutdown {
		c.CloseWrite()
	}
	err = awaitReplies(ctx, f.net.wait, arrived, matched, readDone, &readErr)
	switch {
	case err != nil:
	case isClosed(matched):
		c.SetReason("--expect matched")
	case isClosed(readDone):
	case f.net.wait > 0:
		c.SetReason("no more replies within --wait")
	default:
		c.SetReason("sent (--wait 0)")
	}
	c.Close(err)
	<-readDone
	if conv.closeOut != nil {
		conv.closeOut()
	}
	if err != nil {
		return err
	}
	gotReply := isClosed(replied)
	if re != nil {
		switch {
		case isClosed(matched):
			return nil
		case !gotReply && f.net.wait > 0:
			return exitcode.Mismatchf("no reply from %s within %s (--wait), so nothing matched --expect %q", ep, f.net.wait, f.expect)
		}
		return exitcode.Mismatchf("reply from %s did not match --expect %q", ep, f.expect)
	}
	if !gotReply && f.net.wait > 0 {
		// Fire and forget (syslog, a device that only listens) is not a
		// failure: the data went out (SPEC §2.6).
		st.errorf("note: nothing came back from %s within %s (--wait); --expect . makes a reply required", ep, f.net.wait)
	}
	return nil
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// awaitReplies waits until the peer closes, the expectation matches, or
// wait passes without anything new arriving.
func awaitReplies(ctx context.Context, wait time.Duration, arrived, matched, readDone <-chan struct{}, readErr *error) error {
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
		case <-readDone:
			if err := *readErr; !errors.Is(err, io.EOF) {
				return err
			}
			return nil
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

// sendInput is what send sends: DATA, --file or stdin. A file and stdin
// are streamed, a line (or a chunk) at a time, so that their size does
// not matter; where the input must be one message (a datagram, a length
// prefix, a checksum over it) it is read whole, up to --max-message.
type sendInput struct {
	f     *sendFlags
	conv  *conversation
	whole []byte    // the one message's input, when it is one message
	data  []byte    // DATA, or stdin read to be sent --count times
	r     io.Reader // a file or stdin, streamed
	file  *os.File  // the file to rewind for --count
	start int64     // where the file started
	lines bool      // each line is one message (composed, or framed)
	eol   bool      // --eol given: every line ends with one, the last too
	close func()
}

// input reads the flags' input and checks it before any socket opens:
// DATA whole, and of a stream its first line (later bad lines end the
// send when they come, after what came before them was sent).
func (f *sendFlags) input(st *stdio, args []string, conv *conversation, ep endpoint.Endpoint) (*sendInput, error) {
	in := &sendInput{f: f, conv: conv, close: func() {}, eol: f.data.eol != "" || f.data.crlf}
	switch {
	case len(args) == 2 && f.data.file != "":
		return nil, exitcode.Usagef("give DATA or --file, not both")
	case len(args) == 2:
		in.data = []byte(args[1])
	case f.data.file != "":
		file, err := os.Open(f.data.file)
		if err != nil {
			return nil, exitcode.Usagef("--file: %v", err)
		}
		in.r, in.file, in.close = file, file, func() { file.Close() }
	case st.inTTY:
		return nil, exitcode.WithHint("Note that send takes DATA after the endpoint, --file PATH, or stdin from a pipe.",
			"nothing to send")
	default:
		in.r = st.in
		if file, ok := st.in.(*os.File); ok {
			in.file = file
		}
	}
	if in.file != nil {
		if off, err := in.file.Seek(0, io.SeekCurrent); err == nil && isRegular(in.file) {
			in.start = off
		} else {
			in.file = nil // a pipe or terminal cannot be read twice
		}
	}

	limit := f.data.maxMsg()
	if limit <= 0 {
		limit = frame.DefaultMax
	}
	spec := conv.spec
	oneMessage := ep.Messages() || spec.Kind == frame.Fixed || spec.Kind >= frame.Len8 || f.data.checksum != ""
	if oneMessage || (in.r != nil && in.file == nil && f.count > 1) {
		// Read it whole, but never more than one message can hold.
		if in.r != nil {
			b, err := io.ReadAll(io.LimitReader(in.r, int64(limit)+1))
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", in.name(), err)
			}
			if len(b) > limit {
				what := "on " + ep.Scheme + " it is one message"
				if !oneMessage {
					what = "--count sends it again, so it must be held"
				}
				return nil, exitcode.WithHint("Note that a file (--file) is streamed, however large, and --max-message raises the limit.",
					"%s is longer than --max-message (%d bytes): %s", in.name(), limit, what)
			}
			in.data, in.r = b, nil
		}
		if oneMessage {
			in.whole = in.data
			if in.eol && !bytes.HasSuffix(in.whole, []byte("\n")) {
				in.whole = append(in.whole, '\n') // the line end --eol puts there
			}
			// Bad input is a usage error before any socket opens.
			if err := conv.compose.Check(in.whole); err != nil {
				return nil, err
			}
			return in, nil
		}
	}
	in.lines = !conv.compose.Passthrough() || !spec.IsRaw()
	if !in.lines {
		return in, nil // bytes as they are: nothing to check
	}
	if in.r == nil {
		// DATA (or stdin held for --count): check every line now.
		for rest := in.lineEnded(in.data); len(rest) > 0; {
			line := rest
			if i := bytes.IndexByte(rest, '\n'); i >= 0 {
				line = rest[:i+1]
			}
			if err := conv.compose.Check(line); err != nil {
				return nil, err
			}
			rest = rest[len(line):]
		}
		return in, nil
	}
	// A stream: its first line is checked now.
	head, err := readFirstLine(in.r, 16<<20)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", in.name(), err)
	}
	if len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line = head[:i+1]
		} else if in.eol {
			line = append(bytes.Clone(line), '\n')
		}
		if err := conv.compose.Check(line); err != nil {
			return nil, err
		}
	}
	in.r = &prefixReader{head: head, r: in.r}
	return in, nil
}

func (in *sendInput) name() string {
	if in.f.data.file != "" {
		return "--file " + in.f.data.file
	}
	return "stdin"
}

func isRegular(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode().IsRegular()
}

// lineEnded is b with a final "\n" when --eol asks every line to end.
func (in *sendInput) lineEnded(b []byte) []byte {
	if in.eol && len(b) > 0 && b[len(b)-1] != '\n' {
		return append(bytes.Clone(b), '\n')
	}
	return b
}

// send sends the input once (round i of --count). peerClosed says the
// peer shut down its side meanwhile: the input that was ready went out
// (SPEC §2.4) and the conversation's reason says if any did not.
func (in *sendInput) send(ctx context.Context, st *stdio, c *session.Conn, i int, readDone <-chan struct{}, readErr *error) (peerClosed bool, err error) {
	conv := in.conv
	if in.whole != nil {
		msg, err := conv.compose.Message(nil, in.whole, c.Peer())
		if err != nil {
			return false, err
		}
		return false, writeWithProgress(st, c, msg, conv.spec.IsRaw() && !c.Packet())
	}
	var r io.Reader
	switch {
	case in.r == nil:
		r = bytes.NewReader(in.lineEnded(in.data))
	case i == 0:
		r = in.r
	default:
		if _, err := in.file.Seek(in.start, io.SeekStart); err != nil {
			return false, fmt.Errorf("read %s again for --count: %w", in.name(), err)
		}
		r = in.file
	}
	if in.eol && in.r != nil {
		r = &eolReader{r: r}
	}
	snd := &session.Sender{In: r, Lines: in.lines, Delay: in.f.net.delay}
	if in.lines {
		snd.Compose = func(dst, line []byte) ([]byte, error) { return conv.compose.Message(dst, line, c.Peer()) }
	}
	var clear func()
	snd.Progress, clear = fileProgress(st, r)
	defer clear()
	done := make(chan error, 1)
	go func() { done <- snd.Run(c) }()
	select {
	case err := <-done:
		return false, err
	case <-ctx.Done():
		return false, ctx.Err()
	case <-readDone:
		if err := *readErr; err != nil && !errors.Is(err, io.EOF) {
			return true, err
		}
		// A FIN ends only the peer's sending.
		return true, snd.Finish(ctx, c, done)
	}
}

// readFirstLine reads from r until a line end, the end of r, or max
// bytes, and returns all it read (which may go past the line end).
func readFirstLine(r io.Reader, max int) ([]byte, error) {
	var head []byte
	buf := make([]byte, 64<<10)
	for len(head) <= max && bytes.IndexByte(head, '\n') < 0 {
		n, err := r.Read(buf)
		head = append(head, buf[:n]...)
		if err == io.EOF {
			return head, nil
		}
		if err != nil {
			return head, err
		}
	}
	return head, nil
}

// prefixReader reads head, then r.
type prefixReader struct {
	head []byte
	r    io.Reader
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.head) > 0 {
		n := copy(b, p.head)
		p.head = p.head[n:]
		return n, nil
	}
	return p.r.Read(b)
}

// Ready says whether a read would return at once, for the Sender.
func (p *prefixReader) Ready() bool { return len(p.head) > 0 || session.Ready(p.r) }

// eolReader is r with a "\n" after its last byte when it has none, so
// that --eol ends the last line too.
type eolReader struct {
	r                  io.Reader
	last               byte
	any, pending, done bool
}

func (e *eolReader) Read(b []byte) (int, error) {
	switch {
	case e.pending && len(b) > 0:
		b[0], e.pending, e.done = '\n', false, true
		return 1, io.EOF
	case e.done:
		return 0, io.EOF
	}
	n, err := e.r.Read(b)
	if n > 0 {
		e.last, e.any = b[n-1], true
	}
	if err == io.EOF {
		switch {
		case !e.any || e.last == '\n':
			e.done = true // empty, or ended with a line end already
		case n < len(b):
			b[n], e.done = '\n', true
			return n + 1, io.EOF
		default:
			e.pending = true
			return n, nil
		}
	}
	return n, err
}

// Ready says whether a read would return at once, for the Sender.
func (e *eolReader) Ready() bool { return e.pending || e.done || session.Ready(e.r) }

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

package session

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sockit/sockit/internal/fail"
)

// Sender copies input to a conversation: byte for byte, or as messages
// (each line, or each chunk of the stream, made into a message by
// Compose). Pipe mode and send use it.
//
// A peer's FIN ends only the peer's sending (README "Servers"). Once told so
// (PeerClosed), a Sender still sends the input that is ready (a regular
// file, a pipe whose bytes or end are already there) and stops at the
// first read that would wait for input not there yet (a terminal, a pipe
// whose writer is idle), so that a client whose server has closed exits
// at once instead of waiting for a person to type.
type Sender struct {
	In      io.Reader
	Compose Composer      // nil passes input through untouched
	Lines   bool          // split In into lines, each one message
	MaxLine int           // longest input line, 0 for 16 MiB
	Delay   time.Duration // pause between messages sent
	// Progress, if set, is called now and then with the bytes of In sent
	// so far.
	Progress func(sent int64)
	// WaitsOption is the option that would have kept sending when the
	// peer closed before the input ended (half-duplex, in pipe mode): the
	// close event carries it as its Option.
	WaitsOption fail.Option

	link *link // a reconnecting Pipe's: where to send, across connections

	once sync.Once
	in   input
	size int64        // bytes In holds, -1 when not known
	sent atomic.Int64 // bytes of In delivered whole to the socket
	cut  atomic.Value // string: why Finish left input unsent
}

// ErrInputWaits ends a Sender's Run when the peer has closed and the next
// read of the input would wait for input that is not there yet.
var ErrInputWaits = errors.New("the input has nothing ready to send and the peer has closed")

// input wraps the Sender's In: it knows whether a read would wait, and
// refuses to wait once the peer has closed.
type input struct {
	r          io.Reader
	ready      func() bool
	peerClosed atomic.Bool
	reading    atomic.Bool // a Read is in progress (or about to be)
}

func (in *input) Read(p []byte) (int, error) {
	// reading is set before peerClosed is read, and PeerClosed sets
	// peerClosed before reading reading: one of the two sees the other.
	in.reading.Store(true)
	defer in.reading.Store(false)
	if in.peerClosed.Load() && !in.ready() {
		return 0, ErrInputWaits
	}
	return in.r.Read(p)
}

func (s *Sender) prepare() {
	s.in.r = s.In
	s.in.ready = readiness(s.In)
	s.size = inputSize(s.In)
}

// readiness returns a function that reports whether a read of r returns
// at once (with bytes, at the end, or with an error). Regular files and
// in-memory readers always do; a pipe, a terminal or a socket is asked
// without blocking where the platform can (stdin_*.go); any other reader
// may implement Ready() bool to say; otherwise it is taken to wait.
func readiness(r io.Reader) func() bool {
	always := func() bool { return true }
	switch v := r.(type) {
	case interface{ Ready() bool }:
		return v.Ready
	case *os.File:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			return always
		}
		return func() bool { return fileReady(v) }
	case interface{ Len() int }: // bytes.Reader, strings.Reader, bytes.Buffer
		return always
	}
	return func() bool { return false }
}

// Ready reports whether a read of r would return at once, as a Sender
// judges it, for readers that wrap another and implement Ready.
func Ready(r io.Reader) bool { return readiness(r)() }

// inputSize is how many bytes r holds from here on, or -1 when unknown.
func inputSize(r io.Reader) int64 {
	switch v := r.(type) {
	case *os.File:
		fi, err := v.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return -1
		}
		off, err := v.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1
		}
		return max(0, fi.Size()-off)
	case interface{ Len() int }:
		return int64(v.Len())
	}
	return -1
}

// PeerClosed tells s that the peer has shut down its sending side: from
// now on s sends only input that is ready. It reports whether s is waiting
// for input right now, in which case Run will end with ErrInputWaits as
// soon as that read returns and the caller need not wait for it.
func (s *Sender) PeerClosed() (waiting bool) {
	s.once.Do(s.prepare)
	s.in.peerClosed.Store(true)
	return s.in.reading.Load() && !s.in.ready()
}

// Sent is how many bytes of In have been delivered to the socket.
func (s *Sender) Sent() int64 { return s.sent.Load() }

// Unsent says how much of the input was not sent, for a close reason.
func (s *Sender) Unsent() string {
	sent := s.sent.Load()
	if s.size >= 0 {
		return formatSize(max(0, s.size-sent)) + " of the input unsent"
	}
	return "the input after its first " + formatSize(sent) + " unsent"
}

// Run sends In until it ends (nil), the peer has closed and no input is
// ready (ErrInputWaits), or a write or read fails.
func (s *Sender) Run(c *Conn) error {
	s.once.Do(s.prepare)
	if s.Compose == nil && !s.Lines && !c.packet && !c.Observed() && s.Delay == 0 && !c.Framed() && !c.HasIdle() && s.link == nil {
		return s.copy(c)
	}
	return s.messages(c)
}

// copy is the fast path: the bytes as they are, by sendfile from a
// regular file, else through one large buffer.
func (s *Sender) copy(c *Conn) error {
	if f, ok := s.In.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			if s.Progress != nil {
				return s.sendCounted(c, f)
			}
			n, err := io.Copy(c.nc, f)
			c.AddStats(0, n)
			s.sent.Add(n)
			return sendErr(c, err)
		}
	}
	size := 64 << 10
	if pipeInput(s.In) {
		size = 1 << 20 // see pipeInput for why a copy and not splice
	}
	buf := make([]byte, size)
	for {
		n, rerr := s.in.Read(buf)
		if n > 0 {
			w, werr := c.nc.Write(buf[:n])
			c.AddStats(0, int64(w))
			s.sent.Add(int64(w))
			if werr != nil {
				return sendErr(c, werr)
			}
			if s.Progress != nil {
				s.Progress(s.sent.Load())
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// sendCounted is the sendfile path in chunks, reporting progress after
// each.
func (s *Sender) sendCounted(c *Conn, f *os.File) error {
	for {
		// io.CopyN's LimitedReader keeps sendfile working.
		n, err := io.CopyN(c.nc, f, 4<<20)
		c.AddStats(0, n)
		s.Progress(s.sent.Add(n))
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return sendErr(c, err)
		}
	}
}

// messages reads In a line or a chunk at a time and sends each as one
// message through the conversation (framing, events, idle timeout).
func (s *Sender) messages(c *Conn) error {
	var (
		msg  []byte
		err  error
		line []byte
	)
	maxLine := s.MaxLine
	if maxLine <= 0 {
		maxLine = 16 << 20
	}
	chunk := 64 << 10
	if c.packet {
		chunk = 65507 // the largest UDP payload over IPv4
	}
	br := bufio.NewReaderSize(&s.in, chunk)
	buf := make([]byte, chunk)
	// A chunk of a raw stream may go in parts across a reconnect; a
	// message goes whole.
	raw := s.Compose == nil && !s.Lines && !c.packet && !c.Framed()
	first := true
	for n := 1; ; n++ {
		var unit []byte
		if s.Lines {
			line, err = ReadLine(br, line[:0], maxLine)
			unit = line
		} else {
			var k int
			k, err = br.Read(buf)
			unit = buf[:k]
		}
		var tooLong *LineTooLongError
		if len(unit) > 0 && !errors.As(err, &tooLong) {
			if s.Delay > 0 && !first {
				time.Sleep(s.Delay)
			}
			first = false
			out := unit
			if s.Compose != nil {
				var cerr error
				if msg, cerr = s.Compose(msg[:0], unit); cerr != nil {
					if s.Lines && n > 1 {
						return fmt.Errorf("input line %d: %w", n, cerr)
					}
					return cerr
				}
				out = msg
			}
			var werr error
			if c, werr = s.deliver(c, out, raw); werr != nil {
				return werr
			}
			s.sent.Add(int64(len(unit)))
			if s.Progress != nil {
				s.Progress(s.sent.Load())
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Finish is what a stream conversation does when the peer has shut down
// its side while s is still sending (done delivers Run's result). A reset
// that the send side took first is still a reset. Otherwise s sends the
// rest of the input that is ready, and Finish returns nil with the close
// reason set: the rest was sent; the input had nothing ready; or the peer
// closed completely before it was all sent (the peer closing, not a
// fault: the reason says how much went unsent). Any other failure is
// returned.
func (s *Sender) Finish(ctx context.Context, c *Conn, done <-chan error) error {
	select {
	case err := <-done:
		// The input ended as the peer closed; a failure here came before
		// the FIN was seen and keeps its meaning (a reset is exit 6).
		return err
	default:
	}
	if resetByPeer(c.nc) {
		// The kernel reports a reset once: the send side took it, and the
		// read side saw only EOF. Nothing more was delivered.
		return c.opError("send", syscall.ECONNRESET)
	}
	if s.PeerClosed() {
		s.inputWaits(c)
		return nil
	}
	select {
	case err := <-done:
		return s.finished(c, err)
	case <-ctx.Done():
		c.SetReason(stopReason(ctx))
		return ctx.Err()
	}
}

func (s *Sender) inputWaits(c *Conn) {
	r := "peer closed first, before the input ended"
	s.cut.Store(r)
	c.SetReasonAbout(s.WaitsOption, r)
}

func (s *Sender) finished(c *Conn, err error) error {
	switch {
	case err == nil:
		c.SetReason("peer closed first; the rest of the input was sent")
		return nil
	case errors.Is(err, ErrInputWaits):
		s.inputWaits(c)
		return nil
	case PeerGone(err):
		r := "peer closed before all the input was sent: " + s.Unsent()
		s.cut.Store(r)
		c.SetReason(r)
		return nil
	}
	return err
}

// Cut says why Finish left input unsent, or "" when it sent it all.
func (s *Sender) Cut() string {
	if r, ok := s.cut.Load().(string); ok {
		return r
	}
	return ""
}

// PeerGone reports whether err is a send failing because the peer closed
// its socket completely (it answers data with a reset).
func PeerGone(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// formatSize renders n bytes for a person: 512 B, 1.5 KiB, 31.0 MiB.
func formatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, suffix := float64(n)/unit, "KiB"
	for _, s := range []string{"MiB", "GiB", "TiB"} {
		if f < unit {
			break
		}
		f, suffix = f/unit, s
	}
	return fmt.Sprintf("%.1f %s", f, suffix)
}

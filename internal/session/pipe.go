package session

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sockit/sockit/internal/fail"
)

// The options a Pipe's close reasons are about (the close event's
// Option); the reasons themselves name no flag.
const (
	OptWait       fail.Option = "wait"        // how long replies are waited for
	OptQuit       fail.Option = "quit"        // quit this long after the input ended
	OptHalfDuplex fail.Option = "half-duplex" // keep sending after the peer's FIN
)

// Composer turns one unit of input (a line, or a chunk of a stream) into
// the bytes of one message: encoding, hex, escapes, templates, checksum.
// It appends to dst and returns the result.
type Composer func(dst, in []byte) ([]byte, error)

// Pipe joins a conversation to a pair of byte streams, as pipe mode joins
// sockit to stdin and stdout (README "Pipe mode and the end of input"): stdin to the peer, the peer to
// stdout, byte-exact unless a Composer changes what is sent.
type Pipe struct {
	In  io.Reader // what to send; nil sends nothing
	Out io.Writer // where received bytes go on the fast path; observed conversations print through their Sink

	NoShutdown bool // keep the write side open after In ends
	// QuietKeepsOpen keeps the write side open when In ended without
	// sending anything (a server whose stdin is /dev/null): a FIN that
	// carries nothing would only make clients that stop on EOF leave early.
	QuietKeepsOpen bool
	Quit           time.Duration // after In ends, quit this much later; negative waits for the peer (-q)
	HalfDuplex     bool          // after the peer shut down its write side, send all of In, waiting for it (otherwise only what is ready: see Sender)
	SendOnly       bool          // ignore what arrives; end when In ends
	RecvOnly       bool          // never read In
	Wait           time.Duration // datagrams: after In ends, wait this long after the last reply
	ShutNull       bool          // datagrams: when In ends, send one empty datagram (socat's shut-null), the end-of-data mark some servers wait for
	Delay          time.Duration // pause between messages sent (-d)
	Compose        Composer      // nil passes input through untouched
	Lines          bool          // split In into lines, each one message
	MaxLine        int           // longest input line, 0 for 16 MiB
	// Progress, if set, is called now and then with the bytes of In sent
	// so far (a progress bar for large transfers). In moves in large
	// chunks then, still by sendfile where the kernel can.
	Progress func(sent int64)
	// Reconnect, if set, mends a break (BrokenByPeer) that comes while
	// the conversation is still wanted (In has not ended, or is not
	// read): the broken connection is closed, Reconnect makes the next,
	// and the conversation goes on there. What the broken connection took
	// may be lost with it; the input from the break on goes to the next
	// connection, none of it skipped or sent twice (see link). Without
	// it, the conversation ends with its connection.
	Reconnect Reconnect
}

// Run moves data until the conversation is over and returns nil for a
// clean end (the peer closed, or In ended and the wait passed) or the
// error that ended it. It closes c.
func (p *Pipe) Run(ctx context.Context, c *Conn) (err error) {
	defer func() { c.Close(err) }()
	up := make(chan error, 1)
	down := make(chan error, 1)
	var inDone atomic.Bool
	snd := &Sender{In: p.In, Compose: p.Compose, Lines: p.Lines, MaxLine: p.MaxLine, Delay: p.Delay, Progress: p.Progress,
		WaitsOption: OptHalfDuplex}
	var breaks <-chan sendBreak
	if p.Reconnect != nil {
		snd.link = newLink(c)
		defer snd.link.end(errLinkEnded)
		breaks = snd.link.breaks
	}
	// reconnect mends a break of c (why ended it), if the conversation
	// is still wanted, and reports whether it did; err is set when it
	// tried and failed.
	reconnect := func(why error) (bool, error) {
		if up != nil && p.Reconnect != nil {
			// The input may have ended as the peer went: then the
			// conversation is over, not broken.
			select {
			case err, ok := <-up:
				if ok {
					up <- err // for the loop to take
					return false, nil
				}
				up = nil // nothing is sent (datagrams, --recv-only)
			default:
			}
		}
		wanted := up != nil || (p.RecvOnly || p.In == nil) && !c.packet
		if p.Reconnect == nil || !wanted || ctx.Err() != nil || !BrokenByPeer(c, why) {
			return false, nil
		}
		snd.link.broke(c, nil)
		c.Close(why)
		next, err := p.Reconnect(ctx, c, why)
		if err != nil {
			snd.link.end(err)
			return true, err
		}
		c = next
		snd.link.set(c)
		d := make(chan error, 1)
		down = d
		go func() { d <- p.receive(next, &inDone) }()
		return true, nil
	}

	if p.RecvOnly || p.In == nil {
		if !c.packet {
			// Nothing will be sent; leave the write side open as ncat --recv-only does.
			up = nil
		} else {
			inDone.Store(true)
			close(up)
		}
	} else {
		go func(c *Conn) { up <- snd.Run(c) }(c)
	}
	first := c
	go func() { down <- p.receive(first, &inDone) }()

	var quit <-chan time.Time
	for {
		select {
		case err, ok := <-up:
			up = nil
			if ok && err != nil {
				return err
			}
			inDone.Store(true)
			if c.packet && p.ShutNull && !p.RecvOnly {
				if err := c.WriteRaw(nil); err != nil {
					return err
				}
			}
			if c.packet {
				// Datagrams have no end: wait for the replies still coming.
				if p.Wait <= 0 {
					return nil
				}
				c.nc.SetReadDeadline(time.Now().Add(p.Wait))
				continue
			}
			if p.SendOnly {
				c.SetReason("input ended")
				return nil
			}
			if out := c.out.Load(); !p.NoShutdown && !(p.QuietKeepsOpen && out == 0) {
				if err := c.CloseWrite(); err != nil && !errors.Is(err, os.ErrClosed) {
					return err
				}
			}
			if p.Quit >= 0 {
				quit = time.After(p.Quit)
			}
		case b := <-breaks:
			if b.c != c {
				continue // a connection already replaced
			}
			// A send failed before the receiving side saw the break.
			ok, err := reconnect(b.err)
			if !ok {
				snd.link.end(b.err) // the Sender returns it
				continue
			}
			if err != nil {
				return err
			}
		case err := <-down:
			if ok, rerr := reconnect(err); ok {
				if rerr != nil {
					return rerr
				}
				continue
			}
			if err != nil {
				return err
			}
			if up == nil || c.packet {
				return nil
			}
			if p.HalfDuplex {
				// The peer only shut down its side: finish sending first.
				if err := <-up; err != nil {
					return err
				}
				c.CloseWrite()
				return nil
			}
			// A FIN ends only the peer's sending: send the input that is
			// ready, then close; do not wait for input not there yet.
			return snd.Finish(ctx, c, up)
		case <-quit:
			c.SetReasonAbout(OptQuit, "quit after the input ended")
			return nil
		case <-ctx.Done():
			c.SetReason(stopReason(ctx))
			return ctx.Err()
		}
	}
}

// stopReason is why ctx ended, for the close event: "interrupted" (a
// signal), or "stopped: " and the cause its canceller gave (the CLI's
// outputs give the write that failed: "cannot write stdout: …").
func stopReason(ctx context.Context) string {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return "stopped: " + cause.Error()
	}
	return "interrupted"
}

// sendErr names the socket in a fast-path copy's error when the socket's
// side failed (reading stdin gives neither EPIPE nor ECONNRESET).
func sendErr(c *Conn, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) && (errno == syscall.EPIPE || errno == syscall.ECONNRESET) {
		return c.opError("send", errno)
	}
	return err
}

// outErrno reports whether errno comes from writing to a local pipe or
// file rather than from a socket.
func outErrno(errno syscall.Errno) bool {
	switch errno {
	case syscall.EPIPE, syscall.ENOSPC, syscall.EDQUOT, syscall.EFBIG, syscall.EIO, syscall.EBADF:
		return true
	}
	return false
}

// LineTooLongError is ReadLine's refusal of a line longer than Max.
type LineTooLongError struct{ Max int }

func (e *LineTooLongError) Error() string {
	return "input line longer than " + formatSize(int64(e.Max))
}

// ReadLine reads one line of br, its "\n" included (the last line may
// lack it), appending to dst. A line longer than max bytes (0 for 16 MiB)
// is an error, not a buffer that grows as long as the input has no line
// end.
func ReadLine(br *bufio.Reader, dst []byte, max int) ([]byte, error) {
	if max <= 0 {
		max = 16 << 20
	}
	for {
		frag, err := br.ReadSlice('\n')
		dst = append(dst, frag...)
		if len(dst) > max {
			return dst, &LineTooLongError{Max: max}
		}
		if err != bufio.ErrBufferFull {
			return dst, err
		}
	}
}

// receive copies the peer to Out (fast path) or reads messages so that the
// conversation's Sink prints them.
func (p *Pipe) receive(c *Conn, inDone *atomic.Bool) error {
	if !c.Observed() && !c.packet && !c.Framed() && !c.HasIdle() && !p.SendOnly && p.Out != nil {
		n, err := copyOut(p.Out, c.nc)
		c.AddStats(n, 0)
		// io.Copy may splice, and then one error names both ends
		// ("writeto tcp …: write /dev/stdout: splice: connection reset by
		// peer"). The errnos of writing to a pipe or file are Out's; any
		// other is the socket's, and is reported as the receive it is.
		var errno syscall.Errno
		if errors.As(err, &errno) && !outErrno(errno) {
			return c.opError("recv", errno)
		}
		return err
	}
	if !p.SendOnly && p.Out != nil {
		// Out gets the bytes exactly as they arrive; framing only decides
		// what the observers see as one message.
		c.SetTap(p.Out)
	}
	for {
		_, err := c.Read()
		if err == nil {
			if c.packet && inDone.Load() && p.Wait > 0 {
				c.nc.SetReadDeadline(time.Now().Add(p.Wait))
			}
			continue
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if c.packet && inDone.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
			c.SetReasonAbout(OptWait, "no more replies within "+p.Wait.String())
			return nil
		}
		return err
	}
}

// copyOut copies what arrives to out through one large buffer. Splicing
// the socket into out (what io.Copy does when out is a file) was measured
// slower on loopback than one read and one write of 256 KiB: the page
// bookkeeping of splice costs more than the copy it saves.
func copyOut(out io.Writer, nc io.Reader) (int64, error) {
	buf := make([]byte, 256<<10)
	return io.CopyBuffer(struct{ io.Writer }{out}, struct{ io.Reader }{nc}, buf)
}

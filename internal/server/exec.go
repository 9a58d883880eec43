package server

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/session"
)

// Exec is the --exec behaviour: one process per conversation, started
// with /bin/sh -c Command (cmd /c on Windows, see Shell), its stdin fed by what the peer sends and its
// stdout sent to the peer; its stderr goes to Stderr. It runs only when a
// person asks for it on the command line, never by default.
//
// End of input travels both ways, and nothing buffered is lost: the peer's
// FIN closes the process's stdin; the process's output is sent until it
// exits and closes stdout, and only then does the server shut down its
// side of the connection (FIN), wait briefly for the peer to close, and
// close. (ncat --exec is known to cut output still in the pipe.) A peer
// that resets the connection, or a server shutting down, ends the process
// (SIGTERM to its process group, SIGKILL if it lingers; on Windows a
// Ctrl-Break, then the end of its job object).
//
// On a raw stream each read is passed on as it is. With --frame the
// process speaks lines: each message received is written to its stdin
// followed by a line end (the delimiter for line and delim framings, so the
// process sees the stream as it was sent, "\n" for the others), and each
// line it writes is sent as one message. On UDP there is one process per
// peer: each datagram is written to its stdin, each read of its stdout is
// sent as one datagram, and its stdin is closed when the peer expires
// (--idle-timeout); when it exits, the next datagram starts another.
//
// The process finds the peer in SOCKIT_REMOTE_ADDR and SOCKIT_REMOTE_PORT
// (and SOCKIT_LOCAL_ADDR, SOCKIT_LOCAL_PORT, SOCKIT_PROTO), as ncat's
// NCAT_* variables.
type Exec struct {
	Command string
	Stderr  io.Writer // the process's stderr; nil discards it
	// Linger is how long the server waits for the peer to close after the
	// process has ended and the server has sent its FIN; 0 is 2s.
	Linger time.Duration
	// Grace is how long a process has between SIGTERM and SIGKILL when it
	// must end early; 0 is 2s.
	Grace time.Duration
}

// Handle is the Handler.
func (x *Exec) Handle(ctx context.Context, c *session.Conn) error {
	cmd := shellCommand(x.Command)
	cmd.Env = append(os.Environ(), x.env(c)...)
	cmd.Stderr = x.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return execError(x.Command, err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{}), grace: x.Grace}
	if p.group, err = startGroup(cmd); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return execError(x.Command, err)
	}
	stopKill := context.AfterFunc(ctx, p.terminate)
	defer stopKill()

	delim := lineEnd(c.Frame())
	in := make(chan error, 1)
	go func() { in <- x.feed(c, stdin, delim, p) }()
	outErr, cut := x.drain(c, stdout, delim)
	if outErr != nil {
		p.signal(syscall.SIGKILL) // the peer is gone: nobody reads the output
	}
	waitErr := cmd.Wait()
	p.reaped()
	reason := exitReason(waitErr)
	if cut != nil {
		// Said, not silent: the peer got less than the command wrote.
		reason += "; its output after a line that is not a message was dropped (" + cut.Error() + ")"
	}
	c.SetReasonAbout(fail.OptionOf(cut), reason)

	var inErr error
	if c.Packet() {
		// A UDP peer has no FIN to wait for: the conversation ends with
		// its process.
		c.NetConn().Close()
		inErr = <-in
	} else {
		// Everything the process wrote is sent: now the FIN. Keep reading
		// what the peer still sends, so that closing does not turn into a
		// reset that could destroy output still in flight.
		c.CloseWrite()
		linger := x.Linger
		if linger <= 0 {
			linger = 2 * time.Second
		}
		t := time.NewTimer(linger)
		select {
		case inErr = <-in:
		case <-t.C:
			c.NetConn().Close()
			inErr = <-in
		}
		t.Stop()
	}
	if outErr != nil {
		return outErr
	}
	if inErr != nil && !errors.Is(inErr, net.ErrClosed) {
		return inErr
	}
	return nil
}

// execError is a command that could not be started: the close event
// names the command, and carries the option (exec) that gave it.
func execError(command string, err error) error {
	return fail.Errorf(fail.Unknown, "command %q: %s", command, err).Because(err).About(OptExec)
}

// lineEnd is what ends a line between a framed conversation and its
// process; nil for raw streams and datagrams, which pass bytes as they are.
func lineEnd(s frame.Spec) []byte {
	switch s.Kind {
	case frame.Raw:
		return nil
	case frame.Delim:
		return s.Delim
	}
	return []byte{'\n'}
}

// feed writes what the peer sends to the process's stdin, and closes stdin
// at the peer's end of input. Once the process no longer reads, what the
// peer sends is read and dropped. A peer that breaks the connection ends
// the process.
func (x *Exec) feed(c *session.Conn, stdin io.WriteCloser, delim []byte, p *proc) error {
	var buf []byte
	broken := false
	for {
		msg, err := c.Read()
		if err != nil {
			stdin.Close()
			var idle *session.IdleError
			if errors.Is(err, io.EOF) || errors.As(err, &idle) {
				return nil
			}
			if !errors.Is(err, net.ErrClosed) {
				p.terminate()
			}
			return err
		}
		if broken {
			continue
		}
		b := msg
		if delim != nil {
			buf = append(append(buf[:0], msg...), delim...)
			b = buf
		}
		if _, werr := stdin.Write(b); werr != nil {
			// The process closed its stdin or exited.
			broken = true
			stdin.Close()
		}
	}
}

// drain sends the process's output to the peer until the process closes
// its stdout, and returns the first error sending, and why output was
// dropped if it was.
func (x *Exec) drain(c *session.Conn, stdout io.Reader, delim []byte) (sendErr, cut error) {
	if delim != nil {
		spec := frame.Spec{Kind: frame.Delim, Delim: delim}
		d := frame.NewDecoder(stdout, spec, 0)
		for {
			line, err := d.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					// A line too long to be a message: drop the rest
					// rather than block the process.
					io.Copy(io.Discard, stdout)
					return nil, err
				}
				return nil, nil
			}
			if werr := c.Write(line); werr != nil {
				return werr, nil
			}
		}
	}
	size := 64 << 10
	if c.Packet() {
		size = 65507 // the largest datagram over IPv4
	}
	buf := make([]byte, size)
	for {
		n, err := stdout.Read(buf)
		if n > 0 {
			if werr := c.Write(buf[:n]); werr != nil {
				return werr, nil
			}
		}
		if err != nil {
			return nil, nil // EOF: the process closed stdout
		}
	}
}

func (x *Exec) env(c *session.Conn) []string {
	env := []string{"SOCKIT_PROTO=" + c.Proto()}
	add := func(prefix, addr string) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			env = append(env, prefix+"_ADDR="+addr)
			return
		}
		env = append(env, prefix+"_ADDR="+host, prefix+"_PORT="+port)
	}
	add("SOCKIT_REMOTE", c.Peer())
	add("SOCKIT_LOCAL", c.Local())
	return env
}

// proc signals a process group until the process has been reaped, and
// never after: by then its id may belong to another process.
type proc struct {
	cmd    *exec.Cmd
	group  group
	grace  time.Duration
	mu     sync.Mutex
	done   bool
	exited chan struct{}
	once   sync.Once
}

func (p *proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.done {
		p.group.signal(sig)
	}
}

func (p *proc) reaped() {
	p.mu.Lock()
	p.done = true
	p.group.release()
	p.mu.Unlock()
	close(p.exited)
}

// terminate sends SIGTERM, then SIGKILL if the process has not exited
// after the grace period. It returns at once; the wait happens on its own
// goroutine, which ends when the process does.
func (p *proc) terminate() {
	p.once.Do(func() {
		p.signal(syscall.SIGTERM)
		grace := p.grace
		if grace <= 0 {
			grace = 2 * time.Second
		}
		go func() {
			t := time.NewTimer(grace)
			defer t.Stop()
			select {
			case <-p.exited:
			case <-t.C:
				p.signal(syscall.SIGKILL)
			}
		}()
	})
}

// exitReason words how the process ended, for the close event.
func exitReason(err error) string {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		if err != nil {
			return "command failed: " + err.Error()
		}
		return "command exited"
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "command killed by " + ws.Signal().String()
	}
	return "command exited with status " + strconv.Itoa(ee.ExitCode())
}

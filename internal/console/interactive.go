package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"

	"golang.org/x/term"

	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/optfile"
)

// Peer is one connected peer, for /peers and /to.
type Peer struct {
	ID   uint64
	Addr string
}

// Interactive is the prompt: each line typed is sent, slash commands do
// the rest, and log lines from the Printer appear above the prompt.
type Interactive struct {
	In      *os.File // the terminal
	Out     io.Writer
	Printer *Printer

	// Send sends a line as typed (without "\n" handling: the caller's
	// Compose adds the end of line) to the current target; raw sends
	// bytes exactly (/hex, /file).
	Send    func(line string) error
	SendRaw func(b []byte) error
	// SetEncoding switches both encodings (/enc).
	SetEncoding func(e *codec.Encoding)
	// Peers lists connected peers; nil for a client.
	Peers func() []Peer
	// SetTarget picks the peer lines go to ("" for all).
	SetTarget func(addr string) error
	// Done is closed when the conversation ends, to stop the prompt.
	Done <-chan struct{}
}

// Run reads lines until /quit, Ctrl-D, Ctrl-C or Done. It puts the terminal
// in raw mode and restores it.
func (it *Interactive) Run(ctx context.Context) error {
	fd := int(it.In.Fd())
	old, err := term.MakeRaw(fd)
	if err != nil {
		return fmt.Errorf("interactive mode: %v", err)
	}
	defer term.Restore(fd, old)

	// The terminal is raw, so Ctrl-C arrives as a byte, not SIGINT; and
	// term.Terminal reports it as io.EOF, the same as Ctrl-D. Watch for
	// the byte on the way in to tell the two apart: Ctrl-D ends the
	// conversation (exit 0), Ctrl-C interrupts it (exit 130).
	in := &ctrlCReader{r: it.In}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{in, it.Out}, "> ")
	if w, h, err := term.GetSize(fd); err == nil {
		t.SetSize(w, h)
	}
	it.Printer.SetWriter(t)
	defer func() {
		// Take the prompt (and any half-typed line) off the screen, so
		// that what is printed after the prompt ends (the close line)
		// starts its own line rather than after "> ".
		t.SetPrompt("")
		t.Write(nil)
		it.Printer.SetWriter(it.Out)
	}()

	lines := make(chan string)
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			line, err := t.ReadLine()
			if err != nil {
				readErr <- err
				return
			}
			select {
			case lines <- line:
			case <-it.Done:
				return
			case <-stop:
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-it.Done:
			return nil
		case err := <-readErr:
			if in.hit.Load() {
				return context.Canceled
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case line := <-lines:
			quit, err := it.command(t, line)
			if err != nil {
				fmt.Fprintf(t, "%s! %v%s\n", it.Printer.color(red), err, it.Printer.color(reset))
			}
			if quit {
				return nil
			}
		}
	}
}

// ctrlCReader notes whether a Ctrl-C byte (ETX) came from the terminal.
type ctrlCReader struct {
	r   io.Reader
	hit atomic.Bool
}

func (c *ctrlCReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if bytes.IndexByte(p[:n], 3) >= 0 {
		c.hit.Store(true)
	}
	return n, err
}

const help = `Type a line and press Enter to send it. Commands:
  /hex 48 65 6c 6c 6f   send these bytes exactly
  /file PATH            send the contents of a file
  /enc gbk              switch the text encoding (both ways)
  /peers                list connected peers (servers)
  /to PEER|#N|all       send lines to one peer (its address, or #N of /peers) or to all (servers)
  /quit                 close and exit (also Ctrl-D)
  /help                 this text
Start a line with // to send a line that begins with /.
`

func (it *Interactive) command(t *term.Terminal, line string) (quit bool, err error) {
	if !strings.HasPrefix(line, "/") || strings.HasPrefix(line, "//") {
		if strings.HasPrefix(line, "//") {
			line = line[1:]
		}
		return false, it.Send(line)
	}
	name, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch name {
	case "/quit", "/q", "/exit":
		return true, nil
	case "/help", "/?":
		io.WriteString(t, help)
	case "/hex":
		b, err := codec.ParseHex(arg)
		if err != nil {
			return false, err
		}
		return false, it.SendRaw(b)
	case "/file":
		if arg == "" {
			return false, errors.New("usage: /file PATH")
		}
		// One message: a regular file of at most optfile.MaxReply, so a
		// slip such as /file /dev/zero is refused, not read forever.
		b, err := optfile.Read(context.Background(), arg, optfile.MaxReply)
		if err != nil {
			return false, err
		}
		return false, it.SendRaw(b)
	case "/enc":
		e, err := codec.Lookup(arg)
		if err != nil {
			return false, err
		}
		it.SetEncoding(e)
		fmt.Fprintf(t, "encoding is now %s\n", e.Name())
	case "/peers":
		if it.Peers == nil {
			return false, errors.New("/peers is for servers")
		}
		peers := it.Peers()
		if len(peers) == 0 {
			io.WriteString(t, "no peers connected\n")
		}
		for _, p := range peers {
			fmt.Fprintf(t, "  #%d %s\n", p.ID, p.Addr)
		}
	case "/to":
		if it.SetTarget == nil {
			return false, errors.New("/to is for servers")
		}
		if arg == "all" {
			arg = ""
		}
		if err := it.SetTarget(arg); err != nil {
			return false, err
		}
		if arg == "" {
			io.WriteString(t, "sending to all peers\n")
		} else {
			fmt.Fprintf(t, "sending to %s\n", arg)
		}
	default:
		return false, fmt.Errorf("unknown command %s (try /help)", name)
	}
	return false, nil
}

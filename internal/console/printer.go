// Package console is sockit's terminal front end: the log lines printed in
// interactive mode and on stderr, hex dumps and timestamps in pipe mode,
// and the prompt with line editing, history and slash commands.
//
// It renders events; it never touches a socket.
package console

import (
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/term"

	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/event"
)

// Printer renders events as log lines for people:
//
//	10:00:01.123 ← 127.0.0.1:8888  5 B  hello\n
//	10:00:01.125 → 127.0.0.1:8888  3 B  hi\n
//	10:00:02.000 * 127.0.0.1:51234 connected
//
// Data is decoded with the receive or send encoding and shown escaped where
// it is not printable (never dropped), or as a hex dump.
type Printer struct {
	W       io.Writer
	Hex     bool // hex dump instead of text
	Color   bool
	Server  bool // word connect events as a server would
	NoData  bool // print only connection events (pipe mode's -v on stderr)
	ShowOut bool // print data sent, not only data received
	// Option writes the option an event is about (its Option: a limit
	// reached, a list that refused) as this front end names it, the
	// command line's flag, after the reason: "(see --max-conns)". nil
	// leaves it out.
	Option func(option string) string

	mu      sync.Mutex // guards W (see SetWriter) and buf
	recvEnc atomic.Pointer[codec.Encoding]
	sendEnc atomic.Pointer[codec.Encoding]
	buf     []byte
}

// SetEncodings sets the encodings used to show received and sent data.
func (p *Printer) SetEncodings(recv, send *codec.Encoding) {
	p.recvEnc.Store(recv)
	p.sendEnc.Store(send)
}

const (
	dim   = "\x1b[2m"
	green = "\x1b[32m"
	cyan  = "\x1b[36m"
	red   = "\x1b[31m"
	reset = "\x1b[0m"
)

func (p *Printer) color(c string) string {
	if p.Color {
		return c
	}
	return ""
}

// SetWriter replaces W while other goroutines may be printing: the
// interactive prompt takes over the terminal this way, and gives it back.
func (p *Printer) SetWriter(w io.Writer) {
	p.mu.Lock()
	p.W = w
	p.mu.Unlock()
}

// Sink returns the printer as an event sink.
func (p *Printer) Sink() event.Sink { return p.Print }

// Print writes the log line(s) for e.
func (p *Printer) Print(e *event.Event) {
	if e.Kind == event.Data && (p.NoData || (e.Dir == event.Out && !p.ShowOut)) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.buf[:0]
	b = append(b, p.color(dim)...)
	b = e.Time.AppendFormat(b, "15:04:05.000")
	b = append(b, p.color(reset)...)
	b = append(b, ' ')
	switch e.Kind {
	case event.Data:
		enc := p.recvEnc.Load()
		if e.Dir == event.In {
			b = append(b, p.color(green)...)
			b = append(b, "← "...)
		} else {
			enc = p.sendEnc.Load()
			b = append(b, p.color(cyan)...)
			b = append(b, "→ "...)
		}
		b = append(b, e.Peer...)
		b = append(b, p.color(reset)...)
		b = append(b, "  "...)
		b = strconv.AppendInt(b, int64(len(e.Data)), 10)
		b = append(b, " B"...)
		if p.Hex {
			b = append(b, '\n')
			start := len(b)
			b = codec.AppendDump(b, e.Data, 0)
			b = indent(b, start, "    ")
		} else {
			b = append(b, "  "...)
			if enc == nil {
				enc, _ = codec.Lookup("utf-8")
			}
			b = appendText(b, enc, e.Data)
			b = append(b, '\n')
		}
	default:
		b = append(b, p.color(dim)...)
		b = append(b, "* "...)
		b = append(b, event.DescribeWith(e, p.Server, p.Option)...)
		b = append(b, p.color(reset)...)
		b = append(b, '\n')
	}
	p.buf = b
	p.W.Write(b)
}

// appendText appends the display form of data; after each escaped "\n"
// inside the message the text continues on a new, indented line so that
// multi-line messages stay readable.
func appendText(b []byte, enc *codec.Encoding, data []byte) []byte {
	start := len(b)
	b = enc.AppendDisplay(b, data)
	// Break after each `\n` escape that is not the last thing shown.
	out := b[start:]
	var lines int
	for i := 0; i+1 < len(out); i++ {
		if out[i] == '\\' {
			if out[i+1] == 'n' && i+2 < len(out) {
				lines++
			}
			i++
		}
	}
	if lines == 0 {
		return b
	}
	text := append([]byte(nil), out...)
	b = b[:start]
	for i := 0; i < len(text); i++ {
		b = append(b, text[i])
		if text[i] == '\\' && i+1 < len(text) {
			i++
			b = append(b, text[i])
			if text[i] == 'n' && i+1 < len(text) {
				b = append(b, "\n                 "...)
			}
		}
	}
	return b
}

// indent prefixes every line from start with pre.
func indent(b []byte, start int, pre string) []byte {
	body := append([]byte(nil), b[start:]...)
	b = b[:start]
	lineStart := true
	for _, c := range body {
		if lineStart {
			b = append(b, pre...)
			lineStart = false
		}
		b = append(b, c)
		if c == '\n' {
			lineStart = true
		}
	}
	return b
}

// HexDump writes received data as one continuous `hexdump -C` stream (pipe
// mode with --hex), offsets counting across reads per conversation.
type HexDump struct {
	W      io.Writer
	mu     sync.Mutex
	offset map[uint64]int64
	buf    []byte
}

// Print is the event sink.
func (h *HexDump) Print(e *event.Event) {
	if e.Kind != event.Data || e.Dir != event.In {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.offset == nil {
		h.offset = map[uint64]int64{}
	}
	off := h.offset[e.Conn]
	h.buf = codec.AppendDump(h.buf[:0], e.Data, off)
	h.offset[e.Conn] = off + int64(len(e.Data))
	h.W.Write(h.buf)
}

// Stamped writes received data to W, each message on its own line after a
// timestamp (pipe mode with -T).
type Stamped struct {
	W   io.Writer
	Enc *codec.Encoding // nil writes the bytes as they are
	mu  sync.Mutex
	buf []byte
}

// Print is the event sink.
func (s *Stamped) Print(e *event.Event) {
	if e.Kind != event.Data || e.Dir != event.In {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := append(s.buf[:0], '[')
	b = e.Time.AppendFormat(b, "15:04:05.000")
	b = append(b, "] "...)
	if s.Enc != nil {
		text, _ := s.Enc.Decode(e.Data)
		b = append(b, text...)
	} else {
		b = append(b, e.Data...)
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	s.buf = b
	s.W.Write(b)
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

package talk

import (
	"bytes"
	"io"

	"github.com/sockit/sockit/internal/session"
)

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
// that the line end asked for ends the last line too.
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

package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/sockit/sockit/internal/bench/wire"
)

// What a stream connection's other end says first tells what it is: a
// bench server answers the hello with OK (or ERR), an echo server sends
// the hello back, and any other server either sends its own bytes (a
// source: they are data) or nothing (a sink). sniff reads just enough to
// tell.

// reportWait bounds the wait for a bench server's report after the run.
const reportWait = 5 * time.Second

// rrHelloWait bounds how long rr waits for its hello to come back (or be
// answered) before it takes the server for a plain one that swallowed it.
const rrHelloWait = 2 * time.Second

// errRefused is a bench server's ERR.
type errRefused struct{ why string }

func (e *errRefused) Error() string { return "the bench server refused the test: " + e.why }

// sniffed is what sniff found.
type sniffed struct {
	bench bool
	ack   *wire.AckMsg
	rest  []byte // bytes after what was recognised: data
}

// sniff reads from c until it can tell what the server is (see above).
// buf (at least wire.MaxLine bytes) holds what it reads; rest points into
// it. A read error is returned with the bytes read before it.
func sniff(c net.Conn, hello, buf []byte) (sniffed, error) {
	buf = buf[:wire.MaxLine]
	got := 0
	for {
		n, err := c.Read(buf[got:])
		got += n
		k := min(got, len(wire.Magic))
		if !bytes.Equal(buf[:k], []byte(wire.Magic)[:k]) {
			return sniffed{rest: buf[:got]}, nil // a plain server's own bytes
		}
		if i := bytes.IndexByte(buf[:got], '\n'); i >= 0 {
			line, rest := buf[:i+1], buf[i+1:got]
			if bytes.Equal(line, hello) {
				return sniffed{rest: rest}, nil // an echo server
			}
			m, perr := wire.Parse(line)
			if perr != nil {
				return sniffed{}, fmt.Errorf("bad answer to the bench hello: %v", perr)
			}
			switch m.Kind {
			case wire.OK:
				a, perr := wire.ParseAck(m)
				if perr != nil {
					return sniffed{}, fmt.Errorf("bad answer to the bench hello: %v", perr)
				}
				return sniffed{bench: true, ack: a, rest: rest}, nil
			case wire.Err:
				return sniffed{}, &errRefused{wire.ParseRefusal(m)}
			}
			return sniffed{}, fmt.Errorf("bad answer to the bench hello: a %s message", m.Kind)
		}
		if got == len(buf) {
			return sniffed{rest: buf[:got]}, nil
		}
		if err != nil {
			return sniffed{rest: buf[:got]}, err
		}
	}
}

// readReport reads a bench server's RESULT line at the end of a stream:
// after data (rx, bidir: the data has no newline, so the first newline
// ends it) or at once (tx). It reads until the server closes.
func readReport(c net.Conn, afterData bool, buf []byte) (*wire.ReportMsg, error) {
	c.SetReadDeadline(time.Now().Add(reportWait))
	var line []byte
	inData := afterData
	for {
		n, err := c.Read(buf)
		b := buf[:n]
		if inData {
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				inData = false
				b = b[i+1:]
			} else {
				b = nil
			}
		}
		if !inData && len(b) > 0 {
			if len(line)+len(b) > wire.MaxLine {
				return nil, errors.New("the bench server's report is too long")
			}
			line = append(line, b...)
			if i := bytes.IndexByte(line, '\n'); i >= 0 {
				m, perr := wire.Parse(line[:i+1])
				if perr != nil {
					return nil, fmt.Errorf("bad report from the bench server: %v", perr)
				}
				rep, perr := wire.ParseReport(m)
				if perr != nil {
					return nil, fmt.Errorf("bad report from the bench server: %v", perr)
				}
				return rep, nil
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("the bench server closed without a report")
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, fmt.Errorf("no report from the bench server within %s", reportWait)
			}
			return nil, fmt.Errorf("reading the bench server's report: %w", err)
		}
	}
}

// hello is this stream's HELLO.
func (r *runner) hello(mode string) wire.HelloMsg {
	h := wire.HelloMsg{Mode: mode, Test: r.test, Stream: r.id, Streams: r.cfg.Conns, Size: r.cfg.Size}
	if mode == wire.ModeRX || mode == wire.ModeBidir {
		h.Congestion = r.cfg.Congestion
		if r.cfg.Bitrate > 0 {
			h.Bitrate = max(r.cfg.Bitrate/int64(r.cfg.Conns), 1)
		}
	}
	if mode == wire.ModeUDP {
		h.OmitNS = r.omit
	}
	return h
}

// closeWrite half-closes c where it can (TCP, Unix, TLS).
func closeWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("the connection cannot be half-closed")
}

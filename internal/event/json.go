package event

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// The JSON form of an event, one object per line, is shared by --json,
// --record and the web UI's log download; docs/events.md is its published
// schema (every kind and field), and a test keeps the two in step:
//
//	{"t":"2026-11-26T10:00:00.123456789Z","event":"data","conn":1,"proto":"tcp",
//	 "local":"127.0.0.1:8888","peer":"127.0.0.1:51234","dir":"in","len":5,
//	 "text":"hello","hex":"68656c6c6f"}
//
// Field by field: t (RFC 3339, nanoseconds), event (listen, connect, data,
// close, refused, error, info, retry), conn (conversation id; 0 for the server
// itself), proto, local, peer, frame (connect events of framed streams: the
// --frame, such as len16), dir (in or out), len (bytes), text (the bytes
// decoded with the session's encoding; undecodable bytes become U+FFFD),
// hex (the exact bytes, --json), data (the exact bytes in base64, --record),
// reason, error, msg, option (the option that governs what reason or
// error says, such as max-conns), bytes_in and bytes_out (totals on close, counted on
// the wire), attempt and wait_ms (retry: the try about to be made and
// the pause before it). On a framed stream a data event is one message, without its
// length prefix or delimiter. Fields with nothing to say are left out,
// except t and event always, and dir, len and text on data events.
// Readers take the bytes from data, else hex, else text.

// Decoder turns the bytes of a data event into text for the "text" field.
// A nil Decoder reads them as UTF-8.
type Decoder func(p []byte) string

// Writer writes events as JSON lines. It is safe for concurrent use.
//
// It only ever hands whole lines to the file below, each batch in one
// Write, so a transcript cut short (a full disk, a signal) still ends on a
// line boundary; after the first failed write it drops the events that
// follow, since a transcript with a hole in it would replay wrongly.
type Writer struct {
	mu   sync.Mutex
	w    io.Writer
	opt  WriterOptions
	buf  []byte // whole lines not yet written
	size int64  // bytes of whole lines written so far
	err  error
}

// WriterOptions choose which forms of the bytes a Writer includes, and
// what it does when writing fails.
type WriterOptions struct {
	Hex    bool    // the "hex" field (--json)
	Base64 bool    // the "data" field (--record)
	Decode Decoder // for the "text" field
	Flush  bool    // write out every event at once (interactive consumers, --json)
	// OnError, if set, is called once, with the first write error (a
	// full disk, a closed pipe), so the caller can stop the run.
	OnError func(error)
	// Cut, if set, is called after a write that failed part way, with the
	// size of the whole lines written so far: a file the Writer fills from
	// offset 0 (--record) passes its Truncate, so that the half line the
	// kernel took is removed.
	Cut func(size int64) error
}

// flushAt is how much a Writer without Flush gathers before writing.
const flushAt = 64 << 10

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer, opt WriterOptions) *Writer {
	return &Writer{w: w, opt: opt}
}

// Write writes one event. After a failed write it does nothing.
func (w *Writer) Write(e *Event) {
	w.mu.Lock()
	if w.err != nil {
		w.mu.Unlock()
		return
	}
	w.buf = w.AppendJSON(w.buf, e)
	w.buf = append(w.buf, '\n')
	var failed error
	if w.opt.Flush || len(w.buf) >= flushAt {
		failed = w.writeOut()
	}
	w.mu.Unlock()
	w.report(failed)
}

// Sink returns w.Write as a Sink.
func (w *Writer) Sink() Sink { return w.Write }

// Flush writes out the events gathered and returns the first write error.
func (w *Writer) Flush() error {
	w.mu.Lock()
	failed := w.writeOut()
	err := w.err
	w.mu.Unlock()
	w.report(failed)
	return err
}

// writeOut writes the gathered lines in one Write, and returns the error
// when this is the first failure. w.mu is held.
func (w *Writer) writeOut() error {
	if len(w.buf) == 0 || w.err != nil {
		return nil
	}
	n, err := w.w.Write(w.buf)
	if err == nil && n < len(w.buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		whole := 0
		if n > 0 {
			whole = bytes.LastIndexByte(w.buf[:n], '\n') + 1
		}
		if n > whole && w.opt.Cut != nil {
			w.opt.Cut(w.size + int64(whole))
		}
		w.size += int64(whole)
		w.err = err
		w.buf = nil
		return err
	}
	w.size += int64(n)
	if cap(w.buf) > 4*flushAt {
		w.buf = nil // one huge message should not pin its buffer
	} else {
		w.buf = w.buf[:0]
	}
	return nil
}

func (w *Writer) report(err error) {
	if err != nil && w.opt.OnError != nil {
		w.opt.OnError(err)
	}
}

// AppendJSON appends e's JSON object (no newline) to dst.
func (w *Writer) AppendJSON(dst []byte, e *Event) []byte {
	dst = append(dst, `{"t":"`...)
	dst = e.Time.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","event":"`...)
	dst = append(dst, e.Kind...)
	dst = append(dst, '"')
	if e.Conn != 0 {
		dst = append(dst, `,"conn":`...)
		dst = strconv.AppendUint(dst, e.Conn, 10)
	}
	dst = appendField(dst, "proto", e.Proto)
	dst = appendField(dst, "local", e.Local)
	dst = appendField(dst, "peer", e.Peer)
	dst = appendField(dst, "frame", e.Frame)
	if e.Kind == Data {
		dst = appendField(dst, "dir", string(e.Dir))
		dst = append(dst, `,"len":`...)
		dst = strconv.AppendInt(dst, int64(len(e.Data)), 10)
		var text string
		if w.opt.Decode != nil {
			text = w.opt.Decode(e.Data)
		} else {
			text = string(e.Data)
		}
		dst = append(dst, `,"text":`...)
		dst = appendString(dst, text)
		if w.opt.Hex {
			dst = append(dst, `,"hex":"`...)
			dst = hex.AppendEncode(dst, e.Data)
			dst = append(dst, '"')
		}
		if w.opt.Base64 {
			dst = append(dst, `,"data":"`...)
			dst = base64.StdEncoding.AppendEncode(dst, e.Data)
			dst = append(dst, '"')
		}
	}
	dst = appendField(dst, "reason", e.Reason)
	dst = appendField(dst, "error", e.Err)
	dst = appendField(dst, "msg", e.Msg)
	dst = appendField(dst, "option", e.Option)
	if e.Kind == Close {
		dst = append(dst, `,"bytes_in":`...)
		dst = strconv.AppendInt(dst, e.BytesIn, 10)
		dst = append(dst, `,"bytes_out":`...)
		dst = strconv.AppendInt(dst, e.BytesOut, 10)
	}
	if e.Kind == Retry {
		dst = append(dst, `,"attempt":`...)
		dst = strconv.AppendInt(dst, int64(e.Attempt), 10)
		dst = append(dst, `,"wait_ms":`...)
		dst = strconv.AppendInt(dst, e.Wait.Milliseconds(), 10)
	}
	return append(dst, '}')
}

func appendField(dst []byte, name, v string) []byte {
	if v == "" {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return appendString(dst, v)
}

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD as
// encoding/json does.
func appendString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, `\u202`...)
			dst = append(dst, hexDigits[r&0xf])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// Record is an event as read back from JSON lines.
type Record struct {
	T        time.Time `json:"t"`
	Event    Kind      `json:"event"`
	Conn     uint64    `json:"conn,omitempty"`
	Proto    string    `json:"proto,omitempty"`
	Local    string    `json:"local,omitempty"`
	Peer     string    `json:"peer,omitempty"`
	Frame    string    `json:"frame,omitempty"`
	Dir      Dir       `json:"dir,omitempty"`
	Len      int       `json:"len,omitempty"`
	Text     *string   `json:"text,omitempty"`
	Hex      string    `json:"hex,omitempty"`
	Data     string    `json:"data,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Error    string    `json:"error,omitempty"`
	Msg      string    `json:"msg,omitempty"`
	Option   string    `json:"option,omitempty"`
	BytesIn  int64     `json:"bytes_in,omitempty"`
	BytesOut int64     `json:"bytes_out,omitempty"`
	Attempt  int       `json:"attempt,omitempty"`
	WaitMS   int64     `json:"wait_ms,omitempty"`
}

// Bytes returns the data of a data record, from data, hex or text (text
// is exact only for bytes that were valid text in the session's encoding).
func (r *Record) Bytes() ([]byte, error) {
	switch {
	case r.Data != "":
		return base64.StdEncoding.DecodeString(r.Data)
	case r.Hex != "":
		return hex.DecodeString(r.Hex)
	case r.Text != nil:
		return []byte(*r.Text), nil
	}
	return nil, nil
}

// ParseLine reads one JSON line into a Record and checks it is an event.
func ParseLine(line []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(line, &r); err != nil {
		return Record{}, err
	}
	if r.Event == legacyOpen {
		r.Event = Connect // recorded before the kinds took docs/events.md's names
	}
	if !slices.Contains(Kinds(), r.Event) {
		return Record{}, fmt.Errorf("unknown event %q", r.Event)
	}
	if r.Event == Data {
		if r.Dir != In && r.Dir != Out {
			return Record{}, fmt.Errorf("data event with dir %q (want in or out)", r.Dir)
		}
		if r.Data == "" && r.Hex == "" && r.Text == nil {
			return Record{}, fmt.Errorf("data event without its bytes (no data, hex or text field)")
		}
		b, err := r.Bytes()
		if err != nil {
			return Record{}, fmt.Errorf("data event: %v", err)
		}
		// text alone is a rendering (undecodable bytes became U+FFFD), so
		// only the exact forms must agree with len.
		if exact := r.Data != "" || r.Hex != ""; exact && r.Len != 0 && r.Len != len(b) {
			return Record{}, fmt.Errorf("data event says len %d but carries %d bytes", r.Len, len(b))
		}
	}
	return r, nil
}

// MaxLine is the longest transcript line a Scanner reads. A transcript
// may be any size, since it is read a line at a time; one line is one
// event, and a data event of a message of M bytes takes about 2.4M
// (base64 and text), more when the text is escaped, so 64 MiB holds any
// message up to the default --max-message of 16 MiB.
const MaxLine = 64 << 20

// Scanner reads a transcript one event at a time: JSON lines, blank lines
// ignored, each line at most MaxLine bytes. Errors name the line number.
type Scanner struct {
	sc  *bufio.Scanner
	n   int
	rec Record
	err error
}

// NewScanner returns a Scanner reading r.
func NewScanner(r io.Reader) *Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxLine)
	return &Scanner{sc: sc}
}

// Scan reads the next event, and reports whether there was one.
func (s *Scanner) Scan() bool {
	if s.err != nil {
		return false
	}
	for s.sc.Scan() {
		s.n++
		line := s.sc.Bytes()
		if len(trimSpace(line)) == 0 {
			continue
		}
		rec, err := ParseLine(line)
		if err != nil {
			s.err = fmt.Errorf("line %d: %v", s.n, err)
			return false
		}
		s.rec = rec
		return true
	}
	if err := s.sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		s.err = fmt.Errorf("line %d: longer than %d MiB, more than one event can take", s.n+1, MaxLine>>20)
	} else if err != nil {
		s.err = err
	}
	return false
}

// Record is the event Scan read.
func (s *Scanner) Record() Record { return s.rec }

// Err is the error that stopped Scan, nil at the end of the transcript.
func (s *Scanner) Err() error { return s.err }

// ReadAll reads a whole transcript into memory (small ones: tests, the
// UI); replay streams with a Scanner.
func ReadAll(r io.Reader) ([]Record, error) {
	sc := NewScanner(r)
	var out []Record
	for sc.Scan() {
		out = append(out, sc.Record())
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

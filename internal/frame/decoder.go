package frame

import (
	"bytes"
	"fmt"
	"io"
	"math"

	"github.com/sockit/sockit/internal/fail"
)

const (
	// initSize is where a framed Decoder's buffer starts; it doubles as
	// longer messages actually arrive, never ahead of the bytes, so a
	// hostile length prefix costs nothing.
	initSize = 4 << 10
	// rawSize is the read size for Raw, as large as a typical socket read.
	rawSize = 64 << 10
	// maxReadRetries bounds reads that return no bytes and no error,
	// as bufio does.
	maxReadRetries = 100
)

// TooLargeError reports a message longer than the Decoder's limit. For
// length-prefixed and fixed framings Size is the message's declared size;
// for line and delim it is how many bytes arrived without a delimiter, so
// the message is at least that long.
type TooLargeError struct {
	Size, Max int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("message of %d bytes exceeds the maximum message size (%d bytes)", e.Size, e.Max)
}

// Option is the option that sets the limit (see fail.OptionOf).
func (e *TooLargeError) Option() fail.Option { return OptMaxMessage }

// HintText is what to try, with the option written by name.
func (e *TooLargeError) HintText(name fail.Namer) string {
	return fail.Sprintf(name, "Note that %s raises the limit, up to 1G.", OptMaxMessage)
}

// truncatedError is a fixed or length-prefixed message cut short by EOF.
type truncatedError struct {
	what      string
	got, want int
}

func (e *truncatedError) Error() string {
	return fmt.Sprintf("truncated %s: %d of %d bytes before EOF", e.what, e.got, e.want)
}

func (e *truncatedError) Unwrap() error { return io.ErrUnexpectedEOF }

// A Decoder reads messages framed by a Spec from an io.Reader.
//
// It buffers: it may read past the message it returns, and Buffered says
// how much. It is not safe for concurrent use.
type Decoder struct {
	r     io.Reader
	spec  Spec
	delim []byte // what ends a Line or Delim message
	hdr   int    // length prefix size
	max   int    // largest payload
	limit int    // largest buffer: max plus the framing around it

	buf        []byte
	wire       []byte // the last message returned, as it arrived
	start, end int    // buf[start:end] is read but not yet returned
	seen       int    // bytes from start already searched for delim
	err        error  // from r; returned once the buffer is drained
	fatal      error  // bad Spec or a message too large: returned ever after
}

// NewDecoder returns a Decoder reading messages framed by s from r and
// refusing any message longer than max bytes (DefaultMax if max <= 0).
func NewDecoder(r io.Reader, s Spec, max int) *Decoder {
	if max <= 0 {
		max = DefaultMax
	}
	max = min(max, math.MaxInt32) // keeps max+overhead and doubling far from overflow
	d := &Decoder{r: r, spec: s, max: max}
	switch s.Kind {
	case Raw:
		d.limit = min(rawSize, max)
	case Line:
		d.delim = []byte{'\n'}
		d.limit = max + 1
	case Delim:
		d.delim = bytes.Clone(s.Delim) // the caller may reuse s.Delim
		d.limit = max + len(s.Delim)
	case Fixed:
		d.limit = s.N
	case Len8, Len16, Len16LE, Len32, Len32LE:
		d.hdr = prefixes[s.Kind].n
		d.limit = d.hdr + max
	}
	d.Reset(r)
	return d
}

// Reset makes d read from r as if new, forgetting any buffered bytes and
// errors but keeping its buffer.
func (d *Decoder) Reset(r io.Reader) {
	d.r = r
	d.start, d.end, d.seen = 0, 0, 0
	d.err, d.wire = nil, nil
	d.fatal = d.spec.check()
	if d.fatal == nil && d.spec.Kind == Fixed && d.spec.N > d.max {
		d.fatal = &TooLargeError{Size: d.spec.N, Max: d.max}
	}
}

// Wire returns the message Next returned last as it arrived: with its
// length prefix or delimiter (an unterminated last line has none). Like
// the message, it is valid only until the next call to Next or Reset.
// Nothing of a message Next refused (too large, truncated) is ever in
// it.
func (d *Decoder) Wire() []byte { return d.wire }

// Buffered returns how many bytes d has read from its reader but not yet
// returned in a message.
func (d *Decoder) Buffered() int { return d.end - d.start }

// Next returns the next message's payload: without its length prefix,
// without the delimiter for delim, without the "\n" for line (a "\r"
// before it stays). Raw returns whatever one Read returned.
//
// The slice points into d's buffer and is valid only until the next call
// to Next or Reset; copy it to keep it.
//
// At EOF, the unterminated end of a line or delim stream is returned as a
// last message, then io.EOF; a fixed or length-prefixed message cut short
// is an error wrapping io.ErrUnexpectedEOF. A message longer than the
// limit is a *TooLargeError, returned as soon as that is known (for a
// length prefix, before buffering any of the payload) and on every call
// after. Other read errors are returned as they are, after the messages
// already buffered.
func (d *Decoder) Next() ([]byte, error) {
	d.wire = nil
	if d.fatal != nil {
		return nil, d.fatal
	}
	for {
		msg, ok, err := d.split()
		if err != nil {
			d.fatal = err
			return nil, err
		}
		if ok {
			return msg, nil
		}
		if d.err != nil {
			return d.atErr()
		}
		d.fill()
	}
}

// split takes one whole message off the front of the buffer if there is
// one there.
func (d *Decoder) split() (msg []byte, ok bool, err error) {
	b := d.buf[d.start:d.end]
	switch d.spec.Kind {
	case Raw:
		d.start = d.end
		if len(b) > 0 {
			d.wire = b
		}
		return b, len(b) > 0, nil
	case Line, Delim:
		// Resume the search where the last one stopped, backing up in
		// case a delimiter straddles that point.
		from := max(0, d.seen-len(d.delim)+1)
		i := bytes.Index(b[from:], d.delim) // IndexByte for one byte
		if i < 0 {
			d.seen = len(b)
			if atLeast := len(b) - len(d.delim) + 1; atLeast > d.max {
				return nil, false, &TooLargeError{Size: atLeast, Max: d.max}
			}
			return nil, false, nil
		}
		i += from
		if i > d.max {
			return nil, false, &TooLargeError{Size: i, Max: d.max}
		}
		d.start += i + len(d.delim)
		d.seen = 0
		d.wire = b[:i+len(d.delim)]
		return b[:i], true, nil
	case Fixed:
		if len(b) < d.spec.N {
			return nil, false, nil
		}
		d.start += d.spec.N
		d.wire = b[:d.spec.N]
		return b[:d.spec.N], true, nil
	}
	hdr := d.hdr
	if len(b) < hdr {
		return nil, false, nil
	}
	size := d.size(b)
	if size > uint64(d.max) {
		return nil, false, &TooLargeError{Size: int(min(size, math.MaxInt)), Max: d.max}
	}
	need := hdr + int(size)
	if len(b) < need {
		return nil, false, nil
	}
	d.start += need
	d.wire = b[:need]
	return b[hdr:need], true, nil
}

// size decodes the length prefix at the front of b.
func (d *Decoder) size(b []byte) uint64 {
	switch p := prefixes[d.spec.Kind]; p.n {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(p.order.Uint16(b))
	default:
		return uint64(p.order.Uint32(b))
	}
}

// atErr is Next when the buffer holds no whole message and r has failed.
func (d *Decoder) atErr() ([]byte, error) {
	if d.err != io.EOF || d.start == d.end {
		return nil, d.err
	}
	b := d.buf[d.start:d.end]
	d.start, d.seen = d.end, 0
	switch k := d.spec.Kind; {
	case (k == Line || k == Delim) && len(b) > d.max:
		d.fatal = &TooLargeError{Size: len(b), Max: d.max}
		return nil, d.fatal
	case k == Line || k == Delim:
		d.wire = b
		return b, nil // the unterminated end of the stream is a message too
	case k == Fixed:
		return nil, &truncatedError{"message", len(b), d.spec.N}
	case len(b) < d.hdr:
		return nil, &truncatedError{"length prefix", len(b), d.hdr}
	default:
		return nil, &truncatedError{"message", len(b) - d.hdr, int(d.size(b))}
	}
}

// fill reads once more into the buffer, making room first: it moves the
// unreturned bytes to the front, and grows the buffer only when they fill
// it (split has already refused a message that would need more than limit).
func (d *Decoder) fill() {
	if d.buf == nil && d.spec.Kind == Raw {
		d.buf = make([]byte, d.limit)
	} else if d.buf == nil {
		d.buf = make([]byte, min(initSize, d.limit))
	}
	if d.start > 0 {
		d.end = copy(d.buf, d.buf[d.start:d.end])
		d.start = 0 // seen counts from start, so it still holds
	}
	if d.end == len(d.buf) && len(d.buf) < d.limit {
		nb := make([]byte, min(2*len(d.buf), d.limit))
		copy(nb, d.buf[:d.end])
		d.buf = nb
	}
	d.err = d.read(d.buf[d.end:])
}

// read reads into p at d.end, retrying reads that return nothing.
func (d *Decoder) read(p []byte) error {
	for range maxReadRetries {
		n, err := d.r.Read(p)
		if n < 0 || n > len(p) {
			return fmt.Errorf("frame: reader returned %d bytes for a buffer of %d", n, len(p))
		}
		d.end += n
		if n > 0 || err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

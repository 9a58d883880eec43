package codec

import (
	"io"
	"unicode/utf8"

	"golang.org/x/text/transform"

	"github.com/sockit/sockit/internal/fail"
)

// NewDecodeWriter returns a writer that decodes the bytes written to it
// from e and writes them to w as UTF-8. A character split across two
// Writes decodes as one. Undecodable bytes become U+FFFD. Close writes an
// incomplete trailing character as U+FFFD; it does not close w. For UTF-8
// the writer passes bytes through untouched.
func (e *Encoding) NewDecodeWriter(w io.Writer) io.WriteCloser {
	switch e.kind {
	case kindUTF8:
		return nopCloser{w}
	case kindSingle:
		return transform.NewWriter(w, singleDecoder{e})
	case kindUTF16:
		return transform.NewWriter(w, &utf16Decoder{e: e})
	}
	return transform.NewWriter(w, e.x.NewDecoder())
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// singleDecoder is the transformer for table-driven encodings.
type singleDecoder struct{ e *Encoding }

func (singleDecoder) Reset() {}

func (d singleDecoder) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		r := d.e.table[src[nSrc]]
		if r == invalid {
			r = utf8.RuneError
		}
		if nDst+utf8.RuneLen(r) > len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		nDst += utf8.EncodeRune(dst[nDst:], r)
		nSrc++
	}
	return nDst, nSrc, nil
}

// utf16Decoder is the transformer for UTF-16. It is ours rather than
// x/text's so that it agrees with Decode byte for byte (x/text folds a run
// of unpaired low surrogates into one U+FFFD).
type utf16Decoder struct {
	e       *Encoding
	started bool // past the point where a BOM could be
	big     bool
}

func (d *utf16Decoder) Reset() { d.started = false }

func (d *utf16Decoder) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	if !d.started {
		if d.e.bom && len(src) < 2 && !atEOF {
			return 0, 0, transform.ErrShortSrc
		}
		var rest []byte
		rest, d.big = d.e.utf16Order(src, true)
		nSrc = len(src) - len(rest)
		d.started = true
	}
	for nSrc < len(src) {
		r, n := decodeUTF16(src[nSrc:], d.big)
		if n == 0 {
			rem := len(src) - nSrc
			if !atEOF && (rem < 2 || (rem < 4 && isHighSurrogate(unit(src[nSrc:], d.big)))) {
				return nDst, nSrc, transform.ErrShortSrc
			}
			r, n = utf8.RuneError, min(2, rem)
		}
		if nDst+utf8.RuneLen(r) > len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		nDst += utf8.EncodeRune(dst[nDst:], r)
		nSrc += n
	}
	return nDst, nSrc, nil
}

func isHighSurrogate(u uint16) bool { return u >= 0xd800 && u < 0xdc00 }

// NewEncodeWriter returns a writer that encodes the UTF-8 text written to
// it into e and writes the result to w. A character split across two Writes
// encodes as one. A character e cannot represent, or bytes that are not
// UTF-8, make Write return a *exitcode.UsageError; Close reports an
// incomplete trailing character the same way. Close does not close w. For
// UTF-8 the writer passes bytes through untouched.
func (e *Encoding) NewEncodeWriter(w io.Writer) io.WriteCloser {
	if e.kind == kindUTF8 {
		return nopCloser{w}
	}
	return &encodeWriter{e: e, w: w}
}

type encodeWriter struct {
	e       *Encoding
	w       io.Writer
	partial [utf8.UTFMax]byte // start of a character whose end has not come yet
	np      int
	buf     []byte
	err     error
}

func (ew *encodeWriter) Write(p []byte) (int, error) {
	if ew.err != nil {
		return 0, ew.err
	}
	ew.buf = ew.buf[:0]
	n := 0
	if ew.np > 0 {
		for n < len(p) && !utf8.FullRune(ew.partial[:ew.np]) {
			ew.partial[ew.np] = p[n]
			ew.np++
			n++
		}
		if !utf8.FullRune(ew.partial[:ew.np]) {
			return n, nil
		}
		// The held bytes were a valid prefix, so they are now one
		// character, or invalid UTF-8 that Append reports.
		var err error
		if ew.buf, err = ew.e.Append(ew.buf, string(ew.partial[:ew.np])); err != nil {
			return ew.fail(n, err)
		}
		ew.np = 0
	}
	rest := p[n:]
	end := boundaryUTF8(rest)
	out := rest[:end]
	if !ew.e.asciiCompat || !isASCIIBytes(out) || len(ew.buf) > 0 {
		var err error
		if ew.buf, err = ew.e.Append(ew.buf, string(out)); err != nil {
			return ew.fail(n, err)
		}
		out = ew.buf
	} // else ASCII in an ASCII-compatible encoding goes out as it is
	if len(out) > 0 {
		if _, err := ew.w.Write(out); err != nil {
			return ew.fail(n, err)
		}
	}
	ew.np = copy(ew.partial[:], rest[end:])
	return len(p), nil
}

// fail makes err sticky: after a failed Write the output is short and
// nothing written later could make sense of it.
func (ew *encodeWriter) fail(n int, err error) (int, error) {
	ew.err = err
	return n, err
}

func (ew *encodeWriter) Close() error {
	if ew.err != nil {
		return ew.err
	}
	if ew.np > 0 {
		partial := ew.partial[:ew.np]
		ew.np = 0
		return fail.Inputf("incomplete UTF-8 sequence % x at end of input", partial)
	}
	return nil
}

func isASCIIBytes(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

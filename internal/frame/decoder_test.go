package frame

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/sockit/sockit/internal/fail"
)

// chunkReader returns data in reads of the sizes next chooses, as a
// network peer's segments would arrive.
type chunkReader struct {
	data []byte
	next func() int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), max(1, r.next()))], r.data)
	r.data = r.data[n:]
	return n, nil
}

func fixedChunks(n int) func([]byte) io.Reader {
	return func(b []byte) io.Reader { return &chunkReader{b, func() int { return n }} }
}

func randomChunks(seed uint64, hi int) func([]byte) io.Reader {
	return func(b []byte) io.Reader {
		rng := rand.New(rand.NewPCG(seed, 0))
		return &chunkReader{b, func() int { return 1 + rng.IntN(hi) }}
	}
}

// chunkings are the ways a test stream is cut into reads; with
// specsUnderTest they sweep the decoder's buffer boundaries.
func chunkings(hdr int) []struct {
	name string
	r    func([]byte) io.Reader
} {
	return []struct {
		name string
		r    func([]byte) io.Reader
	}{
		{"one-byte", func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }},
		{"random1-7", randomChunks(1, 7)},
		{"random1-9000", randomChunks(2, 9000)},
		{"prefix-size", fixedChunks(max(hdr, 2))},
		{"prefix-size+1", fixedChunks(hdr + 1)},
		{"init-1", fixedChunks(initSize - 1)},
		{"init", fixedChunks(initSize)},
		{"init+1", fixedChunks(initSize + 1)},
		{"2init+1", fixedChunks(2*initSize + 1)},
		{"all", func(b []byte) io.Reader { return bytes.NewReader(b) }},
		{"half", func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) }},
		{"data-err", func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) }},
		{"data-err-one-byte", func(b []byte) io.Reader {
			return iotest.DataErrReader(iotest.OneByteReader(bytes.NewReader(b)))
		}},
	}
}

var specsUnderTest = []string{"raw", "line", "delim:00", "delim:0d0a", "delim:0d0a0d0a", "delim:616161",
	"fixed:1", "fixed:7", "fixed:4095", "fixed:4096", "fixed:4097", "len8", "len16", "len16le", "len32", "len32le"}

// roundTrips reports whether msg framed by s decodes as msg: it must not
// hold the delimiter, nor end in a way that makes one appear early.
func roundTrips(s Spec, msg []byte) bool {
	switch s.Kind {
	case Line:
		return bytes.IndexByte(msg, '\n') < 0
	case Delim:
		return bytes.Index(append(msg[:len(msg):len(msg)], s.Delim...), s.Delim) == len(msg)
	case Fixed:
		return len(msg) == s.N
	}
	n := prefixes[s.Kind].n
	return n == 0 || len(msg) < 1<<(8*n)
}

// testMessages returns messages of many sizes around the decoder's buffer
// sizes and s's limits, including empty ones, that s can carry.
func testMessages(s Spec) [][]byte {
	if s.Kind == Fixed {
		var msgs [][]byte
		for i := range 5 {
			msgs = append(msgs, pattern(s.N, byte(i)))
		}
		return msgs
	}
	end := s.Delim
	if s.Kind == Line {
		end = []byte("\n")
	}
	var msgs [][]byte
	for i, n := range []int{0, 1, 5, 0, 0, 254, 255, 256, initSize - 5, initSize - 4, initSize - 3,
		initSize - 2, initSize - 1, initSize, initSize + 1, 2 * initSize, 10000, 65535, 65536, 100000} {
		m := pattern(n, byte(i))
		if len(end) > 1 && n > 10 {
			copy(m[n/2:], end[:len(end)-1]) // part of a delimiter is not one
			copy(m[n-len(end)+1:], end[:len(end)-1])
		}
		if s.Kind == Line && n > 1 {
			m[n-1] = '\r' // a \r before the \n stays in the message
		}
		for !roundTrips(s, m) && len(end) > 0 {
			m[bytes.Index(append(bytes.Clone(m), end...), end)] = 'z'
		}
		if roundTrips(s, m) {
			msgs = append(msgs, m)
		}
	}
	return msgs
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7+i/251)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, in := range specsUnderTest {
		s, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		msgs := testMessages(s)
		var stream []byte
		largest := 1
		for _, m := range msgs {
			if stream, err = s.Append(stream, m); err != nil {
				t.Fatalf("%v.Append: %v", s, err)
			}
			largest = max(largest, len(m))
		}
		for _, c := range chunkings(prefixes[s.Kind].n) {
			t.Run(in+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				// The largest message is exactly the limit: accepted.
				d := NewDecoder(c.r(stream), s, largest)
				got, err := readAll(d)
				if err != io.EOF {
					t.Fatalf("after %d messages: %v, want io.EOF", len(got), err)
				}
				msgs := msgs
				if s.Kind == Raw { // raw keeps the bytes, not the boundaries
					got, msgs = [][]byte{bytes.Join(got, nil)}, [][]byte{bytes.Join(msgs, nil)}
				}
				if len(got) != len(msgs) {
					t.Fatalf("got %d messages, want %d", len(got), len(msgs))
				}
				for i := range msgs {
					if !bytes.Equal(got[i], msgs[i]) {
						t.Fatalf("message %d: got %d bytes %.16q, want %d bytes %.16q",
							i, len(got[i]), got[i], len(msgs[i]), msgs[i])
					}
				}
				if d.Buffered() != 0 {
					t.Errorf("Buffered() = %d at EOF", d.Buffered())
				}
			})
		}
	}
}

// readAll copies out every message until the first error.
func readAll(d *Decoder) ([][]byte, error) {
	var msgs [][]byte
	for {
		m, err := d.Next()
		if err != nil {
			return msgs, err
		}
		msgs = append(msgs, bytes.Clone(m))
	}
}

func TestManyInOneRead(t *testing.T) {
	t.Parallel()
	d := NewDecoder(bytes.NewReader([]byte("a\nbb\n\nccc\r\n")), Spec{Kind: Line}, 0)
	for i, want := range []string{"a", "bb", "", "ccc\r"} {
		m, err := d.Next()
		if err != nil || string(m) != want {
			t.Fatalf("message %d = %q, %v; want %q", i, m, err, want)
		}
		if i == 0 && d.Buffered() != 9 {
			t.Errorf("Buffered() = %d after the first message, want 9", d.Buffered())
		}
	}
	if _, err := d.Next(); err != io.EOF {
		t.Fatalf("err = %v, want io.EOF", err)
	}
}

func TestRaw(t *testing.T) {
	t.Parallel()
	sizes := []int{3, 1, 70000, 70000}
	data := pattern(70009, 0)
	i := 0
	r := &chunkReader{data, func() int { i++; return sizes[i-1] }}
	d := NewDecoder(r, Spec{}, 0)
	// Raw passes on each read as it came, up to its 64 KiB buffer.
	for _, want := range []int{3, 1, rawSize, len(data) - 4 - rawSize} {
		m, err := d.Next()
		if err != nil || len(m) != want {
			t.Fatalf("got %d bytes, %v; want %d", len(m), err, want)
		}
	}
	if _, err := d.Next(); err != io.EOF {
		t.Fatalf("err = %v, want io.EOF", err)
	}
	// A small max caps the read size, so no raw message exceeds it.
	d = NewDecoder(bytes.NewReader(data), Spec{}, 100)
	if m, _ := d.Next(); len(m) != 100 {
		t.Errorf("raw with max 100 returned %d bytes", len(m))
	}
}

func TestEOF(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec, data string
		want       []string // messages before the error
		err        string   // "" for io.EOF
	}{
		{"raw", "", nil, ""},
		{"raw", "abc", []string{"abc"}, ""},
		{"line", "", nil, ""},
		{"line", "a\nbc", []string{"a", "bc"}, ""},
		{"line", "a\nb\r", []string{"a", "b\r"}, ""},
		{"line", "a\n\n", []string{"a", ""}, ""},
		{"delim:0d0a", "a\r\nb\r", []string{"a", "b\r"}, ""},
		{"delim:0d0a", "\r\n", []string{""}, ""},
		{"fixed:10", "", nil, ""},
		{"fixed:10", "0123456789abc", []string{"0123456789"}, "truncated message: 3 of 10 bytes before EOF"},
		{"len8", "\x01a\x05abc", []string{"a"}, "truncated message: 3 of 5 bytes before EOF"},
		{"len16", "\x00", nil, "truncated length prefix: 1 of 2 bytes before EOF"},
		{"len16", "\x00\x0aabc", nil, "truncated message: 3 of 10 bytes before EOF"},
		{"len16", "\x00\x00\x00\x00", []string{"", ""}, ""},
		{"len16le", "\x0a\x00abc", nil, "truncated message: 3 of 10 bytes before EOF"},
		{"len32", "\x00\x00\x00", nil, "truncated length prefix: 3 of 4 bytes before EOF"},
		{"len32", "\x00\x00\x00\x0a", nil, "truncated message: 0 of 10 bytes before EOF"},
		{"len32le", "\x0a\x00\x00\x00abc", nil, "truncated message: 3 of 10 bytes before EOF"},
	}
	for _, tt := range tests {
		s, _ := Parse(tt.spec)
		for _, c := range chunkings(prefixes[s.Kind].n) {
			d := NewDecoder(c.r([]byte(tt.data)), s, 0)
			got, err := readAll(d)
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				if s.Kind != Raw || string(bytes.Join(got, nil)) != tt.data {
					t.Errorf("%s %q %s: got %q, want %q", tt.spec, tt.data, c.name, got, tt.want)
				}
			}
			switch {
			case tt.err == "" && err != io.EOF:
				t.Errorf("%s %q %s: err = %v, want io.EOF", tt.spec, tt.data, c.name, err)
			case tt.err != "" && (err == nil || err.Error() != tt.err || !errors.Is(err, io.ErrUnexpectedEOF)):
				t.Errorf("%s %q %s: err = %v, want %q wrapping io.ErrUnexpectedEOF", tt.spec, tt.data, c.name, err, tt.err)
			}
			if _, err := d.Next(); err != io.EOF {
				t.Errorf("%s %q %s: after the end, err = %v, want io.EOF", tt.spec, tt.data, c.name, err)
			}
		}
	}
}

func TestTooLarge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec, data string
		max        int
		want       []string // messages before the error
		size       int
	}{
		{"len8", "\x02ab\x03abc", 2, []string{"ab"}, 3},
		{"len16", "\x01\x00", 255, nil, 256},
		{"len16le", "\xff\xff", 100, nil, 65535},
		{"len32", "\xff\xff\xff\xff", 1 << 20, nil, min(1<<32-1, math.MaxInt)}, // clamped on 32-bit
		{"len32le", "\x00\x00\x40\x01", DefaultMax, nil, 0x01400000},
		{"fixed:5", "abcde", 4, nil, 5},
		{"line", "abc\nabcd\n", 3, []string{"abc"}, 4},
		{"line", "abc\nabcd", 3, []string{"abc"}, 4},
		{"line", "abcdefgh", 3, nil, 4},
		{"delim:0d0a", "abc\r\nabcd\r\n", 3, []string{"abc"}, 4},
		{"delim:0d0a", "abcd\r", 3, nil, 4},
		{"delim:0d0a", "abc\r", 3, nil, 4}, // the unterminated end is a message too: too large
		{"delim:0d0a", "abc\rx", 3, nil, 4},
	}
	for _, tt := range tests {
		s, _ := Parse(tt.spec)
		for _, c := range chunkings(prefixes[s.Kind].n) {
			d := NewDecoder(c.r([]byte(tt.data)), s, tt.max)
			got, err := readAll(d)
			if len(got) != len(tt.want) || len(got) > 0 && string(got[0]) != tt.want[0] {
				t.Errorf("%s %q %s: got %q, want %q", tt.spec, tt.data, c.name, got, tt.want)
			}
			var tl *TooLargeError
			if !errors.As(err, &tl) || tl.Max != tt.max || tl.Size < tt.size || s.Kind != Line && s.Kind != Delim && tl.Size != tt.size {
				t.Errorf("%s %q %s: err = %#v, want TooLargeError{%d, %d}", tt.spec, tt.data, c.name, err, tt.size, tt.max)
			}
			if _, err2 := d.Next(); err2 != err {
				t.Errorf("%s %q %s: next error %v, want %v again", tt.spec, tt.data, c.name, err2, err)
			}
		}
	}
	e := &TooLargeError{Size: 20 << 20, Max: DefaultMax}
	if got, want := e.Error(), "message of 20971520 bytes exceeds the maximum message size (16777216 bytes)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	// The option is carried beside the message, for a front end to name.
	wrapped := fmt.Errorf("recv tcp://127.0.0.1:1: %w", e)
	if got := fail.OptionOf(wrapped); got != OptMaxMessage {
		t.Errorf("OptionOf = %q, want %q", got, OptMaxMessage)
	}
	flag := func(o fail.Option) string { return "--" + string(o) }
	if got, want := e.HintText(flag), "Note that --max-message raises the limit, up to 1G."; got != want {
		t.Errorf("HintText = %q, want %q", got, want)
	}
}

// A hostile length prefix must be refused before the buffer grows toward it.
func TestTooLargeAllocatesNothing(t *testing.T) {
	data := []byte("\x7f\xff\xff\xff" + "some of the payload")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var d *Decoder
	for range 10 {
		d = NewDecoder(bytes.NewReader(data), Spec{Kind: Len32}, 1<<20)
		_, err := d.Next()
		var tl *TooLargeError
		if !errors.As(err, &tl) || tl.Size != 0x7fffffff || tl.Max != 1<<20 {
			t.Fatalf("err = %v, want TooLargeError", err)
		}
	}
	runtime.ReadMemStats(&after)
	if cap(d.buf) > initSize {
		t.Errorf("buffer grew to %d", cap(d.buf))
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 10*(initSize+1024) {
		t.Errorf("allocated %d bytes for 10 refused messages", n)
	}
	// Without a max, the default applies, still before any growth.
	d = NewDecoder(bytes.NewReader(data), Spec{Kind: Len32}, 0)
	if _, err := d.Next(); !errors.As(err, new(*TooLargeError)) || cap(d.buf) > initSize {
		t.Errorf("default max: err = %v, buffer %d", err, cap(d.buf))
	}
}

// The buffer grows only as bytes of a large message arrive.
func TestBufferGrowsWithData(t *testing.T) {
	t.Parallel()
	data := append([]byte{0, 0x10, 0, 0}, pattern(10000, 0)...) // announces 1 MiB, sends 10000 bytes
	d := NewDecoder(bytes.NewReader(data), Spec{Kind: Len32}, 0)
	if _, err := d.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v", err)
	}
	if cap(d.buf) > 16<<10 {
		t.Errorf("buffer is %d bytes for 10004 received", cap(d.buf))
	}
}

type errAfter struct {
	r   io.Reader
	err error
}

func (e *errAfter) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		err = e.err
	}
	return n, err
}

func TestReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset by peer")
	d := NewDecoder(&errAfter{bytes.NewReader([]byte("\x00\x01a\x00\x02b")), boom}, Spec{Kind: Len16}, 0)
	m, err := d.Next()
	if string(m) != "a" || err != nil {
		t.Fatalf("got %q, %v", m, err)
	}
	for range 2 {
		if _, err := d.Next(); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want %v", err, boom)
		}
	}
	d = NewDecoder(iotest.TimeoutReader(bytes.NewReader([]byte("ab\ncd"))), Spec{Kind: Line}, 0)
	if m, err := d.Next(); string(m) != "ab" || err != nil {
		t.Fatalf("got %q, %v", m, err)
	}
	if _, err := d.Next(); !errors.Is(err, iotest.ErrTimeout) {
		t.Fatalf("err = %v, want %v", err, iotest.ErrTimeout)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

type liarReader struct{}

func (liarReader) Read(p []byte) (int, error) { return len(p) + 1, nil }

func TestBadReaders(t *testing.T) {
	t.Parallel()
	for _, in := range specsUnderTest {
		s, _ := Parse(in)
		if _, err := NewDecoder(zeroReader{}, s, 0).Next(); err != io.ErrNoProgress {
			t.Errorf("%s: zero reads: err = %v, want io.ErrNoProgress", in, err)
		}
		if _, err := NewDecoder(liarReader{}, s, 0).Next(); err == nil {
			t.Errorf("%s: a reader claiming too many bytes was believed", in)
		}
	}
}

func TestInvalidSpec(t *testing.T) {
	t.Parallel()
	for _, s := range []Spec{{Kind: Fixed}, {Kind: Fixed, N: -1}, {Kind: Delim}, {Kind: 200}} {
		d := NewDecoder(bytes.NewReader([]byte("data\n")), s, 0)
		if _, err := d.Next(); err == nil {
			t.Errorf("%#v: Next succeeded", s)
		}
	}
}

func TestReset(t *testing.T) {
	t.Parallel()
	d := NewDecoder(bytes.NewReader([]byte("\xff\xff")), Spec{Kind: Len16}, 10)
	if _, err := d.Next(); !errors.As(err, new(*TooLargeError)) {
		t.Fatalf("err = %v", err)
	}
	buf := d.buf
	d.Reset(bytes.NewReader([]byte("\x00\x02hi\x00")))
	if m, err := d.Next(); string(m) != "hi" || err != nil {
		t.Fatalf("after Reset: %q, %v", m, err)
	}
	if &d.buf[0] != &buf[0] {
		t.Error("Reset dropped the buffer")
	}
	if d.Buffered() != 1 {
		t.Errorf("Buffered() = %d, want 1", d.Buffered())
	}
}

// Once the buffer has grown, decoding allocates nothing per message.
func TestNextNoAllocs(t *testing.T) {
	for _, in := range []string{"line", "delim:0d0a", "fixed:64", "len8", "len16", "len32le", "raw"} {
		s, _ := Parse(in)
		stream := streamOf(s, 1000, 64)
		r := bytes.NewReader(stream)
		d := NewDecoder(r, s, 0)
		next := func() {
			if _, err := d.Next(); err == io.EOF {
				r.Reset(stream)
				d.Reset(r)
			}
		}
		for range 2000 {
			next()
		}
		if n := testing.AllocsPerRun(5000, next); n != 0 {
			t.Errorf("%s: %v allocs per message", in, n)
		}
	}
}

func streamOf(s Spec, count, size int) []byte {
	var stream []byte
	for i := range count {
		m := bytes.Repeat([]byte{'a' + byte(i%26)}, size)
		stream, _ = s.Append(stream, m)
	}
	return stream
}

func benchmarkNext(b *testing.B, in string, size int) {
	s, _ := Parse(in)
	stream := streamOf(s, 1000, size)
	r := bytes.NewReader(stream)
	d := NewDecoder(r, s, 0)
	b.SetBytes(int64(len(stream) / 1000))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Next(); err == io.EOF {
			r.Reset(stream)
			d.Reset(r)
		}
	}
}

func BenchmarkNextLine64(b *testing.B)   { benchmarkNext(b, "line", 64) }
func BenchmarkNextLine1K(b *testing.B)   { benchmarkNext(b, "line", 1024) }
func BenchmarkNextDelim64(b *testing.B)  { benchmarkNext(b, "delim:0d0a", 64) }
func BenchmarkNextLen16_64(b *testing.B) { benchmarkNext(b, "len16", 64) }
func BenchmarkNextLen16_1K(b *testing.B) { benchmarkNext(b, "len16", 1024) }

func BenchmarkAppendLen16(b *testing.B) {
	s := Spec{Kind: Len16}
	msg := make([]byte, 64)
	dst := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = s.Append(dst[:0], msg)
	}
}

package frame

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/sockit/sockit/internal/exitcode"
)

// Seed corpora are in testdata/fuzz/FuzzParse and testdata/fuzz/FuzzDecoder.

func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(in)
		if err != nil {
			var ue *exitcode.UsageError
			if !errors.As(err, &ue) || ue.Msg == "" {
				t.Fatalf("Parse(%q) = %v, not a usage error", in, err)
			}
			return
		}
		if err := s.check(); err != nil {
			t.Fatalf("Parse(%q) = %#v: %v", in, s, err)
		}
		out := s.String()
		s2, err := Parse(out)
		if err != nil || !equal(s, s2) || s2.String() != out {
			t.Fatalf("Parse(%q) = %#v, String %q, which parses as %#v, %v", in, s, out, s2, err)
		}
	})
}

var fuzzSpecs = []Spec{
	{}, {Kind: Line},
	{Kind: Delim, Delim: []byte{0}}, {Kind: Delim, Delim: []byte("\r\n")},
	{Kind: Delim, Delim: []byte("\r\n\r\n")}, {Kind: Delim, Delim: []byte("aaa")}, {Kind: Delim, Delim: []byte("abab")},
	{Kind: Fixed, N: 1}, {Kind: Fixed, N: 3}, {Kind: Fixed, N: 8},
	{Kind: Len8}, {Kind: Len16}, {Kind: Len16LE}, {Kind: Len32}, {Kind: Len32LE},
}

// FuzzDecoder checks, for the spec fuzzSpecs[which], that messages cut
// from blob survive Append and a Decoder reading them in chunks chosen by
// seed; and that decoding blob itself, as arbitrary bytes under a small
// limit, ends without a panic or a hang and never yields a message over
// the limit.
func FuzzDecoder(f *testing.F) {
	f.Fuzz(func(t *testing.T, which uint8, blob []byte, seed int64) {
		s := fuzzSpecs[int(which)%len(fuzzSpecs)]
		maxChunk := 1 + int(uint64(seed)%97)
		chunked := func(b []byte) io.Reader {
			rng := rand.New(rand.NewPCG(uint64(seed), 1))
			return &chunkReader{b, func() int { return 1 + rng.IntN(maxChunk) }}
		}

		// Round trip: each length byte of blob starts a message of up to
		// that many of the following bytes.
		var msgs [][]byte
		var stream []byte
		for rest := blob; len(rest) > 0; {
			n := min(int(rest[0]), len(rest)-1)
			m := rest[1 : 1+n]
			rest = rest[1+n:]
			if s.Kind == Fixed {
				m = append(bytes.Clone(m), make([]byte, s.N)...)[:s.N]
			}
			if !roundTrips(s, m) {
				continue
			}
			var err error
			if stream, err = s.Append(stream, m); err != nil {
				t.Fatalf("%v.Append(%q): %v", s, m, err)
			}
			msgs = append(msgs, m)
		}
		var got [][]byte
		var wire []byte // every message as it arrived, which is the stream
		d := NewDecoder(chunked(stream), s, 0)
		for {
			m, err := d.Next()
			if err != nil {
				if err != io.EOF {
					t.Fatalf("%v: after %d messages: %v", s, len(got), err)
				}
				break
			}
			got = append(got, bytes.Clone(m))
			wire = append(wire, d.Wire()...)
		}
		if !bytes.Equal(wire, stream) {
			t.Fatalf("%v: Wire gave %q, the stream was %q", s, wire, stream)
		}
		if s.Kind == Raw {
			got, msgs = [][]byte{bytes.Join(got, nil)}, [][]byte{bytes.Join(msgs, nil)}
		}
		if len(got) != len(msgs) {
			t.Fatalf("%v: got %d messages %q, want %d %q", s, len(got), got, len(msgs), msgs)
		}
		for i := range msgs {
			if !bytes.Equal(got[i], msgs[i]) {
				t.Fatalf("%v: message %d = %q, want %q", s, i, got[i], msgs[i])
			}
		}

		// Arbitrary bytes, under a limit of 1 to 64.
		limit := 1 + int(uint64(seed)>>8%64)
		d = NewDecoder(chunked(blob), s, limit)
		wire = wire[:0]
		for calls := 0; ; calls++ {
			if calls > len(blob)+1 {
				t.Fatalf("%v: %d messages from %d bytes", s, calls, len(blob))
			}
			m, err := d.Next()
			if len(m) > limit {
				t.Fatalf("%v: message of %d bytes over the limit %d", s, len(m), limit)
			}
			if err == nil {
				// What was delivered is the start of what arrived, and a
				// message is never longer than its bytes on the wire.
				wire = append(wire, d.Wire()...)
				if !bytes.HasPrefix(blob, wire) || len(d.Wire()) < len(m) {
					t.Fatalf("%v: Wire %q after %q, of the input %q", s, d.Wire(), wire, blob)
				}
				continue
			}
			if d.Wire() != nil {
				t.Fatalf("%v: Wire %q after the error %v", s, d.Wire(), err)
			}
			if tl := (*TooLargeError)(nil); err != io.EOF && !errors.As(err, &tl) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%v: unexpected error %v", s, err)
			}
			if _, err2 := d.Next(); err2 != io.EOF && err2 != err {
				t.Fatalf("%v: after %v, Next returned %v", s, err, err2)
			}
			break
		}
	})
}

package wire

import (
	"encoding/binary"
	"testing"
)

// FuzzParse: no input panics; a Hello that is accepted formats and parses
// back to itself; the other bodies never panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"SOCKIT-BENCH/1 HELLO {\"mode\":\"tx\",\"stream\":0,\"streams\":4,\"test\":\"ab12\"}\n",
		"SOCKIT-BENCH/1 HELLO {\"mode\":\"udp\",\"streams\":1,\"omit_ns\":1000000000,\"size\":1400}",
		"SOCKIT-BENCH/1 HELLO {\"mode\":\"rx\",\"streams\":1,\"bitrate\":100000000,\"congestion\":\"bbr\"}",
		"SOCKIT-BENCH/1 OK {\"token\":12345}\n",
		"SOCKIT-BENCH/1 ERR {\"error\":\"too many streams\"}\n",
		"SOCKIT-BENCH/1 DONE {\"token\":1,\"sent\":100,\"bytes\":6400}",
		"SOCKIT-BENCH/1 RESULT {\"bytes\":1,\"seconds\":2,\"udp\":{\"sent\":3}}",
		"SOCKIT-BENCH/99 HELLO {}",
		"SOCKIT-BENCH/1 HELLO {\"mode\":\"tx\",\"streams\":1e999}",
		"GET / HTTP/1.0\r\n\r\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		if h, err := ParseHello(m); err == nil {
			m2, err := Parse(Format(Hello, h))
			if err != nil {
				t.Fatalf("formatted hello does not parse: %v", err)
			}
			h2, err := ParseHello(m2)
			if err != nil || *h2 != *h {
				t.Fatalf("hello round trip: %+v → %+v, %v", h, h2, err)
			}
		}
		ParseAck(m)
		ParseRefusal(m)
		ParseEnd(m)
		ParseReport(m)
	})
}

// FuzzArrivals: whatever sequence numbers arrive, the window stays its
// size, every datagram is counted once (received or duplicate), and
// within the window the duplicates are exactly the repeats.
func FuzzArrivals(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 2, 9, 4})
	f.Add([]byte{255, 0, 255, 0})
	f.Add(binary.BigEndian.AppendUint64(nil, 1<<63))
	f.Fuzz(func(t *testing.T, b []byte) {
		a := NewArrivals(256)
		words := len(a.bits)
		seen := map[uint64]bool{}
		var dups int64
		calls := int64(0)
		for i := 0; i+1 < len(b); i += 2 {
			seq := uint64(binary.BigEndian.Uint16(b[i:])) % 512
			if b[i]&0x80 != 0 {
				seq = uint64(b[i+1]) << 56 // far jumps, forwards and back
			}
			calls++
			if a.Add(seq, int64(i), int64(i)) {
				dups++
			}
			seen[seq] = true
		}
		if len(a.bits) != words {
			t.Fatalf("window grew from %d to %d words", words, len(a.bits))
		}
		if a.Received+a.Duplicates != calls || a.Duplicates != dups {
			t.Fatalf("received %d + duplicates %d != %d datagrams", a.Received, a.Duplicates, calls)
		}
		if a.Late == 0 && a.Received != int64(len(seen)) {
			t.Fatalf("no late arrivals, but %d received of %d distinct", a.Received, len(seen))
		}
		if a.Received < int64(len(seen)) {
			t.Fatalf("received %d < %d distinct", a.Received, len(seen))
		}
	})
}

package units

import (
	"errors"
	"strconv"
	"strings"
)

// ErrBitrate is returned for text that is not a bit rate.
var ErrBitrate = errors.New("not a bit rate")

// MaxBitrate is the largest rate ParseBitrate takes: 10 Tbit/s.
const MaxBitrate = 10e12

// bitUnits are the units a rate in bits may end in, longest first.
var bitUnits = []string{"bit/s", "bits/s", "bps", "bits", "bit"}

// HasBitUnit reports whether v ends in a unit of bits per second that
// ParseBitrate takes (bit, bits, bit/s, bits/s, bps, in any case), for
// callers that also take rates in bytes and need the unit to tell them
// apart.
func HasBitUnit(v string) bool {
	_, ok := cutBitUnit(strings.ToLower(strings.TrimSpace(v)))
	return ok
}

func cutBitUnit(s string) (string, bool) {
	for _, unit := range bitUnits {
		if num, ok := strings.CutSuffix(s, unit); ok {
			return num, true
		}
	}
	return s, false
}

// ParseBitrate reads a rate in bits per second as iperf3's -b and tc
// take it: 500k, 100M, 1.5G, 10G, 1T, optionally followed by bit/s, bps
// or bit (100Mbit/s, 10mbit). The multiples are powers of ten (k is
// 1000), as for network rates; 0, negative rates and rates above
// 10 Tbit/s are refused.
func ParseBitrate(v string) (int64, error) {
	s, _ := cutBitUnit(strings.ToLower(strings.TrimSpace(v)))
	mult := 1.0
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k':
			mult, s = 1e3, s[:n-1]
		case 'm':
			mult, s = 1e6, s[:n-1]
		case 'g':
			mult, s = 1e9, s[:n-1]
		case 't':
			mult, s = 1e12, s[:n-1]
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0) || f*mult > MaxBitrate || f*mult < 1 {
		return 0, ErrBitrate
	}
	return int64(f * mult), nil
}

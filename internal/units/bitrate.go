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

// ParseBitrate reads a rate in bits per second as iperf3's -b takes it:
// 500k, 100M, 1.5G, 10G, 1T, optionally followed by bit/s, bps or bit
// (100Mbit/s). The multiples are powers of ten (k is 1000), as for
// network rates; 0, negative rates and rates above 10 Tbit/s are refused.
func ParseBitrate(v string) (int64, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	for _, unit := range []string{"bit/s", "bits/s", "bps", "bits", "bit"} {
		if strings.HasSuffix(s, unit) {
			s = s[:len(s)-len(unit)]
			break
		}
	}
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

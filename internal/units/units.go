// Package units reads the sizes people type on sockit's command line
// (--buffer 4M, --max-message 64k, relay --impair reset-after=1MB).
package units

import (
	"errors"
	"strconv"
	"strings"
)

// ErrSize is returned for text that is not a size.
var ErrSize = errors.New("not a size")

// ParseSize reads 4096, 64k, 4M, 1G, 1T, 1MiB or 10MB. Every multiple is a
// power of two (k is 1024), as for buffers and files; sizes above 1 PiB
// and negative ones are refused.
func ParseSize(v string) (int64, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	s = strings.TrimSuffix(strings.TrimSuffix(s, "ib"), "b")
	mult := int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k':
			mult, s = 1<<10, s[:n-1]
		case 'm':
			mult, s = 1<<20, s[:n-1]
		case 'g':
			mult, s = 1<<30, s[:n-1]
		case 't':
			mult, s = 1<<40, s[:n-1]
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f >= 0) || f*float64(mult) > 1<<50 {
		return 0, ErrSize
	}
	return int64(f * float64(mult)), nil
}

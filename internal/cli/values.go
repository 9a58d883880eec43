package cli

import (
	"fmt"
	"strconv"
	"time"

	"github.com/sockit/sockit/internal/units"
)

// seconds is a duration flag that also takes a bare number of seconds, as
// nc and ncat users type it (-w 5, -q 1, -i 30).
type seconds struct{ d *time.Duration }

func (s seconds) String() string {
	if s.d == nil {
		return ""
	}
	if *s.d < 0 {
		return "off"
	}
	return s.d.String()
}

func (s seconds) Set(v string) error {
	d, err := parseSeconds(v)
	if err != nil {
		return err
	}
	*s.d = d
	return nil
}

func (s seconds) Type() string { return "duration" }

func parseSeconds(v string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 0 || f > 1e9 {
			return 0, fmt.Errorf("%q is out of range", v)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (use 5, 1.5, 500ms, 2s, 1m)", v)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", v)
	}
	return d, nil
}

// byteSize is a size flag that takes 4096, 64k, 4M, 1G, 1MiB, 10MB (all
// powers of two: k is 1024).
type byteSize struct{ n *int64 }

func (b byteSize) String() string {
	if b.n == nil {
		return "0"
	}
	return strconv.FormatInt(*b.n, 10)
}

func (b byteSize) Set(v string) error {
	n, err := units.ParseSize(v)
	if err != nil {
		return fmt.Errorf("%q is not a size (use 4096, 64k, 4M, 1G)", v)
	}
	*b.n = n
	return nil
}

func (b byteSize) Type() string { return "bytes" }

package cli

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/suggest"
	"github.com/sockit/sockit/internal/units"
)

// The numeric flags check their range when they are parsed, so that a bad
// value is a usage error (exit 2) naming the flag and the accepted range,
// before a command prints or opens anything. Each flag declares its range
// where it is registered (intFlag, seconds and byteSize below); RunE holds
// no range checks of its own.

// intFlag is an integer flag with an accepted range [min, max]. zero, when
// set, says what 0 means ("no limit"), for the message.
type intFlag struct {
	n        *int
	min, max int
	zero     string
}

func (v intFlag) String() string {
	if v.n == nil {
		return "0"
	}
	return strconv.Itoa(*v.n)
}

func (v intFlag) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	var ne *strconv.NumError
	if err != nil && !(errors.As(err, &ne) && ne.Err == strconv.ErrRange) {
		return fmt.Errorf("not a whole number (want %s)", v.rangeText())
	}
	if err != nil || n < int64(v.min) || n > int64(v.max) {
		return fmt.Errorf("out of range (want %s)", v.rangeText())
	}
	*v.n = int(n)
	return nil
}

func (v intFlag) Type() string { return "int" }

func (v intFlag) rangeText() string {
	r := strconv.Itoa(v.min) + "-" + strconv.Itoa(v.max)
	if v.zero != "" && v.min == 0 {
		r += "; 0 means " + v.zero
	}
	return r
}

// seconds is a duration flag that also takes a bare number of seconds, as
// nc and ncat users type it (-w 5, -q 1, -i 30). Its range is [min, max];
// max 0 means 10⁹ seconds. A negative value is refused always.
type seconds struct {
	d        *time.Duration
	min, max time.Duration
}

func (s seconds) String() string {
	if s.d == nil || *s.d == 0 {
		// "0" is what pflag recognises as a zero default: help shows no
		// "(default 0s)" for a timeout that is off unless set.
		return "0"
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
	if d < s.min || s.max > 0 && d > s.max {
		return fmt.Errorf("out of range (want %s)", s.rangeText())
	}
	*s.d = d
	return nil
}

func (s seconds) Type() string { return "duration" }

func (s seconds) rangeText() string {
	switch {
	case s.max > 0:
		return s.min.String() + " to " + s.max.String()
	case s.min > 0:
		return s.min.String() + " or more"
	}
	return "0 or more"
}

func parseSeconds(v string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 0 {
			return 0, fmt.Errorf("%q is negative (use 5, 1.5, 500ms, 2s, 1m)", v)
		}
		if !(f <= 1e9) {
			return 0, fmt.Errorf("%q is out of range (at most 1e9 seconds)", v)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (use 5, 1.5, 500ms, 2s, 1m)", v)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative (use 5, 1.5, 500ms, 2s, 1m)", v)
	}
	return d, nil
}

// byteSize is a size flag that takes 4096, 64k, 4M, 1G, 1MiB, 10MB (all
// powers of two: k is 1024), within [min, max]; max 0 means no limit
// beyond what units.ParseSize takes.
type byteSize struct {
	n        *int64
	min, max int64
}

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
	if n < b.min || b.max > 0 && n > b.max {
		return fmt.Errorf("out of range (want %s)", b.rangeText())
	}
	*b.n = n
	return nil
}

func (b byteSize) Type() string { return "bytes" }

func (b byteSize) rangeText() string {
	if b.max == 0 {
		return sizeText(b.min) + " or more"
	}
	return sizeText(b.min) + " to " + sizeText(b.max)
}

// sizeText writes n as 64k, 16M or 1G where it is a whole number of those.
func sizeText(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"G", 1 << 30}, {"M", 1 << 20}, {"k", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// Limits shared by several commands' flags.
const (
	maxConns  = 1_000_000     // --max-conns: far beyond any file-descriptor limit
	maxCount  = 1_000_000_000 // --count, ping -c
	maxBuffer = 1 << 30       // --buffer: SO_SNDBUF/SO_RCVBUF take a C int
)

// choice is a string flag that takes one of a few words; a slip gets a
// "Did you mean …?" line.
type choice struct {
	s       *string
	options []string
}

func (c choice) String() string {
	if c.s == nil {
		return ""
	}
	return *c.s
}

func (c choice) Set(v string) error {
	if slices.Contains(c.options, v) {
		*c.s = v
		return nil
	}
	err := &hinted{err: errors.New("want " + orList(c.options))}
	if m := suggest.Closest(strings.ToLower(v), c.options); m != "" {
		err.hint = "Did you mean " + m + "?"
	}
	return err
}

func (c choice) Type() string { return "string" }

// hinted is an error with its what-to-try line (see exitcode.Hint): a
// flag value's slip, or a failure only the command knows how to explain.
type hinted struct {
	err  error
	hint string
}

func (e *hinted) Error() string { return e.err.Error() }
func (e *hinted) Unwrap() error { return e.err }
func (e *hinted) Hint() string  { return e.hint }

// orList writes "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// proxyFlag is --proxy, checked when parsed (scheme, host, port) so that
// a bad one is a usage error naming the proxy, not a failed connect.
type proxyFlag struct{ s *string }

func (p proxyFlag) String() string {
	if p.s == nil {
		return ""
	}
	return *p.s
}

func (p proxyFlag) Set(v string) error {
	if v != "" { // an empty one is refused with the other empty strings
		if _, err := endpoint.ParseProxy(v); err != nil {
			return err
		}
	}
	*p.s = v
	return nil
}

func (p proxyFlag) Type() string { return "string" }

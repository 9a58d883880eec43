package impair

import (
	"strings"
	"testing"

	"github.com/sockit/sockit/internal/exitcode"
)

// FuzzParse checks that no spec makes Parse panic, that every error is a
// one-line usage error, and that what parses prints back as a spec that
// parses to the same faults.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"delay=100ms,jitter=20ms,rate=1mbit",
		"loss=2%,dup=1%,reorder=1%",
		"chunk=1-16,reset-after=1MB,stall-after=64k",
		"rate=64k/s",
		"delay=1ms,,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := Parse(s)
		if err != nil {
			if exitcode.Code(err) != exitcode.Usage || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Parse(%q): %q is not a one-line usage error", s, err)
			}
			return
		}
		if sp.Loss < 0 || sp.Loss > 1 || sp.Dup < 0 || sp.Dup > 1 || sp.Reorder < 0 || sp.Reorder > 1 ||
			sp.Delay < 0 || sp.Jitter < 0 || sp.Rate < 0 || sp.ChunkMin > sp.ChunkMax || sp.ResetAfter < 0 || sp.StallAfter < 0 {
			t.Fatalf("Parse(%q) = %+v: out of range", s, sp)
		}
		if sp.IsZero() {
			return // "loss=0%" and the like print as nothing
		}
		again, err := Parse(sp.String())
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, whose String %q does not parse: %v", s, sp, sp.String(), err)
		}
		if again != sp {
			t.Fatalf("Parse(%q) = %+v, String %q parses to %+v", s, sp, sp.String(), again)
		}
	})
}

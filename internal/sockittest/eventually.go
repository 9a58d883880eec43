package sockittest

import (
	"testing"
	"time"
)

// Eventually waits until cond reports true, asking it now and then, and
// fails the test (as what did not happen) if it has not within Patience.
// It is for a state no event announces (a server's table of
// conversations, the kernel's socket queues, a counter), so that tests
// need no poll loops of their own; Patience is a safety net against
// hangs, not a time budget. Call it from the test's goroutine.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Patience)
	for pause := time.Millisecond; !cond(); pause = min(2*pause, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, Patience)
		}
		time.Sleep(pause)
	}
}

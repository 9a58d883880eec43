package sockittest

import (
	"os"
	"strconv"
	"strings"
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
	if !Until(cond) {
		t.Fatalf("%s: not within %s", what, Patience)
	}
}

// Until waits as Eventually does and reports whether cond came to hold
// within Patience, for a caller that says itself what failed (with what
// it saw then), or that runs off the test's goroutine. cond may end the
// test itself (t.Fatal) when waiting longer is pointless, such as when a
// process it watches has exited; it is then called on the test's
// goroutine, as Fatal requires.
func Until(cond func() bool) bool { return until(Patience, cond) }

// until is Until with patience d.
func until(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for pause := time.Millisecond; !cond(); pause = min(2*pause, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
	}
	return true
}

// WaitStdout waits until the process's stdout satisfies ok and returns
// it. It fails t, showing both outputs, if the process exits first or
// Patience passes; what names what was awaited. t is the test waiting,
// which may be a subtest of the one that started the process: failing
// the starting test from a subtest's goroutine is not allowed ("subtest
// may have called FailNow on a parent test").
func (p *Proc) WaitStdout(t testing.TB, what string, ok func(stdout string) bool) string {
	t.Helper()
	var out string
	exited := false
	held := Until(func() bool {
		if out = p.Stdout(); ok(out) {
			return true
		}
		select {
		case <-p.done:
			// What it printed last may have come with its exit.
			out = p.Stdout()
			exited = !ok(out)
			return true
		default:
			return false
		}
	})
	switch {
	case exited:
		t.Fatalf("the process exited before its stdout showed %s; stdout:\n%s\nstderr:\n%s", what, out, p.Stderr())
	case !held:
		t.Fatalf("stdout did not show %s within %s; stdout:\n%s\nstderr:\n%s", what, Patience, out, p.Stderr())
	}
	return out
}

// FirstLine waits for the first line of the process's stdout (a peer
// that prints the port it bound) and returns it, spaces trimmed.
func (p *Proc) FirstLine(t testing.TB) string {
	t.Helper()
	out := p.WaitStdout(t, "a first line", func(out string) bool { return strings.Contains(out, "\n") })
	line, _, _ := strings.Cut(out, "\n")
	return strings.TrimSpace(line)
}

// Repeats is how many times a test repeats a flow that used to end
// differently from run to run: 50, or SOCKIT_REPEAT_RUNS. Every run must
// hold (issue 10: a test that passes 9 times in 10 is a failing test).
func Repeats() int {
	if n, err := strconv.Atoi(os.Getenv("SOCKIT_REPEAT_RUNS")); err == nil && n > 0 {
		return n
	}
	return 50
}

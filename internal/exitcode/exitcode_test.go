package exitcode

import (
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
)

// TestOutputError: a failed local write exits 1 whatever its errno (EPIPE
// from a file or pipe is not a reset by the peer, exit 6), names the
// output without repeating the path, and says what to try.
func TestOutputError(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		msg, hint string
		gone      bool
	}{
		{"--record t.jsonl", &fs.PathError{Op: "write", Path: "t.jsonl", Err: syscall.ENOSPC}, "cannot write --record t.jsonl: no space left on device", "disk", false},
		{"stdout", &fs.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.EPIPE}, "cannot write stdout: broken pipe", "stopped reading", true},
		{"-o fifo", &fs.PathError{Op: "write", Path: "fifo", Err: syscall.EPIPE}, "cannot write -o fifo: broken pipe", "stopped reading", false},
		{"stdout", syscall.EIO, "cannot write stdout: input/output error", "", false},
	} {
		e := &OutputError{Name: tc.name, Err: tc.err}
		wrapped := fmt.Errorf("recv tcp://127.0.0.1:1: %w", e)
		if got := Code(wrapped); got != Output || Output != 1 {
			t.Errorf("%s: Code = %d, want %d", tc.msg, got, Output)
		}
		if e.Error() != tc.msg {
			t.Errorf("Error() = %q, want %q", e.Error(), tc.msg)
		}
		if h := Hint(wrapped); (tc.hint == "") != (h == "") || !strings.Contains(h, tc.hint) {
			t.Errorf("%s: hint %q, want one with %q", tc.msg, h, tc.hint)
		}
		if e.ReaderGone() != tc.gone {
			t.Errorf("%s: ReaderGone = %v", tc.msg, e.ReaderGone())
		}
	}
}

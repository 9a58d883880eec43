//go:build unix

package server

import (
	"path/filepath"
	"syscall"
	"testing"
)

// specialFile is a file that is not a regular one, of kind "device"
// (/dev/zero, endless) or "fifo" (a named pipe in dir that nobody writes).
func specialFile(t *testing.T, kind, dir string) string {
	t.Helper()
	if kind == "device" {
		return "/dev/zero"
	}
	p := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		return "skip:no FIFOs here: " + err.Error()
	}
	return p
}

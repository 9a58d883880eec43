//go:build !linux || sockit_portable

package session

import (
	"io"
	"os"
)

// pipeInput reports whether r is a pipe.
func pipeInput(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeNamedPipe != 0
}

// fileReady reports whether a read of f would return at once. Without a
// portable non-blocking check, a pipe or terminal is taken to wait (the
// conversation then ends at the peer's FIN, as it always did here);
// regular files never reach this (they are always ready).
func fileReady(f *os.File) bool { return false }

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

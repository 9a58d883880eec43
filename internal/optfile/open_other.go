//go:build !unix

package optfile

import "os"

// openNonblock opens path. Without FIFOs that block open(2), the Stat in
// Open is enough.
func openNonblock(path string) (*os.File, error) { return os.Open(path) }

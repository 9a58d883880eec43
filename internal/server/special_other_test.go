//go:build !unix

package server

import "testing"

// specialFile: no /dev/zero or FIFOs to test with here.
func specialFile(t *testing.T, kind, dir string) string {
	return "skip:no " + kind + " files on this system"
}

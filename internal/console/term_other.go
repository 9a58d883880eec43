//go:build !windows

package console

import "os"

// Prepare readies the process's terminal for sockit's output and returns
// what undoes it; Unix terminals need nothing.
func Prepare() (restore func()) { return func() {} }

// VT reports whether colour and cursor sequences written to f are
// interpreted, or f is no console at all; always so on Unix.
func VT(f *os.File) bool { return true }

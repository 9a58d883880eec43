//go:build !unix

package session

import "os"

// fileReady reports whether a read of f would return at once. Windows
// has no zero-timeout poll for pipes and consoles in the libraries sockit
// uses, so they are taken to wait: a conversation whose peer half-closes
// first then ends at the peer's FIN with what the pipe had not yet
// delivered unsent, and the close reason says so. Regular files never
// reach this (they are always ready).
func fileReady(f *os.File) bool { return false }

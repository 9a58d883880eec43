package server

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: a
// server must stop every conversation, timer and process pump it started
// when its context ends.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

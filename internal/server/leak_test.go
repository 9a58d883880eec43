package server

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: a
// server must stop every conversation, timer and process pump it started
// when its context ends. The echo event loops are the exception by
// design: one per core, started on first use, they live as long as the
// process (loop_linux.go).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/sockit/sockit/internal/server.(*loop).run"))
}

package bench

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them. The
// bench server's echo event loops (rr against listen --bench) live as long
// as the process by design (server/loop_linux.go).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/sockit/sockit/internal/server.(*loop).run"))
}

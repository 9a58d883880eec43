package replay

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: a
// player or a mock must stop the reader it starts for each conversation
// when the conversation ends.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/sockit/sockit/internal/server.(*loop).run"))
}

package relay

import (
	"testing"

	"github.com/sockit/sockit/internal/platform"
	"github.com/sockit/sockit/internal/sockittest"
)

// TestPlatformSplice: only a Linux build lets the kernel splice relayed
// streams; the portable build copies through the pooled buffer.
func TestPlatformSplice(t *testing.T) {
	a, b := sockittest.Pair(t)
	if got := platform.Spliceable(a) && platform.Spliceable(b); got != platform.Fast {
		t.Errorf("platform.Spliceable(TCP) = %v on a build with platform.Fast = %v", got, platform.Fast)
	}
}

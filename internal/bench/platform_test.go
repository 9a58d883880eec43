package bench

import (
	"net"
	"testing"

	"github.com/sockit/sockit/internal/platform"
	"github.com/sockit/sockit/internal/sockittest"
)

// TestPlatformLoops: request/response on epoll loops is Linux's; the
// portable build runs a goroutine per connection.
func TestPlatformLoops(t *testing.T) {
	a, _ := sockittest.Pair(t)
	if got := loopable([]net.Conn{a}); got != platform.Fast {
		t.Errorf("loopable(TCP) = %v on a build with platform.Fast = %v", got, platform.Fast)
	}
	if got := (&runner{}).udpBatched(a, nil); got {
		t.Error("udpBatched took a TCP connection")
	}
}

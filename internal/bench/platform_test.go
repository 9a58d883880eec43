package bench

import (
	"net"
	"testing"

	"github.com/sockit/sockit/internal/platform"
	"github.com/sockit/sockit/internal/sockittest"
	"github.com/sockit/sockit/internal/tcpsock"
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

// TestPlatformBench: TCP_INFO, -C, --mss and --zerocopy are Linux's; the
// portable build has none of them (and prints no TCP columns), and sends
// UDP one datagram per system call.
func TestPlatformBench(t *testing.T) {
	if tcpsock.Supported != platform.Fast || ZeroCopy != platform.Fast {
		t.Errorf("tcpsock.Supported %v, ZeroCopy %v on a build with platform.Fast = %v", tcpsock.Supported, ZeroCopy, platform.Fast)
	}
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if _, plain := newUDPSender(u, 64, false).(*plainSender); plain == platform.Fast {
		t.Errorf("UDP sender %T on a build with platform.Fast = %v", newUDPSender(u, 64, false), platform.Fast)
	}
}

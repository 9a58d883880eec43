package session

import (
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/platform"
)

// TestPlatformPaths: a Linux build grows a stdin pipe to 1 MiB and reads
// a reset from the TCP state; the portable build (what macOS, Windows and
// FreeBSD run; here -tags sockit_portable) leaves the pipe as it is and
// takes an EOF for a close.
func TestPlatformPaths(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	before, err := unix.FcntlInt(r.Fd(), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !pipeInput(r) {
		t.Fatal("pipeInput did not recognise a pipe")
	}
	after, err := unix.FcntlInt(r.Fd(), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		t.Fatal(err)
	}
	if grown := after > before; grown != platform.Fast {
		t.Errorf("pipe %d bytes before pipeInput, %d after, on a build with platform.Fast = %v", before, after, platform.Fast)
	}

	a, b := tcpPair(t)
	b.(*net.TCPConn).SetLinger(0)
	b.Close() // RST
	deadline := time.Now().Add(30 * time.Second)
	for !resetByPeer(a) && platform.Fast {
		if time.Now().After(deadline) {
			t.Fatal("the reset never showed in the TCP state")
		}
		time.Sleep(time.Millisecond) // the RST is in flight on loopback
	}
	if !platform.Fast && resetByPeer(a) {
		t.Error("resetByPeer answered on the portable build")
	}
}

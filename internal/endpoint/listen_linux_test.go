package endpoint

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/exitcode"
)

// reuseportSocket binds a UDP socket to addr with SO_REUSEPORT (and
// SO_REUSEADDR), as a stranger asking to share would.
func reuseportSocket(t *testing.T, addr string) (net.PacketConn, error) {
	t.Helper()
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp", addr)
	if err == nil {
		t.Cleanup(func() { pc.Close() })
	}
	return pc, err
}

// A per-core group spreads senders over its sockets, always sends one
// sender to the same socket, and shares the port with no one: not with a
// second group, not with a socket that holds the port first, and a
// socket that joins later with SO_REUSEPORT receives nothing.
func TestListenPacketGroupIsExclusive(t *testing.T) {
	for _, ep := range []string{"udp://127.0.0.1:0", "udp://[::1]:0"} {
		t.Run(ep, func(t *testing.T) { testGroupExclusive(t, ep) })
	}
}

func testGroupExclusive(t *testing.T, at string) {
	ctx := context.Background()
	ep, err := Parse(at, Options{Listen: true})
	if err != nil {
		t.Fatal(err)
	}
	lc := &ListenConfig{}
	pcs, err := lc.ListenPacketGroup(ctx, ep, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, pc := range pcs {
			pc.Close()
		}
	}()
	if len(pcs) != 2 {
		t.Fatalf("%d sockets, want 2", len(pcs))
	}
	addr := pcs[0].LocalAddr().String()

	// A second group, a plain bind and a SO_REUSEADDR bind all fail.
	ep2, _ := Parse("udp://"+addr, Options{Listen: true})
	if _, err := lc.ListenPacketGroup(ctx, ep2, 2); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("second group on %s: %v, want address in use", addr, err)
	}
	if _, err := lc.ListenPacket(ctx, ep2); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("second socket on %s: %v, want address in use", addr, err)
	}
	// A stranger that asks to share binds (the kernel allows a socket of
	// the same user into the group) but is steered nothing.
	stranger, err := reuseportSocket(t, addr)
	if err != nil {
		t.Logf("the stranger could not even bind: %v", err)
	}

	got := make(chan [2]int, 256) // sender index, socket index
	for i, pc := range pcs {
		go func() {
			buf := make([]byte, 16)
			for {
				n, _, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				got <- [2]int{int(buf[0]), i}
				_ = n
			}
		}()
	}
	strangerGot := make(chan struct{}, 256)
	if stranger != nil {
		go func() {
			buf := make([]byte, 16)
			for {
				if _, _, err := stranger.ReadFrom(buf); err != nil {
					return
				}
				strangerGot <- struct{}{}
			}
		}()
	}
	const senders, each = 32, 3
	for s := 0; s < senders; s++ {
		c, err := net.Dial("udp", addr)
		if err != nil {
			t.Skipf("no %s here: %v", at, err)
		}
		for k := 0; k < each; k++ {
			c.Write([]byte{byte(s)})
		}
		c.Close()
	}
	socketOf := map[int]int{}
	perSocket := [2]int{}
	timeout := time.After(10 * time.Second)
	for received := 0; received < senders*each; received++ {
		select {
		case g := <-got:
			if prev, ok := socketOf[g[0]]; ok && prev != g[1] {
				t.Errorf("sender %d reached socket %d and socket %d", g[0], prev, g[1])
			}
			socketOf[g[0]] = g[1]
			perSocket[g[1]]++
		case <-strangerGot:
			t.Fatal("a socket that joined the port later received a datagram")
		case <-timeout:
			t.Fatalf("%d of %d datagrams reached the group (per socket %v)", received, senders*each, perSocket)
		}
	}
	if perSocket[0] == 0 || perSocket[1] == 0 {
		t.Errorf("datagrams per socket %v: the group does not spread senders", perSocket)
	}
}

// A socket that holds the port first, with or without sharing options,
// makes a group fail with "address in use" rather than join it.
func TestListenPacketGroupRefusesTakenPort(t *testing.T) {
	ctx := context.Background()
	holder, err := reuseportSocket(t, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ep, _ := Parse("udp://"+holder.LocalAddr().String(), Options{Listen: true})
	pcs, err := (&ListenConfig{}).ListenPacketGroup(ctx, ep, 2)
	if !errors.Is(err, syscall.EADDRINUSE) {
		for _, pc := range pcs {
			pc.Close()
		}
		t.Fatalf("group on a port a SO_REUSEPORT socket holds: %v, want address in use", err)
	}
	if msg := err.Error(); msg != "listen udp://"+holder.LocalAddr().String()+": address already in use" {
		t.Errorf("message %q", msg)
	}
}

// The steering program returns an index below n, the same one for every
// datagram of a sender.
func TestSteeringAssembles(t *testing.T) {
	for _, n := range []int{1, 2, 3, 64} {
		prog, err := steering(n)
		if err != nil || len(prog) == 0 {
			t.Fatalf("steering(%d): %v", n, err)
		}
	}
	if _, err := steering(0); err == nil {
		t.Error("steering(0) assembled")
	}
}

// A server that cannot have its address says what to try.
func TestListenErrorHints(t *testing.T) {
	for _, tc := range []struct {
		ep   string
		err  error
		want string
	}{
		{"tcp://192.0.2.1:8080", syscall.EADDRNOTAVAIL, "Note that 192.0.2.1 is not an address of this machine; listen on :8080"},
		{"udp://[2001:db8::1]:53", syscall.EADDRNOTAVAIL, "Note that 2001:db8::1 is not an address of this machine; listen on :53"},
		{"tcp://0.0.0.0:80", syscall.EACCES, "Note that ports below 1024 need root or the CAP_NET_BIND_SERVICE capability"},
		{"tcp://0.0.0.0:8080", syscall.EACCES, ""},
		{"tcp://127.0.0.1:8080", syscall.ECONNREFUSED, ""},
	} {
		e := &OpError{Op: "listen", Endpoint: tc.ep, Err: tc.err}
		if h := e.Hint(); !strings.HasPrefix(h, tc.want) || (tc.want == "") != (h == "") {
			t.Errorf("%s %v: hint %q, want %q…", tc.ep, tc.err, h, tc.want)
		}
		if h := exitcode.Hint(e); tc.want != "" && h != e.Hint() {
			t.Errorf("exitcode.Hint = %q", h)
		}
	}
	// A real bind on an address this machine does not have.
	ep, _ := Parse("udp://192.0.2.1:0", Options{Listen: true})
	_, err := (&ListenConfig{}).ListenPacket(context.Background(), ep)
	if !errors.Is(err, syscall.EADDRNOTAVAIL) || !strings.Contains(exitcode.Hint(err), "192.0.2.1 is not an address of this machine") {
		t.Errorf("bind 192.0.2.1: %v, hint %q", err, exitcode.Hint(err))
	}
}

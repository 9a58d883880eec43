package endpoint

import (
	"context"
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSockoptsApplied: --ttl, --tos and --bind-dev reach the socket, on
// TCP and UDP, IPv4.
func TestSockoptsApplied(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, scheme := range []string{"tcp", "udp"} {
		ep, _ := Parse(scheme+"://"+ln.Addr().String(), Options{})
		d := &Dialer{Sockopts: Sockopts{TTL: 7, TOS: 0xb8, BindDev: "lo"}}
		c, err := d.Dial(context.Background(), ep)
		if err != nil {
			t.Fatalf("%s: %v", scheme, err)
		}
		fd := FD(c)
		ttl, _ := unix.GetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TTL)
		tos, _ := unix.GetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TOS)
		dev, _ := unix.GetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE)
		if ttl != 7 || tos != 0xb8 || dev != "lo" {
			t.Errorf("%s: TTL %d, TOS %#x, device %q; want 7, 0xb8, lo", scheme, ttl, tos, dev)
		}
		if scheme == "udp" {
			mttl, _ := unix.GetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_TTL)
			if mttl != 7 {
				t.Errorf("udp: multicast TTL %d, want 7", mttl)
			}
		}
		c.Close()
	}
	bad := &Dialer{Sockopts: Sockopts{TTL: 300}}
	ep, _ := Parse("tcp://"+ln.Addr().String(), Options{})
	if _, err := bad.Dial(context.Background(), ep); err == nil {
		t.Error("--ttl 300 was accepted")
	}
}

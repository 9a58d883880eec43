//go:build unix

package endpoint

import (
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// apply sets the options on a new socket of the given network (tcp4,
// udp6…), before bind and connect.
func (o Sockopts) apply(fd int, network string, t Tracer) error {
	if o.empty() || strings.HasPrefix(network, "unix") {
		return nil
	}
	v6 := strings.HasSuffix(network, "6")
	udp := strings.HasPrefix(network, "udp")
	set := func(level, opt, v int, name string) error {
		if err := unix.SetsockoptInt(fd, level, opt, v); err != nil {
			return os.NewSyscallError("setsockopt "+name, err)
		}
		if t != nil {
			t("setsockopt(fd %d, %s, %d)", fd, name, v)
		}
		return nil
	}
	if o.BindDev != "" {
		if err := bindToDevice(fd, o.BindDev); err != nil {
			return err
		}
		if t != nil {
			t("setsockopt(fd %d, SO_BINDTODEVICE, %q)", fd, o.BindDev)
		}
	}
	if o.Broadcast && udp {
		if err := set(unix.SOL_SOCKET, unix.SO_BROADCAST, 1, "SO_BROADCAST"); err != nil {
			return err
		}
	}
	if o.TTL > 0 {
		if v6 {
			if err := set(unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, o.TTL, "IPV6_UNICAST_HOPS"); err != nil {
				return err
			}
			if udp {
				if err := set(unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, o.TTL, "IPV6_MULTICAST_HOPS"); err != nil {
					return err
				}
			}
		} else {
			if err := set(unix.IPPROTO_IP, unix.IP_TTL, o.TTL, "IP_TTL"); err != nil {
				return err
			}
			if udp {
				if err := set(unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, o.TTL, "IP_MULTICAST_TTL"); err != nil {
					return err
				}
			}
		}
	}
	if o.TOS > 0 {
		if v6 {
			return set(unix.IPPROTO_IPV6, unix.IPV6_TCLASS, o.TOS, "IPV6_TCLASS")
		}
		return set(unix.IPPROTO_IP, unix.IP_TOS, o.TOS, "IP_TOS")
	}
	return nil
}

// reuseForGroup lets several receivers bind one multicast group's port:
// joining a group is asking to share its port with the group's other
// receivers. Only multicast listeners call it. Linux shares a UDP port
// among sockets that all set SO_REUSEADDR, and hands each multicast
// datagram to every one that joined; SO_REUSEPORT there would make them
// one load-balancing group instead, where a datagram to one group can
// reach a socket of another (seen with IP_MULTICAST_ALL off). macOS and
// the BSDs want SO_REUSEPORT to share at all.
func reuseForGroup(fd int, t Tracer) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return os.NewSyscallError("setsockopt SO_REUSEADDR", err)
	}
	what := "SO_REUSEADDR"
	if runtime.GOOS != "linux" && runtime.GOOS != "android" {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return os.NewSyscallError("setsockopt SO_REUSEPORT", err)
		}
		what = "SO_REUSEADDR and SO_REUSEPORT"
	}
	if t != nil {
		t("setsockopt(fd %d, %s, 1)  (a multicast group's port is shared by its receivers)", fd, what)
	}
	return nil
}

// noBroadcast turns SO_BROADCAST off: Go turns it on for every UDP
// socket, and sockit asks for --broadcast, as nc and socat do, so that a
// datagram to a whole subnet is never sent by a slip.
func noBroadcast(fd int) error {
	return os.NewSyscallError("setsockopt SO_BROADCAST", unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 0))
}

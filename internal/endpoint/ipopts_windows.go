//go:build windows

package endpoint

import (
	"os"
	"strings"

	"golang.org/x/sys/windows"
)

// apply sets the options on a new socket before bind and connect.
func (o Sockopts) apply(fd int, network string, t Tracer) error {
	if o.empty() || strings.HasPrefix(network, "unix") {
		return nil
	}
	h := windows.Handle(fd)
	v6 := strings.HasSuffix(network, "6")
	set := func(level, opt, v int, name string) error {
		if err := windows.SetsockoptInt(h, level, opt, v); err != nil {
			return os.NewSyscallError("setsockopt "+name, err)
		}
		if t != nil {
			t("setsockopt(fd %d, %s, %d)", fd, name, v)
		}
		return nil
	}
	if o.BindDev != "" {
		return bindToDevice(fd, o.BindDev)
	}
	if o.Broadcast && strings.HasPrefix(network, "udp") {
		if err := set(windows.SOL_SOCKET, windows.SO_BROADCAST, 1, "SO_BROADCAST"); err != nil {
			return err
		}
	}
	if o.TTL > 0 {
		if v6 {
			if err := set(windows.IPPROTO_IPV6, windows.IPV6_UNICAST_HOPS, o.TTL, "IPV6_UNICAST_HOPS"); err != nil {
				return err
			}
		} else if err := set(windows.IPPROTO_IP, windows.IP_TTL, o.TTL, "IP_TTL"); err != nil {
			return err
		}
	}
	if o.TOS > 0 && !v6 {
		return set(windows.IPPROTO_IP, windows.IP_TOS, o.TOS, "IP_TOS")
	}
	return nil
}

// reuseForGroup lets several receivers bind one multicast group's port.
func reuseForGroup(fd int, t Tracer) error {
	if err := windows.SetsockoptInt(windows.Handle(fd), windows.SOL_SOCKET, windows.SO_REUSEADDR, 1); err != nil {
		return os.NewSyscallError("setsockopt SO_REUSEADDR", err)
	}
	if t != nil {
		t("setsockopt(fd %d, SO_REUSEADDR, 1)  (a multicast group's port is shared by its receivers)", fd)
	}
	return nil
}

// noBroadcast turns SO_BROADCAST off (see the Unix version).
func noBroadcast(fd int) error {
	return os.NewSyscallError("setsockopt SO_BROADCAST", windows.SetsockoptInt(windows.Handle(fd), windows.SOL_SOCKET, windows.SO_BROADCAST, 0))
}

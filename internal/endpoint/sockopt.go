package endpoint

import (
	"net"
	"net/netip"
	"strings"

	"github.com/sockit/sockit/internal/exitcode"
)

// Sockopts are IP-level socket options set on the socket before it binds
// or connects, so that they apply from the first packet (a TCP SYN too).
// The zero value leaves the system's defaults.
type Sockopts struct {
	TTL       int    // IP_TTL / IPV6_UNICAST_HOPS, and on UDP the multicast TTL too (--ttl); 0 the system's
	TOS       int    // IP_TOS / IPV6_TCLASS (--tos), 0 the system's
	BindDev   string // SO_BINDTODEVICE, Linux only (--bind-dev): use only this interface
	Broadcast bool   // SO_BROADCAST (--broadcast): allow sending to broadcast addresses
}

func (o Sockopts) empty() bool { return o == Sockopts{} }

// Check refuses values the kernel would refuse, before any socket opens.
func (o Sockopts) Check() error {
	if o.TTL < 0 || o.TTL > 255 {
		return exitcode.Usagef("bad --ttl %d: want 1 to 255", o.TTL)
	}
	if o.TOS < 0 || o.TOS > 255 {
		return exitcode.WithHint("Note that the DSCP class EF is --tos 0xb8 (46 << 2).", "bad --tos %d: want 0 to 255", o.TOS)
	}
	if o.BindDev != "" {
		if !bindDevSupported {
			return exitcode.Usagef("--bind-dev (SO_BINDTODEVICE) exists on Linux only")
		}
		if _, err := net.InterfaceByName(o.BindDev); err != nil {
			return exitcode.WithHint(ifaceHint(), "bad --bind-dev %q: no such interface", o.BindDev)
		}
	}
	return nil
}

// Multicast are the options of multicast groups: what a receiver joins
// with, and what a sender to a group sends through.
type Multicast struct {
	Iface  string // interface name or address to join on, or to send from (--iface); "" the system's choice
	Source string // source-specific join: only datagrams from this address (--join-source, listen)
	NoLoop bool   // do not loop our own datagrams to the group back to this host (--multicast-loop=false)
}

// Interface resolves Iface, by name or by one of its addresses.
func (m Multicast) Interface() (*net.Interface, error) {
	if m.Iface == "" {
		return nil, nil
	}
	if ifi, err := net.InterfaceByName(m.Iface); err == nil {
		return ifi, nil
	}
	if a, err := netip.ParseAddr(m.Iface); err == nil {
		ifs, _ := net.Interfaces()
		for i := range ifs {
			addrs, _ := ifs[i].Addrs()
			for _, ad := range addrs {
				if pfx, err := netip.ParsePrefix(ad.String()); err == nil && pfx.Addr() == a.Unmap() {
					return &ifs[i], nil
				}
			}
		}
	}
	return nil, exitcode.WithHint(ifaceHint(), "bad --iface %q: no interface has that name or address", m.Iface)
}

func ifaceHint() string {
	ifs, err := net.Interfaces()
	if err != nil || len(ifs) == 0 {
		return ""
	}
	names := make([]string, 0, len(ifs))
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	return "Note that the interfaces here are: " + strings.Join(names, ", ")
}

// IsMulticast reports whether host is a multicast IP literal
// (224.0.0.0/4, ff00::/8).
func IsMulticast(host string) bool {
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsMulticast()
}

// isBroadcast reports whether host is 255.255.255.255 or the broadcast
// address of one of this host's IPv4 networks.
func isBroadcast(host string) bool {
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Is4() {
		return false
	}
	if a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return true
	}
	addrs, _ := net.InterfaceAddrs()
	for _, ad := range addrs {
		pfx, err := netip.ParsePrefix(ad.String())
		if err != nil || !pfx.Addr().Is4() || pfx.Bits() >= 31 {
			continue
		}
		b := pfx.Masked().Addr().As4()
		host := uint32(1)<<(32-pfx.Bits()) - 1
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
		if a == netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}) {
			return true
		}
	}
	return false
}

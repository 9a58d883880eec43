package endpoint

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/sockit/sockit/internal/fail"
)

// listenMulticast binds the group's port and joins the group
// (IP_ADD_MEMBERSHIP, IPV6_JOIN_GROUP, or their source-specific forms),
// on the interface Multicast.Iface names or the one the system picks.
// This is the one listener whose port is shared: every receiver of a
// group binds its port, as joining a group asks for.
func (lc *ListenConfig) listenMulticast(ctx context.Context, ep Endpoint) (net.PacketConn, error) {
	group, _ := netip.ParseAddr(ep.Host)
	ifi, err := lc.Multicast.Interface()
	if err != nil {
		return nil, err
	}
	var src netip.Addr
	if lc.Multicast.Source != "" {
		if src, err = netip.ParseAddr(lc.Multicast.Source); err != nil || src.Is4() != group.Is4() {
			return nil, fail.Inputf("bad %s %q: want an IPv%s address, of the group's family", OptJoinSource, lc.Multicast.Source, map[bool]string{true: "4", false: "6"}[group.Is4()])
		}
	}
	network := "udp4"
	if group.Is6() {
		network = "udp6"
	}
	// Go's net package binds a multicast address as the wildcard address
	// with that port (as Windows requires); onlyJoinedGroups keeps other
	// groups' datagrams away where the system would deliver them.
	bind := ep.Address()
	nlc := net.ListenConfig{Control: lc.control(ep, func(fd int) error {
		if err := reuseForGroup(fd, lc.Trace); err != nil {
			return err
		}
		onlyJoinedGroups(fd, group.Is6())
		return nil
	})}
	pc, err := nlc.ListenPacket(ctx, network, bind)
	if err != nil {
		return nil, &OpError{Op: "bind", Endpoint: ep.String(), Err: err}
	}
	gaddr := &net.UDPAddr{IP: group.AsSlice()}
	ifname := "the system's choice of interface"
	if ifi != nil {
		ifname = ifi.Name
	}
	if group.Is4() {
		p := ipv4.NewPacketConn(pc)
		if src.IsValid() {
			err = p.JoinSourceSpecificGroup(ifi, gaddr, &net.UDPAddr{IP: src.AsSlice()})
		} else {
			err = p.JoinGroup(ifi, gaddr)
		}
		if err == nil {
			err = p.SetMulticastLoopback(!lc.Multicast.NoLoop)
		}
	} else {
		p := ipv6.NewPacketConn(pc)
		if src.IsValid() {
			err = p.JoinSourceSpecificGroup(ifi, gaddr, &net.UDPAddr{IP: src.AsSlice()})
		} else {
			err = p.JoinGroup(ifi, gaddr)
		}
		if err == nil {
			err = p.SetMulticastLoopback(!lc.Multicast.NoLoop)
		}
	}
	if err != nil {
		pc.Close()
		return nil, &OpError{Op: "join", Endpoint: ep.String(), Err: joinError(err, ifi)}
	}
	if lc.Trace != nil {
		how := "IP_ADD_MEMBERSHIP"
		if src.IsValid() {
			how = "IP_ADD_SOURCE_MEMBERSHIP, source " + src.String()
		}
		if group.Is6() {
			how = "IPV6_JOIN_GROUP"
			if src.IsValid() {
				how = "MCAST_JOIN_SOURCE_GROUP, source " + src.String()
			}
		}
		lc.Trace("setsockopt(fd %d, %s, group %s on %s)  joined: datagrams to the group now reach this socket", fdOf(pc), how, group, ifname)
	}
	return pc, nil
}

// joinError words a failed join: most often there is no route for
// multicast and no --iface.
func joinError(err error, ifi *net.Interface) error {
	if ifi == nil && (errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.EADDRNOTAVAIL)) {
		return &hintError{err: err, hint: "Note that --iface NAME picks the interface to join on (there is no route for multicast to choose one). " + ifaceHint()}
	}
	return err
}

// hintError carries a what-to-try line for an error whose class (and so
// exit code) stays the wrapped error's.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }
func (e *hintError) Hint() string  { return e.hint }

// groupConn sends to a multicast group or a broadcast address from an
// unconnected socket, and reads replies from whoever answers: a connected
// socket would drop every reply, as none comes from the group's address.
type groupConn struct {
	*net.UDPConn
	to    *net.UDPAddr
	trace Tracer
	fd    int
}

// dialGroup opens the sending socket for a multicast or broadcast ep.
func (d *Dialer) dialGroup(ctx context.Context, ep Endpoint, nd *net.Dialer) (net.Conn, error) {
	ra, err := net.ResolveUDPAddr(ep.Network(), ep.Address())
	if err != nil {
		return nil, err
	}
	laddr := ":0"
	if nd.LocalAddr != nil {
		laddr = nd.LocalAddr.String()
	}
	network := "udp4"
	if ra.IP.To4() == nil {
		network = "udp6"
	}
	lc := net.ListenConfig{Control: nd.Control}
	pc, err := lc.ListenPacket(ctx, network, laddr)
	if err != nil {
		return nil, err
	}
	uc := pc.(*net.UDPConn)
	if !d.Broadcast && isBroadcast(ep.Host) {
		var serr error
		if rc, err := uc.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { serr = noBroadcast(int(fd)) })
		}
		if serr != nil {
			uc.Close()
			return nil, serr
		}
		if d.Trace != nil {
			d.Trace("setsockopt(fd %d, SO_BROADCAST, 0)  (sending to a broadcast address needs --broadcast)", fdOf(uc))
		}
	}
	if IsMulticast(ep.Host) {
		if err := d.Multicast.sendOptions(uc, ra.IP.To4() != nil); err != nil {
			uc.Close()
			return nil, err
		}
	}
	if d.Trace != nil {
		d.Trace("UDP to a group or broadcast address: the socket stays unconnected (local %s), so that replies from any address are read", uc.LocalAddr())
	}
	return &groupConn{UDPConn: uc, to: ra, trace: d.Trace, fd: fdOf(uc)}, nil
}

// PrepareSender readies a bound UDP socket that also sends datagrams of
// its own to any address (the web UI's UDP sessions): SO_BROADCAST only
// when broadcast is asked for (Go turns it on for every UDP socket), and
// m's interface and loop for datagrams to groups.
func PrepareSender(pc net.PacketConn, broadcast bool, m Multicast) error {
	uc, ok := pc.(*net.UDPConn)
	if !ok {
		return nil
	}
	if !broadcast {
		rc, err := uc.SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = noBroadcast(int(fd)) }); err != nil {
			return err
		}
		if serr != nil {
			return serr
		}
	}
	la, _ := uc.LocalAddr().(*net.UDPAddr)
	v4 := la == nil || la.IP.To4() != nil || la.IP.IsUnspecified()
	if m.Iface == "" && !m.NoLoop {
		return nil
	}
	return m.sendOptions(uc, v4)
}

func (m Multicast) sendOptions(uc *net.UDPConn, v4 bool) error {
	ifi, err := m.Interface()
	if err != nil {
		return err
	}
	if v4 {
		p := ipv4.NewPacketConn(uc)
		if ifi != nil {
			if err := p.SetMulticastInterface(ifi); err != nil {
				return err
			}
		}
		return p.SetMulticastLoopback(!m.NoLoop)
	}
	p := ipv6.NewPacketConn(uc)
	if ifi != nil {
		if err := p.SetMulticastInterface(ifi); err != nil {
			return err
		}
	}
	return p.SetMulticastLoopback(!m.NoLoop)
}

func (c *groupConn) Write(p []byte) (int, error) {
	if c.trace != nil {
		c.trace("sendto(fd %d, %s) <- %d bytes", c.fd, c.to, len(p))
	}
	return c.UDPConn.WriteToUDP(p, c.to)
}

func (c *groupConn) Read(p []byte) (int, error) {
	n, from, err := c.UDPConn.ReadFromUDP(p)
	if err == nil && c.trace != nil {
		c.trace("recvfrom(fd %d) -> %d bytes from %s", c.fd, n, from)
	}
	return n, err
}

// RemoteAddr is the group or broadcast address sent to.
func (c *groupConn) RemoteAddr() net.Addr { return c.to }

// SetDeadline and the others come from the UDP socket.
var _ interface{ SetReadDeadline(time.Time) error } = (*groupConn)(nil)

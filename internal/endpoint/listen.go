package endpoint

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"syscall"
	"time"
)

// ListenConfig opens servers on endpoints. The zero value listens with
// SO_REUSEADDR on for TCP (as Go and every server does: a restart need not
// wait for TIME_WAIT) and the default backlog.
//
// A listening port is sockit's alone (README "Servers"): nothing here lets a
// second socket share a port with one that holds it, so binding a port in
// use fails with "address already in use" for TCP and UDP alike. The
// options that decide that are set in one place, bindOptions, per
// operating system. The one sharing there is, SO_REUSEPORT among
// sockit's own per-core sockets, is ListenPacketGroup's, and it starts
// from an exclusive bind.
type ListenConfig struct {
	NoReuseAddr bool        // --reuseaddr=false
	Buffer      int         // SO_SNDBUF and SO_RCVBUF, 0 for the default
	TLS         *tls.Config // server config for tls://, wss:// and dtls:// endpoints
	Trace       Tracer

	Sockopts            // --ttl, --tos, --bind-dev
	Multicast Multicast // joining a group (udp://GROUP:PORT): --iface, --join-source, --multicast-loop
	WebSocket WebSocket // ws:// and wss://: --ws-protocol, --ws-binary, --ws-ping
}

// Listen opens a stream listener (tcp, tls, unix) on ep.
func (lc *ListenConfig) Listen(ctx context.Context, ep Endpoint) (net.Listener, error) {
	if ep.IsPacket() {
		return nil, &OpError{Op: "listen", Endpoint: ep.String(), Err: errors.New("datagram endpoint needs ListenPacket")}
	}
	if ln, err, ok := lc.listenKind(ctx, ep); ok {
		return ln, err
	}
	if ep.IsUnix() {
		removeStaleSocket(ep.Path)
	}
	nlc := net.ListenConfig{Control: lc.control(ep, nil), KeepAlive: -1}
	ln, err := nlc.Listen(ctx, ep.Network(), ep.Address())
	if err != nil {
		return nil, &OpError{Op: "listen", Endpoint: ep.String(), Err: err}
	}
	if lc.Trace != nil {
		lc.Trace("listen(fd %d, backlog %d)  now accepting on %s", fdOf(ln), somaxconn(), ln.Addr())
	}
	if ep.IsTLS() {
		if lc.TLS == nil {
			ln.Close()
			return nil, &OpError{Op: "listen", Endpoint: ep.String(), Err: errors.New("no TLS configuration")}
		}
		ln = tls.NewListener(ln, lc.TLS)
	}
	if lc.Trace != nil {
		ln = &traceListener{Listener: ln, t: lc.Trace}
	}
	return ln, nil
}

// ListenPacket opens a datagram socket (udp, unixgram) bound to ep.
func (lc *ListenConfig) ListenPacket(ctx context.Context, ep Endpoint) (net.PacketConn, error) {
	if !ep.IsPacket() {
		return nil, &OpError{Op: "listen", Endpoint: ep.String(), Err: errors.New("stream endpoint needs Listen")}
	}
	if err := checkScheme(ep); err != nil {
		return nil, err
	}
	if ep.IsUDP() && IsMulticast(ep.Host) {
		return lc.listenMulticast(ctx, ep)
	}
	if ep.IsUnix() {
		removeStaleSocket(ep.Path)
	}
	nlc := net.ListenConfig{Control: lc.control(ep, nil)}
	pc, err := nlc.ListenPacket(ctx, ep.Network(), ep.Address())
	if err != nil {
		// "listen", as for TCP: the same words for the same failure.
		return nil, &OpError{Op: "listen", Endpoint: ep.String(), Err: err}
	}
	if lc.Trace != nil {
		lc.Trace("bound %s (fd %d): UDP has no listen() or accept(); recvfrom() waits for datagrams from anyone", pc.LocalAddr(), fdOf(pc))
	}
	return pc, nil
}

// control sets a listening socket's options before bind: who else may
// bind the address (bindOptions, or join instead: a per-core sibling
// joining its group, a multicast receiver sharing its group's port),
// socket options, buffer sizes, and the trace.
func (lc *ListenConfig) control(ep Endpoint, join func(fd int) error) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			ifd := int(fd)
			if lc.Trace != nil {
				lc.Trace.socket(network, ifd)
			}
			switch {
			case join != nil:
				serr = join(ifd)
			case !ep.IsUnix():
				serr = lc.bindOptions(ifd, ep)
			}
			if serr != nil {
				return
			}
			if serr = lc.Sockopts.apply(int(fd), network, lc.Trace); serr != nil {
				return
			}
			if serr = setBuffers(fd, lc.Buffer, lc.Trace); serr != nil {
				return
			}
			if lc.Trace != nil {
				lc.Trace("bind(fd %d, %s)", ifd, address)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
}

// removeStaleSocket removes a Unix socket file that nothing listens on any
// more, left behind by a server that was killed.
func removeStaleSocket(path string) {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		return
	}
	for _, network := range []string{"unix", "unixgram"} {
		c, err := net.DialTimeout(network, path, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return // alive: let listen fail with "address already in use"
		}
		if !refused(err) && !errors.Is(err, syscall.EPROTOTYPE) {
			return
		}
	}
	os.Remove(path)
}

type traceListener struct {
	net.Listener
	t Tracer
}

func (l *traceListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.t.Accepted(c)
	return l.t.wrap(c), nil
}

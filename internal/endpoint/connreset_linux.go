//go:build linux && !sockit_portable

package endpoint

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// heldSockets keeps a second descriptor of each TCP socket a dial makes,
// until the dial returns, for the one case where the first one is lost
// with data in it: on a loaded machine a server that accepts, sends and
// resets at once can do all of it before the dialing goroutine runs
// again, and then Go's connect reads the reset from SO_ERROR, reports
// "connection reset by peer" and closes the socket, discarding what the
// server sent. A client connected directly to such a server should read
// those bytes and then the reset, as it does when it is quicker; a relay
// in front of it must, to be transparent. The held descriptor keeps the
// socket, and its received bytes, alive past Go's close.
type heldSockets struct {
	mu  sync.Mutex
	fds []heldSocket
}

type heldSocket struct {
	fd   int
	addr string // the address the socket connects to
}

// control wraps a net.Dialer's Control function so that it also holds
// every socket it is called for.
func (h *heldSockets) control(next func(network, address string, c syscall.RawConn) error) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		if next != nil {
			if err := next(network, address, c); err != nil {
				return err
			}
		}
		c.Control(func(fd uintptr) {
			if dup, err := unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0); err == nil {
				h.mu.Lock()
				h.fds = append(h.fds, heldSocket{dup, address})
				h.mu.Unlock()
			}
		})
		return nil
	}
}

// rescue returns a connection on the socket whose connect err says was
// reset, if the server had sent bytes on it before the reset; else nil.
// Reads on it return those bytes, then the reset. It must be called
// before release.
func (h *heldSockets) rescue(err error) net.Conn {
	if !errors.Is(err, syscall.ECONNRESET) {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, s := range h.fds {
		info, err := unix.GetsockoptTCPInfo(s.fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil || info.State != unix.BPF_TCP_CLOSE || info.Bytes_received == 0 {
			continue
		}
		// The file owns the held descriptor from here (its finalizer
		// would close it): close it through the file, and not again.
		f := os.NewFile(uintptr(s.fd), "")
		h.fds = append(h.fds[:i], h.fds[i+1:]...)
		nc, err := net.FileConn(f) // a descriptor of its own
		f.Close()
		if err != nil {
			return nil
		}
		tc, ok := nc.(*net.TCPConn)
		if !ok {
			nc.Close()
			return nil
		}
		rc := &resetConn{TCPConn: tc}
		if ap, err := netip.ParseAddrPort(s.addr); err == nil {
			rc.raddr = net.TCPAddrFromAddrPort(ap)
		}
		return rc
	}
	return nil
}

// release closes the held descriptors. A connection returned by rescue
// has its own.
func (h *heldSockets) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.fds {
		unix.Close(s.fd)
	}
	h.fds = nil
}

// resetConn is a TCP connection that a reset ended before its connect
// returned, with the bytes that arrived before it still to be read. The
// reset's error went to connect, so the kernel would end the bytes with
// a plain EOF: resetConn gives the reset instead, so that no reader
// mistakes the broken conversation for a complete one.
type resetConn struct {
	*net.TCPConn
	raddr net.Addr
}

func (c *resetConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	if errors.Is(err, io.EOF) {
		err = &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.raddr, Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	}
	return n, err
}

// RemoteAddr is the address dialled: a reset socket has no peer name to
// ask the kernel for.
func (c *resetConn) RemoteAddr() net.Addr {
	if c.raddr != nil {
		return c.raddr
	}
	return c.TCPConn.RemoteAddr()
}

// NetConn is the TCP connection, for those that look under wrappers for
// the socket (reset and refusal checks, SO_LINGER).
func (c *resetConn) NetConn() net.Conn { return c.TCPConn }

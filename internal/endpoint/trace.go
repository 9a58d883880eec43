package endpoint

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Tracer prints one socket step, in the words of the tutorials' timeline
// diagrams: socket, bind, listen, accept, connect, recv, send, close. A nil
// Tracer is off, and nothing is wrapped or formatted.
type Tracer func(format string, args ...any)

func (t Tracer) socket(network string, fd int) {
	family, kind := "AF_INET", "SOCK_STREAM"
	switch {
	case strings.HasSuffix(network, "6"):
		family = "AF_INET6"
	case strings.HasPrefix(network, "unix"):
		family = "AF_UNIX"
	}
	if strings.HasPrefix(network, "udp") || network == "unixgram" {
		kind = "SOCK_DGRAM"
	}
	t("socket(%s, %s) = fd %d", family, kind, fd)
}

func (t Tracer) connected(c net.Conn, ep Endpoint, took time.Duration) {
	if ep.IsUDP() {
		t("connect(fd %d, %s)  UDP: only sets the default peer, nothing is sent; local %s", fdOf(c), c.RemoteAddr(), c.LocalAddr())
		return
	}
	t("connect(fd %d, %s) = ok in %s  (three-way handshake done; local %s)", fdOf(c), c.RemoteAddr(), took.Round(time.Microsecond), c.LocalAddr())
}

// Accepted records an accept() that returned c.
func (t Tracer) Accepted(c net.Conn) {
	if t != nil {
		t("accept() -> %s (fd %d)", c.RemoteAddr(), fdOf(c))
	}
}

// Wrap returns c wrapped so that every read, write and close is traced, or
// c itself when t is nil.
func (t Tracer) Wrap(c net.Conn) net.Conn {
	if t == nil {
		return c
	}
	return t.wrap(c)
}

func (t Tracer) wrap(c net.Conn) net.Conn {
	tc := &traceConn{Conn: c, t: t, fd: fdOf(c)}
	if _, ok := c.(*net.UDPConn); ok {
		tc.udp = true
	}
	return tc
}

// FD returns the file descriptor number of a connection, listener or
// packet socket (looking through TLS and trace wrappers), or -1.
func FD(c any) int { return fdOf(c) }

func fdOf(c any) int {
	sc, ok := c.(syscall.Conn)
	if !ok {
		if nc, ok := c.(interface{ NetConn() net.Conn }); ok {
			return fdOf(nc.NetConn())
		}
		return -1
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	rc.Control(func(u uintptr) { fd = int(u) })
	return fd
}

type traceConn struct {
	net.Conn
	t      Tracer
	fd     int
	udp    bool
	gotEOF bool
}

func (c *traceConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	verb := "recv"
	if c.udp {
		verb = "recvfrom"
	}
	switch {
	case n > 0:
		if c.udp {
			c.t("%s(fd %d) -> %d bytes from %s", verb, c.fd, n, c.RemoteAddr())
		} else {
			c.t("%s(fd %d) -> %d bytes", verb, c.fd, n)
		}
	case errors.Is(err, io.EOF):
		c.gotEOF = true
		c.t("%s(fd %d) -> 0 bytes  (EOF: the peer closed its side, FIN received)", verb, c.fd)
	case errors.Is(err, os.ErrDeadlineExceeded):
		// sockit's own deadline (--wait after the input ended, -i): the
		// normal end of a UDP exchange, not a failure of the socket.
		c.t("%s(fd %d) -> timed out  (nothing arrived before the read deadline: --wait or -i)", verb, c.fd)
	case err != nil && !errors.Is(err, net.ErrClosed):
		c.t("%s(fd %d) failed: %s", verb, c.fd, Cause(err))
	}
	return n, err
}

func (c *traceConn) Write(p []byte) (int, error) {
	// Traced before the call, so that the line comes before whatever the
	// peer answers (another goroutine traces the recv).
	if c.udp {
		c.t("sendto(fd %d, %s) <- %d bytes", c.fd, c.RemoteAddr(), len(p))
	} else {
		c.t("send(fd %d) <- %d bytes", c.fd, len(p))
	}
	n, err := c.Conn.Write(p)
	if err != nil {
		c.t("send(fd %d) failed after %d bytes: %s", c.fd, n, Cause(err))
	}
	return n, err
}

func (c *traceConn) CloseWrite() error {
	c.t("shutdown(fd %d, SHUT_WR)  (FIN sent: no more data from this side)", c.fd)
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *traceConn) Close() error {
	if c.gotEOF {
		c.t("close(fd %d)  peer closed first (FIN received)", c.fd)
	} else {
		c.t("close(fd %d)", c.fd)
	}
	return c.Conn.Close()
}

// NetConn returns the wrapped connection.
func (c *traceConn) NetConn() net.Conn { return c.Conn }

// somaxconn is the backlog Go passes to listen(2) on Linux.
func somaxconn() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return 128
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 128
	}
	return n
}

package sockittest

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// EchoTCP starts a TCP echo server on 127.0.0.1 and returns its address.
func EchoTCP(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// EchoUDP starts a UDP echo server on 127.0.0.1 and returns its address.
func EchoUDP(t testing.TB) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			pc.WriteTo(buf[:n], addr)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc.LocalAddr().String()
}

// Pair returns the two ends of a real loopback TCP connection.
func Pair(t testing.TB) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- nil
			return
		}
		ch <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-ch
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// ServeOne is a one-connection TCP server on 127.0.0.1 for a test that
// plays the peer itself: it accepts one connection, runs serve on it in
// a goroutine and sends serve's result (or the accept's error) on the
// returned channel. The connection has a deadline of Patience, so that a
// test waiting on the result cannot hang; when the test ends, the
// listener and the connection are closed and ServeOne waits for serve to
// return.
func ServeOne(t testing.TB, serve func(c *net.TCPConn) error) (addr string, result <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	var (
		mu     sync.Mutex
		conn   net.Conn
		closed bool
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			res <- err
			return
		}
		defer c.Close()
		mu.Lock()
		conn = c
		if closed { // the test ended as the connection arrived
			c.Close()
		}
		mu.Unlock()
		c.SetDeadline(time.Now().Add(Patience))
		res <- serve(c.(*net.TCPConn))
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		closed = true
		if conn != nil {
			conn.Close()
		}
		mu.Unlock()
		<-done
	})
	return ln.Addr().String(), res
}

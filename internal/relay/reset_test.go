//go:build linux

package relay

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/impair"
	"github.com/sockit/sockit/internal/server"
	"github.com/sockit/sockit/internal/session"
	"github.com/sockit/sockit/internal/sockittest"
)

// resetMode is one way of running the relay: each takes a different copy
// path through Join.
type resetMode struct {
	name string
	tls  bool // the client speaks TLS to the relay (termination)
	conf func(r *Relay)
}

var resetModes = []resetMode{
	{name: "splice", conf: func(*Relay) {}},
	{name: "observed", conf: func(r *Relay) { r.Sink = func(*event.Event) {}; r.Data = true }},
	{name: "idle", conf: func(r *Relay) { r.Idle = time.Minute }},
	{name: "wrapped", conf: func(r *Relay) {
		// Wrappers that expose nothing, as --impair's do not.
		hide := func(c net.Conn) net.Conn { return opaqueConn{c} }
		r.WrapClient, r.WrapUpstream = hide, hide
	}},
	{name: "tls", tls: true, conf: func(*Relay) {}},
}

// startReset runs a relay to up in the given mode and dials it.
func startReset(t *testing.T, m resetMode, up string) net.Conn {
	t.Helper()
	c, err := dialReset(t, m, up)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func dialReset(t *testing.T, m resetMode, up string) (net.Conn, error) {
	t.Helper()
	r := &Relay{From: mustParse(t, "127.0.0.1:0", true), To: mustParse(t, up, false)}
	if m.tls {
		cfg, _, err := endpoint.TLSOptions{}.Server()
		if err != nil {
			t.Fatal(err)
		}
		r.From = mustParse(t, "tls://127.0.0.1:0", true)
		r.Listen = &endpoint.ListenConfig{TLS: cfg}
	}
	m.conf(r)
	addr := start(t, r)
	var c net.Conn
	var err error
	if m.tls {
		c, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	return c, nil
}

// reset ends c with RST.
func reset(c *net.TCPConn) {
	c.SetLinger(0)
	c.Close()
}

// isReset reports whether err is a connection reset (or, for a writer,
// the broken pipe a reset leaves behind).
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// TestRelayPassesUpstreamReset: the upstream sends 1 MiB and resets; the
// client reads the bytes, then a reset, never a clean EOF. (Before the
// relay passed resets on, it closed the client with a FIN.)
func TestRelayPassesUpstreamReset(t *testing.T) {
	for _, m := range resetModes {
		t.Run(m.name, func(t *testing.T) {
			up, _ := sockittest.ServeOne(t, func(c *net.TCPConn) error {
				c.Write(bytes.Repeat([]byte("u"), 1<<20))
				reset(c)
				return nil
			})
			c, err := dialReset(t, m, up)
			var n int64
			if err == nil { // else the reset came before connect returned
				c.SetReadDeadline(time.Now().Add(30 * time.Second))
				n, err = io.Copy(io.Discard, c)
			}
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("client read %d bytes, then %v; want connection reset by peer", n, err)
			}
			if n > 1<<20 {
				t.Fatalf("client read %d bytes, more than the upstream sent", n)
			}
		})
	}
}

// TestRelayPassesClientReset: the client sends 1 MiB and resets; the
// upstream reads the bytes, then a reset, never a clean EOF.
func TestRelayPassesClientReset(t *testing.T) {
	for _, m := range resetModes {
		t.Run(m.name, func(t *testing.T) {
			got := make(chan int64, 1)
			up, res := sockittest.ServeOne(t, func(c *net.TCPConn) error {
				c.SetReadDeadline(time.Now().Add(30 * time.Second))
				var n int64
				buf := make([]byte, 64<<10)
				for {
					k, err := c.Read(buf)
					n += int64(k)
					if n == 1<<20 {
						got <- n
					}
					if err != nil {
						return fmt.Errorf("after %d bytes: %w", n, err)
					}
				}
			})
			c := startReset(t, m, up)
			if _, err := c.Write(bytes.Repeat([]byte("c"), 1<<20)); err != nil {
				t.Fatal(err)
			}
			select {
			case <-got: // all of it is through: now the reset
			case err := <-res:
				t.Fatalf("upstream ended early: %v", err)
			case <-time.After(30 * time.Second):
				t.Fatal("upstream did not get 1 MiB within 30s")
			}
			if tc, ok := c.(*tls.Conn); ok {
				reset(tc.NetConn().(*net.TCPConn))
			} else {
				reset(c.(*net.TCPConn))
			}
			select {
			case err := <-res:
				if !errors.Is(err, syscall.ECONNRESET) {
					t.Fatalf("upstream read %v; want connection reset by peer", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("upstream still open 30s after the client reset")
			}
		})
	}
}

// TestRelayResetWhileStreaming is issue 9's case: the client streams
// 16 MiB, the upstream reads 1 MiB of it and resets. The client must see
// a reset (on its read, or on its write with EOF after), never a FIN
// while its writes still succeed.
func TestRelayResetWhileStreaming(t *testing.T) {
	for _, m := range resetModes {
		t.Run(m.name, func(t *testing.T) {
			up, _ := sockittest.ServeOne(t, func(c *net.TCPConn) error {
				c.SetReadDeadline(time.Now().Add(30 * time.Second))
				io.CopyN(io.Discard, c, 1<<20)
				reset(c)
				return nil
			})
			c := startReset(t, m, up)
			werr := make(chan error, 1)
			go func() {
				buf := bytes.Repeat([]byte("s"), 64<<10)
				for i := 0; i < 256; i++ {
					if _, err := c.Write(buf); err != nil {
						werr <- err
						return
					}
				}
				werr <- nil
			}()
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			_, rerr := io.Copy(io.Discard, c)
			if rerr == nil && tcpState(c) == stateCloseWait {
				t.Fatal("client read a FIN: the upstream's reset was passed on as a clean end")
			}
			c.SetWriteDeadline(time.Now().Add(30 * time.Second))
			err := <-werr
			if rerr == nil && !isReset(err) {
				t.Fatalf("client read EOF and its writes ended with %v; want a reset", err)
			}
			if rerr != nil && !isReset(rerr) {
				t.Fatalf("client read ended with %v; want a reset", rerr)
			}
		})
	}
}

// TestRelayCleanEndStaysClean: a FIN each way is still a clean end on
// every path: the reset detection does not take an orderly close, however
// the two FINs interleave, for a reset.
func TestRelayCleanEndStaysClean(t *testing.T) {
	for _, m := range resetModes {
		t.Run(m.name, func(t *testing.T) {
			for i := 0; i < 20; i++ {
				up, res := sockittest.ServeOne(t, func(c *net.TCPConn) error {
					c.SetReadDeadline(time.Now().Add(30 * time.Second))
					// Reply and FIN at once, racing the client's FIN.
					c.Write([]byte("reply"))
					c.CloseWrite()
					n, err := io.Copy(io.Discard, c)
					if err != nil || n != 7 {
						return fmt.Errorf("upstream read %d bytes, %v", n, err)
					}
					return nil
				})
				c := startReset(t, m, up)
				c.Write([]byte("request"))
				closeWriteConn(c)
				c.SetReadDeadline(time.Now().Add(30 * time.Second))
				b, err := io.ReadAll(c)
				if err != nil || string(b) != "reply" {
					t.Fatalf("run %d: client read %q, %v; want the reply and a clean EOF", i, b, err)
				}
				if err := <-res; err != nil {
					t.Fatalf("run %d: %v", i, err)
				}
				c.Close()
			}
		})
	}
}

func closeWriteConn(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}

// TestRelayUpstreamDownResetsClient: when the upstream cannot be reached
// the client, whose connect succeeded, is reset rather than closed: an
// empty answer and a clean end would read as success.
func TestRelayUpstreamDownResetsClient(t *testing.T) {
	down := refusingUpstream(t)
	for _, m := range resetModes {
		t.Run(m.name, func(t *testing.T) {
			c, err := dialReset(t, m, down)
			if err == nil {
				c.SetReadDeadline(time.Now().Add(30 * time.Second))
				_, err = io.Copy(io.Discard, c)
			}
			// The reset can come so soon that the client's connect (or
			// TLS handshake) reports it.
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("client read %v; want connection reset by peer", err)
			}
		})
	}
}

// TestForwardInterruptIsQuiet: a conversation ended by the server's
// shutdown (the connections closed by their owner) closes with FINs, and
// the handler reports no error.
func TestForwardInterruptIsQuiet(t *testing.T) {
	got := make(chan struct{})
	up, _ := sockittest.ServeOne(t, func(c *net.TCPConn) error {
		if _, err := c.Read(make([]byte, 1)); err != nil {
			return err
		}
		close(got)
		_, err := io.Copy(io.Discard, c)
		return err
	})
	fw := &Forward{Dial: func(ctx context.Context) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", up)
	}}
	srv := &server.Server{Handler: fw.Handler(), Conn: session.Options{Proto: "tcp"}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("x"))
	// Through to the upstream: the relay holds nothing unread, which
	// would make the kernel reset at close whatever the relay asked.
	<-got
	cancel()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("client read %v after the relay shut down; want EOF", err)
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve: %v", err)
	}
}

const stateCloseWait = unix.BPF_TCP_CLOSE_WAIT

// tcpState is the kernel's state of the TCP socket under c (0 if none).
func tcpState(c net.Conn) int {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return 0
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0
	}
	var state int
	rc.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			state = int(info.State)
		}
	})
	return state
}

// TestRelayDeliversBytesBeforeReset: the upstream sends 256 KiB, waits
// until the relay's kernel has taken all of it, and resets. The client,
// with a small receive buffer so that most of the bytes still wait in
// the relay (its send queue, or --impair's delay) when the reset comes,
// reads all 256 KiB and then the reset, as it would connected directly.
// (Before the relay flushed, its reset discarded what it held.)
func TestRelayDeliversBytesBeforeReset(t *testing.T) {
	sp, err := impair.Parse("delay=1ms")
	if err != nil {
		t.Fatal(err)
	}
	modes := append(resetModes[:len(resetModes):len(resetModes)], resetMode{name: "impair", conf: func(r *Relay) {
		w := func(c net.Conn) net.Conn { return impair.Conn(c, sp, nil) }
		r.WrapClient, r.WrapUpstream = w, w
	}})
	data := bytes.Repeat([]byte("0123456789abcdef"), 16<<10)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			up, res := sockittest.ServeOne(t, func(c *net.TCPConn) error {
				if _, err := c.Write(data); err != nil {
					return err
				}
				// All of it acknowledged: the relay has every byte.
				if !sockittest.Until(func() bool { return bytesAcked(c) >= uint64(len(data)) }) {
					return fmt.Errorf("the relay took %d of %d bytes within %s", bytesAcked(c), len(data), sockittest.Patience)
				}
				reset(c)
				return nil
			})
			r := &Relay{From: mustParse(t, "127.0.0.1:0", true), To: mustParse(t, up, false)}
			d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
				return rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4096) })
			}}
			var c net.Conn
			if m.tls {
				cfg, _, err := endpoint.TLSOptions{}.Server()
				if err != nil {
					t.Fatal(err)
				}
				r.From = mustParse(t, "tls://127.0.0.1:0", true)
				r.Listen = &endpoint.ListenConfig{TLS: cfg}
				m.conf(r)
				c, err = tls.DialWithDialer(d, "tcp", start(t, r), &tls.Config{InsecureSkipVerify: true})
			} else {
				m.conf(r)
				c, err = d.Dial("tcp", start(t, r))
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(60 * time.Second))
			var got bytes.Buffer
			_, rerr := io.Copy(&got, c)
			if err := <-res; err != nil {
				t.Fatalf("upstream: %v", err)
			}
			if got.Len() != len(data) || !errors.Is(rerr, syscall.ECONNRESET) {
				t.Fatalf("client read %d of %d bytes, then %v; want all of them, then a reset", got.Len(), len(data), rerr)
			}
			if !bytes.Equal(got.Bytes(), data) {
				t.Fatal("client read the right count of the wrong bytes")
			}
		})
	}
}

// bytesAcked is how many bytes sent on c its peer's kernel acknowledged.
func bytesAcked(c *net.TCPConn) uint64 {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	var n uint64
	rc.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			n = info.Bytes_acked
		}
	})
	return n
}

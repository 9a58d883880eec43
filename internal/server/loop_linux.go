//go:build linux && !sockit_portable

package server

import (
	"context"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/platform"
)

// The echo fast path for TCP and Unix streams runs on epoll event loops,
// one per core, as gnet and other event-loop servers do, rather than on
// a goroutine per connection: with many connections, or one connection
// doing request/response, the goroutine's park and wake-up on each
// message (an extra read that finds nothing, the scheduler, the
// runtime's poller) cost as much as the echo itself. A loop reads what is
// ready and writes it straight back, with one buffer per loop.

// echoLoops are started on first use and live as long as the process.
var echoLoops = sync.OnceValues(startLoops)

type loop struct {
	epfd  int
	mu    sync.Mutex
	conns map[int32]*loopConn
}

// loopConn is one connection on a loop.
type loopConn struct {
	fd      int
	pending []byte // echo data the socket could not take yet
	eof     bool   // the peer has shut down its side
	in      int64
	done    chan error
	over    bool

	mu     sync.Mutex // closed, against the handler's shutdown at exit
	closed bool
}

type loopGroup struct {
	loops []*loop
	mu    sync.Mutex
	next  int
}

func startLoops() (*loopGroup, error) {
	g := &loopGroup{}
	for i := 0; i < runtime.GOMAXPROCS(0); i++ {
		epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			return nil, err
		}
		l := &loop{epfd: epfd, conns: map[int32]*loopConn{}}
		g.loops = append(g.loops, l)
		go l.run()
	}
	return g, nil
}

func (g *loopGroup) pick() *loop {
	g.mu.Lock()
	defer g.mu.Unlock()
	l := g.loops[g.next%len(g.loops)]
	g.next++
	return l
}

// echoOnLoop echoes on nc from an event loop until the peer is done; it
// returns handled=false, having done nothing, when nc is not a bare TCP
// or Unix stream socket. The loop takes a duplicate of the socket and nc
// is closed, so that the runtime's poller lets go of it.
func echoOnLoop(ctx context.Context, nc net.Conn) (in int64, handled bool, err error) {
	if !platform.Spliceable(nc) {
		return 0, false, nil
	}
	g, err := echoLoops()
	if err != nil {
		return 0, false, nil
	}
	sc, err := nc.(syscall.Conn).SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	fd := -1
	var derr error
	sc.Control(func(u uintptr) { fd, derr = unix.FcntlInt(u, unix.F_DUPFD_CLOEXEC, 0) })
	if derr != nil || fd < 0 {
		return 0, false, nil
	}
	nc.Close()
	c := &loopConn{fd: fd, done: make(chan error, 1)}
	l := g.pick()
	l.mu.Lock()
	l.conns[int32(fd)] = c
	l.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.mu.Lock()
		delete(l.conns, int32(fd))
		l.mu.Unlock()
		unix.Close(fd)
		return 0, true, err
	}
	select {
	case err = <-c.done:
	case <-ctx.Done():
		// Shutting down: a shutdown(2) wakes the loop with an error or
		// EOF on the socket, and the loop ends the connection.
		c.mu.Lock()
		if !c.closed {
			unix.Shutdown(fd, unix.SHUT_RDWR)
		}
		c.mu.Unlock()
		err = <-c.done
	}
	return c.in, true, err
}

func (l *loop) run() {
	events := make([]unix.EpollEvent, 256)
	buf := make([]byte, 64<<10)
	ready := make([]*loopConn, 0, 256)
	block := true
	for {
		n, err := epollWait(l.epfd, events, block)
		if n <= 0 {
			if err != nil && err != unix.EINTR {
				return
			}
			if !block {
				// Nothing more right now: let other goroutines run, then
				// sleep until something arrives.
				runtime.Gosched()
				block = true
			}
			continue
		}
		// Busy: look again without sleeping (and without the runtime's
		// system call bookkeeping) before blocking, as gnet does; under
		// load there usually is more by then, and a thread that never
		// sleeps is never woken.
		block = false
		ready = ready[:0]
		l.mu.Lock()
		for i := 0; i < n; i++ {
			ready = append(ready, l.conns[events[i].Fd])
		}
		l.mu.Unlock()
		for i, c := range ready {
			if c != nil && !c.over {
				l.serve(c, events[i].Events, buf)
			}
		}
	}
}

func (l *loop) serve(c *loopConn, ev uint32, buf []byte) {
	if len(c.pending) > 0 {
		if ev&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return
		}
		if !l.flush(c) {
			return
		}
		// Flushed: read again (or finish, if the peer was done).
		if c.eof {
			unix.Shutdown(c.fd, unix.SHUT_WR)
			l.finish(c, nil)
			return
		}
		l.watch(c, unix.EPOLLIN|unix.EPOLLRDHUP)
	}
	for {
		n, err := unix.Read(c.fd, buf)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return
		case err != nil:
			l.finish(c, opErr("read", err))
			return
		case n == 0:
			// The peer shut down its side: echo what is left, then ours.
			c.eof = true
			if len(c.pending) == 0 {
				unix.Shutdown(c.fd, unix.SHUT_WR)
				l.finish(c, nil)
			}
			return
		}
		c.in += int64(n)
		w, err := writeAll(c.fd, buf[:n])
		if err != nil && err != unix.EAGAIN {
			l.finish(c, opErr("write", err))
			return
		}
		if w < n {
			// The peer is not reading: keep the rest, stop reading until
			// it is sent.
			c.pending = append(c.pending[:0], buf[w:n]...)
			l.watch(c, unix.EPOLLOUT)
			return
		}
		if n < len(buf) {
			return // drained; level-triggered epoll says when there is more
		}
	}
}

// flush writes pending data and reports whether all of it went.
func (l *loop) flush(c *loopConn) bool {
	w, err := writeAll(c.fd, c.pending)
	if err != nil && err != unix.EAGAIN {
		l.finish(c, opErr("write", err))
		return false
	}
	c.pending = c.pending[w:]
	if len(c.pending) > 0 {
		return false
	}
	c.pending = nil
	return true
}

func writeAll(fd int, p []byte) (int, error) {
	w := 0
	for w < len(p) {
		n, err := unix.Write(fd, p[w:])
		if n > 0 {
			w += n
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return w, err
		}
	}
	return w, nil
}

func (l *loop) watch(c *loopConn, events uint32) {
	ev := unix.EpollEvent{Events: events, Fd: int32(c.fd)}
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, c.fd, &ev)
}

func (l *loop) finish(c *loopConn, err error) {
	c.over = true
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	l.mu.Lock()
	delete(l.conns, int32(c.fd))
	l.mu.Unlock()
	c.mu.Lock()
	c.closed = true
	unix.Close(c.fd)
	c.mu.Unlock()
	c.done <- err
}

// opErr names the failed call as the net package would, keeping the
// errno for errors.Is (a reset is ECONNRESET).
func opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(op, err)}
}

// epollWait waits for events, or with block=false only looks. The look
// is a raw system call: it cannot block, so the scheduler need not know.
// It is epoll_pwait with no signal mask, which every Linux architecture
// has (arm64 and riscv64 have no plain epoll_wait).
func epollWait(epfd int, events []unix.EpollEvent, block bool) (int, error) {
	if block {
		return unix.EpollWait(epfd, events, -1)
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(n), nil
}

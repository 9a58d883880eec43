//go:build linux && !sockit_portable

package bench

import (
	"errors"
	"net"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rr on event loops: with a goroutine per connection, each response
// parks and wakes a goroutine (a read that finds nothing, the scheduler,
// the runtime's poller), and that costs the load generator as much as the
// exchange itself; a loop per core reads every response that is ready and
// writes the next requests at once. The connections, counters and
// histograms are the same as the goroutine path's.

type rrConn struct {
	fd   int
	w    *worker
	h    *shard
	ring []int64 // send times of the requests in flight, oldest at head
	head int
	got  int  // bytes of the current response read so far
	owe  int  // request bytes not yet written (the socket was full)
	out  bool // waiting for EPOLLOUT
	done bool
}

// loopable reports whether rrLoops can take every connection.
func loopable(conns []net.Conn) bool {
	for _, c := range conns {
		if !bareStream(c) {
			return false
		}
	}
	return true
}

func bareStream(c net.Conn) bool {
	switch v := c.(type) {
	case *net.TCPConn:
		return true
	case *net.UnixConn:
		return v.LocalAddr().Network() == "unix"
	}
	return false
}

// rrLoops runs rr over conns (all loopable) on one epoll loop per core.
func (r *runner) rrLoops(conns []net.Conn, workers []*worker, hist *histograms) {
	var all []*rrConn
	for i, c := range conns {
		fd := dupConn(c)
		c.Close() // the loop owns the duplicate now
		if fd < 0 {
			workers[i].errs++
			workers[i].err = errors.New("cannot take over the connection")
			continue
		}
		all = append(all, &rrConn{fd: fd, w: workers[i], h: hist.shard(i), ring: make([]int64, r.cfg.Depth)})
	}
	nloops := min(runtime.GOMAXPROCS(0), len(all))
	var wg sync.WaitGroup
	for l := 0; l < nloops; l++ {
		var mine []*rrConn
		for i := l; i < len(all); i += nloops {
			mine = append(mine, all[i])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.rrLoop(mine)
		}()
	}
	wg.Wait()
	for _, w := range workers {
		w.stop.Store(r.since())
	}
}

// dupConn duplicates a bare TCP or Unix stream socket's descriptor, or
// returns -1.
func dupConn(c net.Conn) int {
	if !bareStream(c) {
		return -1
	}
	sc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	sc.Control(func(u uintptr) {
		if d, err := unix.FcntlInt(u, unix.F_DUPFD_CLOEXEC, 0); err == nil {
			fd = d
		}
	})
	return fd
}

func (r *runner) rrLoop(conns []*rrConn) {
	size, depth := r.cfg.Size, r.cfg.Depth
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		for _, c := range conns {
			r.w = c.w
			r.fail(err)
		}
		return
	}
	defer unix.Close(epfd)
	byFD := make(map[int32]*rrConn, len(conns))
	reqs := pattern(size * depth)
	buf := make([]byte, max(64<<10, size*depth))
	live := 0
	now := r.since()
	for _, c := range conns {
		defer unix.Close(c.fd)
		byFD[int32(c.fd)] = c
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(c.fd)}
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
			r.failConn(c, err)
			continue
		}
		for i := range c.ring {
			c.ring[i] = now
		}
		c.owe = depth * size
		if r.flush(epfd, c, reqs) {
			live++
		}
	}
	events := make([]unix.EpollEvent, 256)
	block := true
	for live > 0 {
		left := time.Until(r.end)
		if left <= 0 || r.ctx.Err() != nil {
			return
		}
		var n int
		if block {
			// At most 100ms, to notice an interrupt.
			n, err = unix.EpollWait(epfd, events, int(min(left, 100*time.Millisecond)/time.Millisecond)+1)
		} else {
			// A raw epoll_pwait with no signal mask and timeout 0: it
			// cannot block. (arm64 and riscv64 have no epoll_wait.)
			var errno syscall.Errno
			var rv uintptr
			rv, _, errno = unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
			n = int(rv)
			if errno != 0 {
				n, err = 0, errno
			}
		}
		if n <= 0 {
			if err != nil && err != unix.EINTR {
				for _, c := range conns {
					r.failConn(c, err)
				}
				return
			}
			if !block {
				runtime.Gosched()
			}
			block = true
			continue
		}
		block = false // busy: look again before sleeping
		for i := 0; i < n; i++ {
			c := byFD[events[i].Fd]
			if c == nil || c.done {
				continue
			}
			if events[i].Events&unix.EPOLLOUT != 0 && c.owe > 0 {
				if !r.flush(epfd, c, reqs) {
					live--
					continue
				}
			}
			if events[i].Events&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR) == 0 {
				continue
			}
			m, err := unix.Read(c.fd, buf)
			if err == unix.EAGAIN || err == unix.EINTR {
				continue
			}
			if err != nil || m == 0 {
				if err == nil {
					err = unix.ECONNRESET // the server closed mid-run
				}
				r.failConn(c, err)
				live--
				continue
			}
			now := r.since()
			c.got += m
			done := c.got / size
			c.got %= size
			if r.bud.on {
				done = int(r.take(int64(done))) // the claim of the last one ends the run
			}
			for k := 0; k < done; k++ {
				if r.counting(c.ring[c.head]) {
					c.h.record(now - c.ring[c.head])
				}
				c.ring[c.head] = now
				c.head++
				if c.head == depth {
					c.head = 0
				}
			}
			c.w.bytes.Add(int64(done * size))
			c.w.ops.Add(int64(done))
			if now >= r.omit+int64(r.cfg.Duration) {
				continue
			}
			c.owe += done * size
			if !r.flush(epfd, c, reqs) {
				live--
			}
		}
	}
}

// flush writes the request bytes c owes (requests are interchangeable:
// the echo is counted, not compared); when the socket is full it waits
// for EPOLLOUT. It reports false when the connection failed.
func (r *runner) flush(epfd int, c *rrConn, reqs []byte) bool {
	for c.owe > 0 {
		w, err := unix.Write(c.fd, reqs[:c.owe])
		if w > 0 {
			c.owe -= w
		}
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN || err == nil && c.owe > 0 {
			if !c.out {
				c.out = true
				ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT, Fd: int32(c.fd)}
				unix.EpollCtl(epfd, unix.EPOLL_CTL_MOD, c.fd, &ev)
			}
			return true
		}
		if err != nil {
			r.failConn(c, err)
			return false
		}
	}
	if c.out {
		c.out = false
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(c.fd)}
		unix.EpollCtl(epfd, unix.EPOLL_CTL_MOD, c.fd, &ev)
	}
	return true
}

func (r *runner) failConn(c *rrConn, err error) {
	c.done = true
	if r.over(err) {
		return
	}
	c.w.errs++
	if c.w.err == nil {
		c.w.err = err
	}
}

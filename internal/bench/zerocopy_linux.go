//go:build linux && !sockit_portable

package bench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/bench/wire"
)

// --zerocopy: tx with MSG_ZEROCOPY (Linux 4.14 and later). The kernel
// sends from the process's pages instead of copying them, and says on
// the socket's error queue when it is done with each send. Three things
// make that sound here:
//
//   - The buffer is never written after it is filled, and it is mapped
//     with mmap, outside Go's heap: the garbage collector never hands its
//     pages to another object while the kernel may still be sending them,
//     and unmapping it at the end leaves pages the kernel still holds to
//     the kernel (they are freed when it lets go).
//   - The completions are read off the error queue as the sends go, so
//     that the socket's option memory does not run out (ENOBUFS).
//   - The socket is taken out of Go's poller (the loop owns a duplicate of
//     its descriptor, as the rr event loops do): the poller takes an error
//     queue's bare EPOLLERR for a broken descriptor and would fail a read
//     waiting on the same socket.
//
// On loopback the kernel copies anyway when it delivers (each completion
// says so: SO_EE_CODE_ZEROCOPY_COPIED), so it measures no faster there;
// ZeroCopyStats reports how many sends were copied.

// ZeroCopy reports whether --zerocopy can work here.
const ZeroCopy = true

// zcReapEvery is how many sends go between two reads of the error queue.
const zcReapEvery = 32

// zcState is one connection's zero-copy sending.
type zcState struct {
	fd                  int
	buf                 []byte
	sends, done, copied int64
	lastErr             error
}

// txZeroCopy runs tx with MSG_ZEROCOPY on one connection: it says hello
// on the Go connection, then takes the socket over; the server's answer
// (and, from a bench server, its report) is read on the side, as stream
// does. It reports false, having done nothing, when c is not a bare TCP
// connection.
func (r *runner) txZeroCopy(c net.Conn) bool {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return false
	}
	w := r.w
	var hello []byte
	helloAt := time.Now()
	if !r.cfg.Plain {
		hello = wire.Format(wire.Hello, r.hello(wire.ModeTX))
		if _, err := c.Write(hello); err != nil {
			r.fail(err)
			return true
		}
	}
	fd := dupConn(tc)
	if fd < 0 {
		r.fail(errors.New("--zerocopy: cannot take over the connection"))
		return true
	}
	tc.Close() // the duplicate is the loop's now
	w.fd.Store(int64(fd) + 1)
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ZEROCOPY, 1); err != nil {
		r.fail(fmt.Errorf("--zerocopy: the kernel has no SO_ZEROCOPY (Linux 4.14 or later): %w", err))
		return true
	}
	size := r.cfg.Size
	mapped := (size + os.Getpagesize() - 1) / os.Getpagesize() * os.Getpagesize()
	buf, err := unix.Mmap(-1, 0, mapped, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		r.fail(fmt.Errorf("--zerocopy: %w", os.NewSyscallError("mmap", err)))
		return true
	}
	copy(buf, pattern(size))

	fr := &fdReader{fd: fd}
	fr.SetReadDeadline(r.end.Add(reportWait))
	st := &streamState{writerDone: make(chan struct{}), answered: make(chan struct{})}
	readerDone := make(chan struct{})
	if hello != nil {
		go func() {
			defer close(readerDone)
			r.zcAnswer(fr, hello, st)
		}()
	} else {
		close(st.answered)
		close(readerDone)
	}

	z := &zcState{fd: fd, buf: buf[:size]}
	r.zcSend(z)
	r.stopped()
	z.drain(time.Second)
	unix.Munmap(buf)
	w.zc = &ZeroCopyStats{Sends: z.sends, Completed: z.done, Copied: z.copied}

	close(st.writerDone)
	st.awaitAnswer(helloAt, fr, r.bud.heard)
	<-readerDone
	return true
}

// zcAnswer reads the server's answer to the hello and, from a bench
// server, its report once the sending is over.
func (r *runner) zcAnswer(fr *fdReader, hello []byte, st *streamState) {
	w := r.w
	s, err := sniff(fr, hello, make([]byte, wire.MaxLine))
	st.heard(s.bench, r.bud)
	var refused *errRefused
	switch {
	case errors.As(err, &refused):
		w.errs++
		w.err = err
		r.bud.cancel()
		return
	case err != nil:
		return // no answer (a sink), or the connection broke: the sender says
	}
	st.mu.Lock()
	if st.abandoned {
		st.mu.Unlock()
		return
	}
	st.bench = s.bench
	st.mu.Unlock()
	w.bench = s.bench
	if !s.bench {
		return
	}
	<-st.writerDone
	if err := unix.Shutdown(fr.fd, unix.SHUT_WR); err != nil {
		r.fail(os.NewSyscallError("shutdown", err))
		return
	}
	rep, err := readReport(fr, false, make([]byte, wire.MaxLine))
	if err != nil {
		w.errs++
		if w.err == nil {
			w.err = err
		}
		return
	}
	w.report = rep
}

// zcSend sends until the end, -n or an error.
func (r *runner) zcSend(z *zcState) {
	p := r.pacer()
	var sent int64
	for {
		// Paced first, then claimed: the claim of -n's last bytes ends the
		// run's context.
		if !p.Wait(r.ctx, sent, r.end) {
			return
		}
		chunk := r.take(int64(len(z.buf)))
		if chunk == 0 {
			return
		}
		for {
			n, err := unix.SendmsgN(z.fd, z.buf[:chunk], nil, nil, unix.MSG_ZEROCOPY|unix.MSG_DONTWAIT)
			if err == nil {
				z.sends++
				sent += int64(n)
				r.w.bytes.Add(int64(n))
				r.w.ops.Add(1)
				if z.sends%zcReapEvery == 0 {
					z.reap()
				}
				break
			}
			switch err {
			case unix.EINTR:
				continue
			case unix.EAGAIN, unix.ENOBUFS:
				// The socket is full, or its notifications are: wait for
				// room or for completions to read.
				left := time.Until(r.end)
				if left <= 0 || r.ctx.Err() != nil {
					return
				}
				fds := []unix.PollFd{{Fd: int32(z.fd), Events: unix.POLLOUT}}
				unix.Poll(fds, int(min(left, 100*time.Millisecond)/time.Millisecond)+1)
				z.reap()
				continue
			}
			r.fail(os.NewSyscallError("sendmsg", err))
			return
		}
		if !time.Now().Before(r.end) || r.ctx.Err() != nil {
			return
		}
	}
}

// reap reads the completions waiting on the error queue.
func (z *zcState) reap() {
	var oob [256]byte
	for {
		_, oobn, _, _, err := unix.Recvmsg(z.fd, nil, oob[:], unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return // EAGAIN: nothing (more) to read
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			continue
		}
		for _, m := range msgs {
			if !(m.Header.Level == unix.SOL_IP && m.Header.Type == unix.IP_RECVERR ||
				m.Header.Level == unix.SOL_IPV6 && m.Header.Type == unix.IPV6_RECVERR) ||
				len(m.Data) < int(unsafe.Sizeof(unix.SockExtendedErr{})) {
				continue
			}
			ee := (*unix.SockExtendedErr)(unsafe.Pointer(&m.Data[0]))
			if ee.Origin != unix.SO_EE_ORIGIN_ZEROCOPY || ee.Errno != 0 {
				continue
			}
			// Sends ee.Info to ee.Data (counters that wrap at 2^32) are done.
			n := int64(ee.Data-ee.Info) + 1
			z.done += n
			if ee.Code&unix.SO_EE_CODE_ZEROCOPY_COPIED != 0 {
				z.copied += n
			}
		}
	}
}

// drain waits up to d for the completions of every send.
func (z *zcState) drain(d time.Duration) {
	deadline := time.Now().Add(d)
	for z.reap(); z.done < z.sends; z.reap() {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		fds := []unix.PollFd{{Fd: int32(z.fd), Events: 0}} // POLLERR is always reported
		unix.Poll(fds, int(min(left, 100*time.Millisecond)/time.Millisecond)+1)
	}
}

// fdReader is the little of net.Conn that readReport needs, on a socket
// out of Go's poller: reads that wait with poll(2) until a deadline.
type fdReader struct {
	net.Conn // not used: only Read and SetReadDeadline are called
	fd       int
	deadline atomic.Int64 // UnixNano; another goroutine may move it
}

func (f *fdReader) SetReadDeadline(t time.Time) error {
	f.deadline.Store(t.UnixNano())
	return nil
}

func (f *fdReader) Read(b []byte) (int, error) {
	for {
		n, err := unix.Read(f.fd, b)
		switch {
		case err == nil && n == 0:
			return 0, io.EOF
		case err == nil:
			return n, nil
		case err == unix.EINTR:
			continue
		case err != unix.EAGAIN:
			return 0, os.NewSyscallError("read", err)
		}
		left := time.Until(time.Unix(0, f.deadline.Load()))
		if left <= 0 {
			return 0, os.ErrDeadlineExceeded
		}
		fds := []unix.PollFd{{Fd: int32(f.fd), Events: unix.POLLIN}}
		unix.Poll(fds, int(min(left, 100*time.Millisecond)/time.Millisecond)+1)
	}
}

func closeFD(fd int) { unix.Close(fd) }

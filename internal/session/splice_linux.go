package session

import (
	"io"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// spliceFrom moves a pipe's contents into a stream socket with splice(2),
// pipe to socket directly, so the bytes never enter sockit (head -c 4G
// /dev/zero | sockit connect …). It returns handled=false, having done
// nothing, when src is not a pipe or dst not a bare TCP or Unix stream
// socket; io.Copy then does what it can (sendfile for regular files).
func spliceFrom(dst net.Conn, src io.Reader) (written int64, handled bool, err error) {
	f, ok := src.(*os.File)
	if !ok {
		return 0, false, nil
	}
	switch c := dst.(type) {
	case *net.TCPConn:
	case *net.UnixConn:
		if c.LocalAddr().Network() != "unix" {
			return 0, false, nil
		}
	default:
		return 0, false, nil
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return 0, false, nil
	}
	sc, err := f.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	in := -1
	sc.Control(func(fd uintptr) { in = int(fd) })
	if fl, err := unix.FcntlInt(uintptr(in), unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK != 0 {
		// A non-blocking pipe belongs to the runtime's poller: leave it
		// to io.Copy.
		return 0, false, nil
	}
	rc, err := dst.(syscall.Conn).SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	// A larger pipe lets the writer (head, tar, a compressor) run ahead
	// instead of waking sockit for every few kilobytes it writes, and lets
	// one splice move up to a megabyte. Best effort: pipe-max-size may be
	// lower.
	unix.FcntlInt(uintptr(in), unix.F_SETPIPE_SZ, 1<<20)
	for {
		// Wait for the pipe here, not inside rc.Write: a system call that
		// blocks there holds the socket, and closing the conversation
		// would wait for stdin.
		pfd := []unix.PollFd{{Fd: int32(in), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, -1); err != nil && err != unix.EINTR {
			return written, true, os.NewSyscallError("poll", err)
		}
		var n int
		var serr error
		werr := rc.Write(func(fd uintptr) bool {
			hadData := false
			for {
				n, serr = splice(in, int(fd))
				if n > 0 {
					// Keep going while both sides are ready.
					written += int64(n)
					hadData = false
					continue
				}
				if serr != unix.EAGAIN {
					return true
				}
				// EAGAIN: the socket is full or the pipe is empty. Only
				// an EAGAIN with data known to be in the pipe before the
				// splice means the socket is full (wait for it: the
				// poller's edge comes when it drains); an empty pipe
				// means going back to waiting for the pipe.
				if hadData {
					return false
				}
				avail, err := unix.IoctlGetInt(in, unix.TIOCINQ)
				if err != nil || avail == 0 {
					return true
				}
				hadData = true
			}
		})
		if werr != nil {
			return written, true, werr
		}
		switch {
		case serr == unix.EINTR, serr == unix.EAGAIN:
		case serr != nil:
			if written == 0 && (serr == unix.EINVAL || serr == unix.ENOSYS) {
				return 0, false, nil // this kernel cannot: fall back
			}
			return written, true, os.NewSyscallError("splice", serr)
		case n == 0:
			return written, true, nil // the pipe's writer closed: EOF
		}
	}
}

func splice(in, out int) (int, error) {
	n, err := unix.Splice(in, nil, out, nil, 1<<20, unix.SPLICE_F_MOVE|unix.SPLICE_F_MORE|unix.SPLICE_F_NONBLOCK)
	return int(n), err
}

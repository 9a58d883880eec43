//go:build unix

package optfile

import (
	"os"
	"syscall"
)

// openNonblock opens path with O_NONBLOCK, so that a FIFO put in place
// after the Stat cannot block open(2), then clears it: the fd is a
// regular file's once Open has checked it, and reads must block.
func openNonblock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { syscall.SetNonblock(int(fd), false) })
	}
	return f, nil
}

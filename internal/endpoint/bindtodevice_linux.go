package endpoint

import (
	"os"

	"golang.org/x/sys/unix"
)

const bindDevSupported = true

func bindToDevice(fd int, dev string) error {
	if err := unix.BindToDevice(fd, dev); err != nil {
		return os.NewSyscallError("setsockopt SO_BINDTODEVICE", err)
	}
	return nil
}

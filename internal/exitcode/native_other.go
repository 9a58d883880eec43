//go:build !windows

package exitcode

import "syscall"

// nativeErrnos: Unix systems report the POSIX errnos themselves.
var nativeErrnos map[syscall.Errno]syscall.Errno

package exitcode

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// nativeErrnos maps what Winsock and overlapped I/O report to the errnos
// Code and Hint decide on.
var nativeErrnos = map[syscall.Errno]syscall.Errno{
	windows.WSAECONNREFUSED:           syscall.ECONNREFUSED,
	windows.ERROR_CONNECTION_REFUSED:  syscall.ECONNREFUSED,
	windows.WSAEHOSTUNREACH:           syscall.EHOSTUNREACH,
	windows.ERROR_HOST_UNREACHABLE:    syscall.EHOSTUNREACH,
	windows.WSAENETUNREACH:            syscall.ENETUNREACH,
	windows.ERROR_NETWORK_UNREACHABLE: syscall.ENETUNREACH,
	windows.ERROR_PORT_UNREACHABLE:    syscall.ECONNREFUSED,
	windows.WSAEADDRNOTAVAIL:          syscall.EADDRNOTAVAIL,
	windows.WSAEADDRINUSE:             syscall.EADDRINUSE,
	windows.WSAEACCES:                 syscall.EACCES,
	windows.WSAETIMEDOUT:              syscall.ETIMEDOUT,
	windows.WSAEMSGSIZE:               syscall.EMSGSIZE,
	windows.WSAECONNRESET:             syscall.ECONNRESET,
	windows.ERROR_NETNAME_DELETED:     syscall.ECONNRESET,
	windows.WSAECONNABORTED:           syscall.ECONNABORTED,
	windows.ERROR_CONNECTION_ABORTED:  syscall.ECONNABORTED,
	windows.WSAESHUTDOWN:              syscall.EPIPE,
}

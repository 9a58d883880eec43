//go:build unix

package sockittest

import (
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
)

// Reserved is a TCP port on 127.0.0.1 held by a socket that is bound but
// not listening: a connect to it is refused (a reset), and no one else
// can take the port meanwhile, as they could one that FreePort returned.
// Listen makes the socket listen, on the same port.
type Reserved struct {
	Addr string
	fd   int
	t    testing.TB
}

// ReservePort binds a TCP socket to a free port of 127.0.0.1 without
// listening on it; the test's end closes it.
func ReservePort(t testing.TB) *Reserved {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	syscall.CloseOnExec(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		t.Fatal(err)
	}
	r := &Reserved{Addr: "127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port), fd: fd, t: t}
	t.Cleanup(func() {
		if r.fd >= 0 {
			syscall.Close(r.fd)
		}
	})
	return r
}

// Listen starts listening on the reserved port and returns the listener,
// which the test's end closes. It can be called once.
func (r *Reserved) Listen() net.Listener {
	r.t.Helper()
	if err := syscall.Listen(r.fd, 128); err != nil {
		r.t.Fatal(err)
	}
	f := os.NewFile(uintptr(r.fd), "reserved "+r.Addr)
	r.fd = -1
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { ln.Close() })
	return ln
}

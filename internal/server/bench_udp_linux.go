//go:build linux && !sockit_portable

package server

import (
	"net"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/udpbatch"
)

// benchReader reads datagrams in batches with recvmmsg; with UDP_GRO a
// train sent with UDP_SEGMENT arrives as one buffer and is split here.
type benchReader struct {
	rc    syscall.RawConn
	msgs  [batch]udpbatch.Msg
	iovs  [batch]unix.Iovec
	names [batch]unix.RawSockaddrAny
	bufs  [batch][]byte
	ctls  [batch][64]byte
	gro   bool
	out   []benchDatagram
}

func newBenchReader(pc *net.UDPConn) (*benchReader, error) {
	rc, err := pc.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &benchReader{rc: rc, out: make([]benchDatagram, 0, batch*64)}
	for i := range r.msgs {
		r.bufs[i] = make([]byte, 65536)
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(len(r.bufs[i]))
		r.msgs[i].Hdr.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		r.msgs[i].Hdr.Iov = &r.iovs[i]
		r.msgs[i].Hdr.SetIovlen(1)
	}
	r.gro = udpbatch.SetGRO(rc)
	return r, nil
}

// read reads one batch and hands it to fn with the time it was read.
func (r *benchReader) read(fn func([]benchDatagram, time.Time)) error {
	defer runtime.KeepAlive(r)
	for i := range r.msgs {
		r.msgs[i].Hdr.Namelen = uint32(unsafe.Sizeof(r.names[i]))
		r.msgs[i].Hdr.Flags = 0
		if r.gro {
			r.msgs[i].Hdr.Control = &r.ctls[i][0]
			r.msgs[i].Hdr.SetControllen(len(r.ctls[i]))
		}
	}
	n, errno, err := udpbatch.Recv(r.rc, r.msgs[:])
	if err != nil {
		return err
	}
	if errno != 0 {
		if errno == unix.EINTR || errno == unix.ECONNREFUSED {
			return nil
		}
		return errno
	}
	now := time.Now()
	r.out = r.out[:0]
	for i := 0; i < n; i++ {
		ap, ok := addrPortOf(&r.names[i])
		if !ok {
			continue
		}
		b := r.bufs[i][:r.msgs[i].Len]
		seg := 0
		if r.gro {
			seg = udpbatch.GROSize(r.ctls[i][:], int(r.msgs[i].Hdr.Controllen))
		}
		if seg <= 0 || seg >= len(b) {
			r.out = append(r.out, benchDatagram{ap, b})
			continue
		}
		for len(b) > 0 {
			l := min(seg, len(b))
			r.out = append(r.out, benchDatagram{ap, b[:l]})
			b = b[l:]
		}
	}
	fn(r.out, now)
	return nil
}

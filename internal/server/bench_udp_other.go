//go:build !linux || sockit_portable

package server

import (
	"net"
	"time"
)

// benchReader reads one datagram at a time.
type benchReader struct {
	pc  *net.UDPConn
	buf []byte
	out [1]benchDatagram
}

func newBenchReader(pc *net.UDPConn) (*benchReader, error) {
	return &benchReader{pc: pc, buf: make([]byte, 65536)}, nil
}

func (r *benchReader) read(fn func([]benchDatagram, time.Time)) error {
	n, ap, err := r.pc.ReadFromUDPAddrPort(r.buf)
	if err != nil {
		return err
	}
	r.out[0] = benchDatagram{ap, r.buf[:n]}
	fn(r.out[:], time.Now())
	return nil
}

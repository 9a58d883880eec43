//go:build !linux || sockit_portable

package server

import (
	"context"
	"errors"
	"net"

	"github.com/sockit/sockit/internal/endpoint"
)

// FastPacketEcho reports whether an echo server's datagrams can take the
// batched path; only Linux has it.
func (s *Server) FastPacketEcho() bool { return false }

// ServePacketEcho is only available on Linux.
func (s *Server) ServePacketEcho(ctx context.Context, pcs []net.PacketConn) error {
	return errors.New("batched echo needs Linux")
}

// ListenPacketPerCore binds one socket on systems without the batched path.
func ListenPacketPerCore(ctx context.Context, lc *endpoint.ListenConfig, ep endpoint.Endpoint, n int) ([]net.PacketConn, error) {
	pc, err := lc.ListenPacket(ctx, ep)
	if err != nil {
		return nil, err
	}
	return []net.PacketConn{pc}, nil
}

package cli

import (
	"context"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/server"
)

// serveBench runs listen --bench on a datagram endpoint: the datagrams are
// counted on one socket per core.
func serveBench(ctx context.Context, srv *server.Server, lc *endpoint.ListenConfig, ep endpoint.Endpoint) error {
	if !ep.IsUDP() {
		return exitcode.Usagef("--bench on datagrams needs a udp:// endpoint, not %s", ep.Scheme)
	}
	if lc.Buffer == 0 {
		// Room for bursts: a one-way sender has nothing to slow it down.
		cfg := *lc
		cfg.Buffer = 4 << 20
		lc = &cfg
	}
	pcs, err := server.ListenPacketPerCore(ctx, lc, ep, 0)
	if err != nil {
		return err
	}
	return srv.ServePacketBench(ctx, pcs)
}

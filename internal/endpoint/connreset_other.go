//go:build !linux || sockit_portable

package endpoint

import (
	"net"
	"syscall"
)

// heldSockets is Linux-only (it needs the kernel's TCP state to tell a
// socket that received bytes before its reset); elsewhere a connect that
// a reset overtook fails, as Go reports it.
type heldSockets struct{}

func (h *heldSockets) control(next func(network, address string, c syscall.RawConn) error) func(network, address string, c syscall.RawConn) error {
	return next
}

func (h *heldSockets) rescue(error) net.Conn { return nil }

func (h *heldSockets) release() {}

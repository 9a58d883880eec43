//go:build !linux || sockit_portable

package server

import (
	"context"
	"net"
)

// echoOnLoop needs epoll (Linux); elsewhere echo runs a goroutine per
// connection.
func echoOnLoop(ctx context.Context, nc net.Conn) (int64, bool, error) { return 0, false, nil }

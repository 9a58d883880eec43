//go:build !linux || sockit_portable

package tcpsock

import (
	"syscall"

	"github.com/sockit/sockit/internal/bench/wire"
)

// Supported is true where the options of this package work.
const Supported = false

func infoOf(syscall.RawConn, *wire.TCPInfo) bool { return false }

func congestionOf(syscall.RawConn) string { return "" }

// SetCongestionFD sets TCP_CONGESTION on a socket: Linux only.
func SetCongestionFD(uintptr, string) error { return ErrUnsupported }

// SetMSSFD sets TCP_MAXSEG on a socket: Linux only here.
func SetMSSFD(uintptr, int) error { return ErrUnsupported }

func setPacingFD(uintptr, int64) error { return ErrUnsupported }

// Available lists the congestion control algorithms the kernel has.
func Available() ([]string, error) { return nil, ErrUnsupported }

// InfoFD is Info for a socket's descriptor: Linux only.
func InfoFD(int) (wire.TCPInfo, bool) { return wire.TCPInfo{}, false }

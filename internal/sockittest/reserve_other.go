//go:build !unix

package sockittest

import (
	"net"
	"testing"
)

// Reserved is a port held but not listened on (unix only).
type Reserved struct{ Addr string }

// ReservePort skips the test: it needs a socket bound without listening.
func ReservePort(t testing.TB) *Reserved {
	t.Skip("a TCP socket bound but not listening is made on unix only")
	return nil
}

// Listen is not reached.
func (r *Reserved) Listen() net.Listener { return nil }

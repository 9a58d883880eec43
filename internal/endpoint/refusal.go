package endpoint

import (
	"errors"
	"io"
	"net"
	"syscall"
)

// Refusal tells a server's refusal apart from a conversation that broke:
// it returns a *RefusedError when err, met by a client on nc,
// comes from a connection the server reset at once, that is before it
// sent a single byte and before it could have read anything (sockit's
// servers refuse that way: see server.refuse), and nil otherwise. A peer
// that never reads acknowledges at most its first receive buffer; one
// that took more of what this side sent read it, and its reset broke a
// conversation (exit 6). Whatever the client was doing when the reset
// came (reading, writing, shutting down, or reading an EOF after another
// call took the reset's error), the answer is the same, so a refused
// client reports one line and one exit code every time.
//
// shut says that the client has shut down its sending side: then an EOF
// on a closed connection may be an orderly close and is not a refusal.
// Only TCP connections (under TLS too) on systems where the kernel tells
// the connection's state are judged; elsewhere Refusal returns nil.
func Refusal(nc net.Conn, ep string, err error, shut bool) error {
	if err == nil || !resetLike(err, shut) {
		return nil
	}
	closed, received, acked, ok := tcpState(nc)
	if !ok || !closed || received > 0 || acked > unreadBound() {
		return nil
	}
	return &RefusedError{Endpoint: ep, Err: err}
}

// resetLike reports the errors a reset shows as: the reset itself, a
// write or shutdown after it, or an EOF once another call took its error.
func resetLike(err error, shut bool) bool {
	switch {
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ENOTCONN), errors.Is(err, syscall.ECONNABORTED):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return !shut
	}
	return false
}

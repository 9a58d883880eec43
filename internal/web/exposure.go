package web

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/sockit/sockit/internal/endpoint"
)

// A page can open servers, and a server that other machines (or other
// users of this one) can reach is a step the person at the page should
// take knowingly: as `sockit ui --addr` warns for the UI itself, opening
// a listener on every interface, on an address other machines can reach,
// or on a Unix socket path asks for a confirmation in the page. The
// server enforces it: the open command must carry "confirm": true, so a
// script driving the WebSocket cannot skip the question either, and each
// confirmed open is logged on sockit's stderr.

// exposure says who besides this machine's loopback can reach what the
// session listens on, or "" when nobody can (loopback, or a client).
func exposure(k kind, ep endpoint.Endpoint) string {
	if k != kindServer && k != kindUDP {
		return ""
	}
	if ep.IsUnix() {
		where := ep.Path
		if strings.HasPrefix(where, "@") {
			return fmt.Sprintf("the abstract Unix socket %s, which any program on this machine can connect to", where)
		}
		return fmt.Sprintf("the Unix socket %s, which other programs and users of this machine may connect to", where)
	}
	port := strconv.Itoa(ep.Port)
	if ep.Host == "" {
		return fmt.Sprintf("every network interface (port %s), which other machines can reach", port)
	}
	if strings.EqualFold(ep.Host, "localhost") {
		return ""
	}
	ip, err := netip.ParseAddr(ep.Host)
	switch {
	case err != nil:
		return fmt.Sprintf("%s, a name that may stand for an address other machines can reach", net.JoinHostPort(ep.Host, port))
	case ip.IsLoopback():
		return ""
	case ip.IsUnspecified():
		return fmt.Sprintf("every network interface (%s), which other machines can reach", net.JoinHostPort(ep.Host, port))
	}
	return fmt.Sprintf("%s, an address other machines can reach", net.JoinHostPort(ep.Host, port))
}

// confirmError refuses an open that needs the page's confirmation; the
// reply carries the question for the page to ask.
type confirmError struct {
	kind  kind
	where string
}

func (e *confirmError) Error() string {
	return "opening a " + kindTitle(e.kind) + " on " + e.where + " needs your confirmation"
}

// question is what the page asks.
func (e *confirmError) question() string {
	return "Open a " + kindTitle(e.kind) + " on " + e.where + "?"
}

func kindTitle(k kind) string {
	if k == kindUDP {
		return "UDP socket"
	}
	return "TCP server"
}

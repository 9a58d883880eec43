package cli

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"github.com/sockit/sockit/internal/endpoint"
)

// endpointFlags are the options of the endpoint kinds beyond TCP and UDP
// (issue 14): IP socket options, multicast, WebSocket, and retrying a
// connect. They only fill in endpoint.Dialer and endpoint.ListenConfig.
type endpointFlags struct {
	ttl, tos    int
	bindDev     string
	iface       string
	mcastLoop   bool
	joinSource  string
	broadcast   bool
	headers     []string
	wsProtocols []string
	wsBinary    bool
	wsPing      time.Duration
	retry       int
	retryDelay  time.Duration
	forever     bool
}

// register adds the flags a command takes: dial for commands that
// connect (or relay to a target), listen for those that listen.
func (f *endpointFlags) register(fs *pflag.FlagSet, dial, listen bool) {
	f.mcastLoop = true
	fs.IntVar(&f.ttl, "ttl", 0, "IP TTL (hop limit) of packets sent, 1-255; on UDP also the multicast TTL (0: the system's)")
	fs.IntVar(&f.tos, "tos", 0, "IP TOS / traffic class byte of packets sent, e.g. 0xb8 (DSCP EF)")
	fs.StringVar(&f.bindDev, "bind-dev", "", "SO_BINDTODEVICE: use only this network interface (Linux)")
	fs.StringVar(&f.iface, "iface", "", "multicast: the interface (name or address) to join on or send from")
	fs.BoolVar(&f.mcastLoop, "multicast-loop", true, "multicast: deliver our own datagrams to the group's receivers on this host too")
	fs.StringSliceVar(&f.wsProtocols, "ws-protocol", nil, "WebSocket subprotocol to offer (client) or accept (server); repeat or comma-separate")
	fs.BoolVar(&f.wsBinary, "ws-binary", false, "send WebSocket binary messages only (default: text when valid UTF-8, binary otherwise)")
	fs.Var(seconds{d: &f.wsPing}, "ws-ping", "send a WebSocket ping this often and close if no pong comes back, e.g. 10s")
	if listen {
		fs.StringVar(&f.joinSource, "join-source", "", "multicast: join source-specifically, taking datagrams from this address only")
	}
	if dial {
		fs.BoolVar(&f.broadcast, "broadcast", false, "SO_BROADCAST: allow sending UDP to a broadcast address")
		fs.StringArrayVarP(&f.headers, "header", "H", nil, "WebSocket: an extra HTTP header for the handshake, 'Name: value' (repeatable)")
		fs.IntVar(&f.retry, "retry", 0, "if connecting fails, try again this many times, waiting longer each time")
		fs.Var(seconds{d: &f.retryDelay}, "retry-delay", "the first wait before trying again, doubled each time up to 30s (default 1s)")
		fs.BoolVar(&f.forever, "forever", false, "if connecting fails, keep trying until it works (or Ctrl-C)")
	}
}

func (f *endpointFlags) sockopts() endpoint.Sockopts {
	return endpoint.Sockopts{TTL: f.ttl, TOS: f.tos, BindDev: f.bindDev, Broadcast: f.broadcast}
}

func (f *endpointFlags) webSocket() endpoint.WebSocket {
	return endpoint.WebSocket{Protocols: f.wsProtocols, Binary: f.wsBinary, Ping: f.wsPing}
}

// dialer sets d's options from the flags; retries are reported on errw.
func (f *endpointFlags) dialer(d *endpoint.Dialer, errw io.Writer) error {
	d.Sockopts = f.sockopts()
	if err := d.Sockopts.Check(); err != nil {
		return err
	}
	d.Multicast = endpoint.Multicast{Iface: f.iface, NoLoop: !f.mcastLoop}
	d.WebSocket = f.webSocket()
	if len(f.headers) > 0 {
		d.WebSocket.Header = http.Header{}
		for _, h := range f.headers {
			if err := endpoint.ParseHeader(d.WebSocket.Header, h); err != nil {
				return err
			}
		}
	}
	d.Retry = endpoint.Retry{Times: f.retry, Forever: f.forever, Delay: f.retryDelay}
	if err := d.Retry.Check(); err != nil {
		return err
	}
	if f.retry > 0 || f.forever {
		total := fmt.Sprintf(" of %d", f.retry)
		if f.forever {
			total = ""
		}
		d.Retry.OnRetry = func(n int, err error, wait time.Duration) {
			fmt.Fprintf(errw, "sockit: %v; trying again in %s (retry %d%s)\n", err, wait, n, total)
		}
	}
	return nil
}

// listen sets lc's options from the flags.
func (f *endpointFlags) listen(lc *endpoint.ListenConfig) error {
	lc.Sockopts = f.sockopts()
	lc.Sockopts.Broadcast = false
	if err := lc.Sockopts.Check(); err != nil {
		return err
	}
	lc.Multicast = endpoint.Multicast{Iface: f.iface, Source: f.joinSource, NoLoop: !f.mcastLoop}
	lc.WebSocket = f.webSocket()
	return nil
}

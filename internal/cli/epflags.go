package cli

import (
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/talk"
)

// endpointFlags are the options of the endpoint kinds beyond TCP and UDP
// (issue 14): IP socket options, multicast, WebSocket, and retrying a
// connect. They fill in talk.Options, which checks them and hands them to
// endpoint.Dialer and endpoint.ListenConfig.
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
		fs.IntVar(&f.retry, "retry", 0, "if connecting fails, try again this many times, waiting longer each time (connect: also when the server goes away later)")
		fs.Var(seconds{d: &f.retryDelay}, "retry-delay", "the first wait before trying again, doubled each time up to 30s (default 1s)")
		fs.BoolVar(&f.forever, "forever", false, "if connecting fails, keep trying until it works (or Ctrl-C); connect: also reconnect whenever the server goes away")
	}
}

// apply sets the options these flags stand for. The tries of a connect
// (--retry, --forever) are retry events, which the front end shows
// (talk.Setup.Dial, talk.Redial, relay's Forward).
func (f *endpointFlags) apply(o *talk.Options) error {
	o.Sockopts = endpoint.Sockopts{TTL: f.ttl, TOS: f.tos, BindDev: f.bindDev, Broadcast: f.broadcast}
	o.Multicast = endpoint.Multicast{Iface: f.iface, Source: f.joinSource, NoLoop: !f.mcastLoop}
	o.WebSocket = endpoint.WebSocket{Protocols: f.wsProtocols, Binary: f.wsBinary, Ping: f.wsPing}
	if len(f.headers) > 0 {
		o.WebSocket.Header = http.Header{}
		for _, h := range f.headers {
			if err := endpoint.ParseHeader(o.WebSocket.Header, h); err != nil {
				return err
			}
		}
	}
	o.Retry = endpoint.Retry{Times: f.retry, Forever: f.forever, Delay: f.retryDelay}
	return nil
}

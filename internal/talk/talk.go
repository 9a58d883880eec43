// Package talk sets up one conversation the way both front ends do it: a
// client that dials an endpoint, or a server that listens on one and
// talks to its clients. The command line fills Options from its flags,
// the web UI from its form; both call New, which states each rule between
// options once (TLS needs a TCP endpoint, a framing other than line needs
// a stream…), with one wording and one outcome, and returns a Setup: the
// parsed endpoint, the dialer or the listening side, the framing, the
// encodings, the composer of messages sent, the server and its behaviour.
//
// A new option or endpoint kind is added here (and in endpoint), once;
// each front end then only binds a flag or a form field to it.
//
// It does not read stdin, print, or open files of its own: observers
// (Observer) and the front end's stdio plumbing do that.
package talk

import (
	"io"
	"time"

	"github.com/sockit/sockit/internal/checksum"
	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/server"
	"github.com/sockit/sockit/internal/session"
)

// Role says which side of the conversation this end is.
type Role uint8

const (
	Client Role = iota // dial Endpoint
	Server             // listen on Endpoint and serve who comes
)

// Options are everything one conversation needs. The zero value is a TCP
// client that sends and shows UTF-8 text as it is, with no endpoint yet.
type Options struct {
	Role     Role
	Endpoint string // as the user wrote it: tcp://HOST:PORT, udp://…, HOST:PORT, :PORT…
	UDP      bool   // HOST:PORT and PORT mean udp:// (-u; the web UI's UDP sessions)
	Family   int    // 4 or 6 forces the address family; 0 either

	// TLS asks for TLS on a TCP endpoint (a tls:// endpoint needs none);
	// TLSOptions are the certificates, pins and versions, which only a
	// TLS endpoint takes.
	TLS        bool
	TLSOptions endpoint.TLSOptions

	// Sockets. Source, Proxy, Timeout, KeepAlive, Nagle and NoDNS are a
	// client's; NoReuseAddr a server's; the rest both.
	Source      string        // local address or port to send from
	Proxy       string        // socks5:// or http:// proxy to connect through
	Timeout     time.Duration // give up connecting after this long; 0: the system's limit
	KeepAlive   time.Duration // TCP keepalive period; 0: Go's default
	Nagle       bool          // leave Nagle's algorithm on
	NoDNS       bool          // numeric addresses only
	NoReuseAddr bool          // no SO_REUSEADDR on the listening socket
	Buffer      int           // SO_SNDBUF and SO_RCVBUF; 0: the system's
	Trace       endpoint.Tracer
	Idle        time.Duration // close a conversation this long without traffic; 0: never (UDP and DTLS servers: 60s)

	// The endpoint kinds' own options: IP socket options, multicast
	// (Multicast.Source is a listener's), WebSocket, and retrying a
	// connect (a client's).
	Sockopts  endpoint.Sockopts
	Multicast endpoint.Multicast
	WebSocket endpoint.WebSocket
	Retry     endpoint.Retry
	// ListenSends says a UDP server's socket also sends datagrams of its
	// own to any address (the web UI's UDP sessions): Sockopts.Broadcast
	// then applies to it (without it, it cannot send to a broadcast
	// address), as do the multicast interface and loop for sending.
	ListenSends bool

	// Messages.
	Frame        string // framing on streams: raw, line, delim:HEX, fixed:N, lenN…
	MaxMessage   int    // largest framed message; 0: frame.DefaultMax
	Encoding     string // text encoding both ways; "": UTF-8
	SendEncoding string // of text sent; "": Encoding
	RecvEncoding string // of text received; "": Encoding
	Input        Input  // how what is typed or piped becomes a message
	// VerifyChecksum reports messages received whose trailing
	// Input.Checksum is wrong, as error events.
	VerifyChecksum bool

	// The conversation.
	SendOnly, RecvOnly bool
	Wait               time.Duration // datagrams: after the input ends, wait this long for replies
	Delay              time.Duration // pause between messages sent
	Observers          []Observer    // who sees its events; more can be added to the Setup

	// A server's.
	Behaviour Behaviour
	Reply     string   // Reply: the answer to messages no Respond rule matches (TEXT, @FILE, hex:…)
	Respond   []string // Reply: 'PATTERN=>REPLY' rules, the first match wins
	Exec      string   // Exec: the command run for each conversation
	Forward   string   // Forward: the endpoint each conversation is relayed to
	// Handler, if set, is the front end's own behaviour (the web UI's
	// rules, which change while it runs); Behaviour is then ignored.
	Handler    server.Handler
	ExecStderr io.Writer // Exec: where the commands' stderr goes; nil discards it
	KeepOpen   bool      // serve many clients; without it a stream server serves one (datagram servers serve all)
	Admission            // who the server lets in
}

// Admission is who a server or a relay lets in, as the user gave it.
type Admission struct {
	// MaxConns caps the conversations at once: 0 is the default for the
	// kind of server (server.Server.MaxConns; Exec: server.DefaultMaxExec),
	// negative is no cap.
	MaxConns int
	// Allow and Deny are address lists ("CIDR,…" or "@FILE"); nil is no
	// list, and an empty list given as Allow admits no one.
	Allow, Deny *string
}

// The options this package's errors name (see fail.Option).
const (
	OptFrame                      = frame.OptFrame
	OptMaxMessage                 = frame.OptMaxMessage
	OptTLS                        = endpoint.OptTLS
	OptChecksum       fail.Option = "checksum"
	OptVerifyChecksum fail.Option = "verify-checksum"
	OptSendOnly       fail.Option = "send-only"
	OptRecvOnly       fail.Option = "recv-only"
	OptAllow                      = server.OptAllow
	OptDeny                       = server.OptDeny
	OptExec                       = server.OptExec
	OptExpect         fail.Option = "expect" // the pattern a reply must match
	OptWait                       = session.OptWait
)

// Setup is a conversation set up from Options, checked and parsed, with
// nothing opened yet.
type Setup struct {
	opt      Options
	ep       endpoint.Endpoint
	spec     frame.Spec
	send     *codec.Encoding
	recv     *codec.Encoding
	compose  *session.Compose
	dialer   *endpoint.Dialer
	listen   *Listening
	handler  server.Handler
	allow    *server.ACL
	deny     *server.ACL
	verify   *checksum.Algo
	observer []Observer
}

// Validate checks opt as New does, without keeping what it builds.
func (opt Options) Validate() error {
	_, err := New(opt)
	return err
}

// New checks opt and sets the conversation up. Every rule between
// options is here; an error is bad input (fail.BadInput) that names the
// options at fault, except for what reading a file named by an option
// (a certificate, an address list) meets.
func New(opt Options) (*Setup, error) {
	s := &Setup{opt: opt, observer: append([]Observer(nil), opt.Observers...)}
	ep, err := opt.ParseEndpoint()
	if err != nil {
		return nil, err
	}
	if s.ep, err = withTLS(ep, opt); err != nil {
		return nil, err
	}
	if s.send, s.recv, err = opt.encodings(); err != nil {
		return nil, err
	}
	if s.spec, err = frame.Parse(opt.Frame); err != nil {
		return nil, err
	}
	if s.ep.Messages() && !s.spec.IsRaw() && s.spec.Kind != frame.Line {
		// Line framing on datagrams (and other messages) cuts the input
		// into one message per line; no framing can cut a message
		// further.
		return nil, fail.Inputf("%s %s is for streams, not %s", OptFrame, s.spec, s.ep.Scheme).
			WithHint("Note that each UDP datagram (WebSocket message, DTLS record) is already one message; %s line splits stdin into one message per line.", OptFrame)
	}
	if s.compose, err = opt.Input.Compose(s.send, opt.MaxMessage); err != nil {
		return nil, err
	}
	if opt.VerifyChecksum {
		if opt.Input.Checksum == "" {
			return nil, fail.Inputf("%s needs %s ALGO", OptVerifyChecksum, OptChecksum)
		}
		s.verify = s.compose.Checksum
	}
	if opt.SendOnly && opt.RecvOnly {
		return nil, fail.Inputf("%s and %s exclude each other", OptSendOnly, OptRecvOnly)
	}
	if opt.Role == Client {
		if s.dialer, err = NewDialer(s.ep, opt); err != nil {
			return nil, err
		}
		return s, nil
	}
	if err := s.serverSide(); err != nil {
		return nil, err
	}
	return s, nil
}

// ParseEndpoint parses the endpoint as New does (before TLS is applied).
func (opt Options) ParseEndpoint() (endpoint.Endpoint, error) {
	return endpoint.Parse(opt.Endpoint, endpoint.Options{UDP: opt.UDP, Listen: opt.Role == Server, Family: opt.Family})
}

// withTLS applies the TLS option to ep, and refuses TLS options that a
// plain endpoint would ignore: the user meant TLS, or the option is a
// slip.
func withTLS(ep endpoint.Endpoint, opt Options) (endpoint.Endpoint, error) {
	if opt.TLS {
		return ep.WithTLS()
	}
	if name := tlsGiven(opt.TLSOptions); name != "" && !ep.IsTLS() {
		return ep, fail.Inputf("%s applies to TLS, and %s is not a TLS endpoint", name, ep).
			WithHint("Note that TLS options take a tls://, wss:// or dtls:// endpoint, or %s.", OptTLS)
	}
	return ep, nil
}

// tlsGiven names one TLS option that was set, or "".
func tlsGiven(o endpoint.TLSOptions) fail.Option {
	for _, c := range []struct {
		name fail.Option
		set  bool
	}{
		{endpoint.OptCert, o.Cert != ""}, {endpoint.OptKey, o.Key != ""}, {endpoint.OptCA, o.CA != ""},
		{endpoint.OptPin, o.Pin != ""}, {endpoint.OptInsecure, o.Insecure}, {endpoint.OptSNI, o.SNI != ""},
		{endpoint.OptClientCert, o.ClientCert != ""}, {endpoint.OptClientKey, o.ClientKey != ""},
		{endpoint.OptALPN, len(o.ALPN) > 0}, {endpoint.OptTLSMin, o.Min != "" && o.Min != "1.2"},
	} {
		if c.set {
			return c.name
		}
	}
	return ""
}

// encodings resolves the send and receive encodings.
func (opt Options) encodings() (send, recv *codec.Encoding, err error) {
	name := func(specific string) string {
		if specific != "" {
			return specific
		}
		return opt.Encoding
	}
	if send, err = codec.Lookup(name(opt.SendEncoding)); err != nil {
		return nil, nil, err
	}
	if recv, err = codec.Lookup(name(opt.RecvEncoding)); err != nil {
		return nil, nil, err
	}
	return send, recv, nil
}

// NewDialer is the dialer of a client of ep with opt's socket, endpoint
// kind and TLS options (relay dials its upstream with it too).
func NewDialer(ep endpoint.Endpoint, opt Options) (*endpoint.Dialer, error) {
	d := &endpoint.Dialer{
		Timeout:   opt.Timeout,
		Source:    opt.Source,
		KeepAlive: opt.KeepAlive,
		Nagle:     opt.Nagle,
		Buffer:    opt.Buffer,
		NoDNS:     opt.NoDNS,
		Proxy:     opt.Proxy,
		Trace:     opt.Trace,
		Sockopts:  opt.Sockopts,
		Multicast: endpoint.Multicast{Iface: opt.Multicast.Iface, NoLoop: opt.Multicast.NoLoop},
		WebSocket: opt.WebSocket,
		Retry:     opt.Retry,
	}
	if err := d.Sockopts.Check(); err != nil {
		return nil, err
	}
	if err := d.Retry.Check(); err != nil {
		return nil, err
	}
	if ep.IsTLS() {
		cfg, err := opt.TLSOptions.Client()
		if err != nil {
			return nil, err
		}
		d.TLS = cfg
	}
	return d, nil
}

// Endpoint is the endpoint, parsed (tls:// when TLS was asked for).
func (s *Setup) Endpoint() endpoint.Endpoint { return s.ep }

// Options are the options the set-up was made from.
func (s *Setup) Options() Options { return s.opt }

// Frame is the framing on streams (raw on datagrams, whatever was asked:
// line framing there only cuts the input into lines).
func (s *Setup) Frame() frame.Spec { return s.spec }

// Encodings are the send and receive encodings.
func (s *Setup) Encodings() (send, recv *codec.Encoding) { return s.send, s.recv }

// Compose is the composer of messages sent from the input (Options.Input);
// SetEncoding on it changes the send encoding while the conversation runs.
func (s *Setup) Compose() *session.Compose { return s.compose }

// Dialer is a client's dialer (nil for a server).
func (s *Setup) Dialer() *endpoint.Dialer { return s.dialer }

// Transcoding reports whether an encoding other than UTF-8 was asked for.
func (s *Setup) Transcoding() bool {
	o := s.opt
	return o.Encoding != "" || o.SendEncoding != "" || o.RecvEncoding != ""
}

// Session is the options of one conversation numbered id: its framing,
// limits, idle timeout and observers. A server sets the number itself.
func (s *Setup) Session(id uint64) session.Options {
	opt := session.Options{
		ID:          id,
		Proto:       s.ep.Proto(),
		Frame:       s.spec,
		MaxMessage:  s.opt.MaxMessage,
		Sink:        s.Sink(),
		IdleTimeout: s.opt.Idle,
		Packet:      s.ep.Messages(),
		NoData:      s.NoData(),
	}
	if s.opt.Role == Server && (s.ep.IsUDP() || s.ep.Scheme == "dtls") && s.opt.Idle == 0 {
		opt.IdleTimeout = DefaultPacketIdle // a peer that vanishes says nothing
	}
	return opt
}

// DefaultPacketIdle is how long a UDP (or DTLS) server keeps a peer that
// sends nothing, unless Options.Idle says otherwise.
const DefaultPacketIdle = 60 * time.Second

// Lines reports whether input (stdin, a file) is cut into lines, each
// made into one message by Compose: when composing changes what is sent,
// or the framing (line framing too on datagrams) makes each line a
// message. Otherwise input is sent as it comes, byte for byte (on
// datagrams each read one datagram).
func (s *Setup) Lines() bool {
	return !s.compose.Passthrough() || !s.spec.IsRaw()
}

// PerMessage reports whether what arrives is read as messages (framed,
// datagrams, WebSocket messages, DTLS records) rather than as a byte
// stream cut wherever reads end.
func (s *Setup) PerMessage() bool {
	return s.ep.Messages() || !s.spec.IsRaw()
}

// Pipe is pipe mode for conversation c: what is read from In goes to c,
// cut and composed as Lines says, with the conversation's pacing and
// directions. The front end sets In, Out and the end-of-input options.
func (s *Setup) Pipe(c *session.Conn) *session.Pipe {
	p := &session.Pipe{
		SendOnly: s.opt.SendOnly,
		RecvOnly: s.opt.RecvOnly,
		Wait:     s.opt.Wait,
		Delay:    s.opt.Delay,
		// A server that has nothing to say does not end the
		// conversation.
		QuietKeepsOpen: s.opt.Role == Server,
	}
	if s.Lines() {
		p.Lines = true
		p.Compose = func(dst, line []byte) ([]byte, error) { return s.compose.Message(dst, line, c.Peer()) }
	}
	return p
}

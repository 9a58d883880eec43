package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/sockit/sockit/internal/checksum"
	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/console"
	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/session"
)

// netFlags are the connection options of SPEC §2.3.
type netFlags struct {
	udp, ipv4, ipv6, noDNS bool
	source                 string
	timeout, idle, wait    time.Duration
	keepalive              time.Duration
	nodelay, reuseaddr     bool
	buffer                 int64
	sendOnly, recvOnly     bool
	delay                  time.Duration
	proxy                  string
	trace                  bool
	verbose                bool
	ep                     endpointFlags
}

func (f *netFlags) register(fs *pflag.FlagSet, listen bool) {
	fs.BoolVarP(&f.udp, "udp", "u", false, "UDP: HOST:PORT means udp://HOST:PORT")
	fs.BoolVarP(&f.ipv4, "ipv4", "4", false, "IPv4 only")
	fs.BoolVarP(&f.ipv6, "ipv6", "6", false, "IPv6 only")
	fs.BoolVarP(&f.noDNS, "no-dns", "n", false, "numeric addresses only, never look up names")
	fs.VarP(seconds{d: &f.idle}, "idle-timeout", "i", "close a conversation after this long without traffic, e.g. 30s or 2m (0: never; UDP servers: 60s)")
	fs.BoolVar(&f.nodelay, "nodelay", true, "TCP_NODELAY: send small writes at once")
	fs.Var(byteSize{n: &f.buffer, max: maxBuffer}, "buffer", "socket send and receive buffer size (SO_SNDBUF/SO_RCVBUF), e.g. 4M (0: the system's)")
	fs.BoolVar(&f.sendOnly, "send-only", false, "only send; ignore what arrives")
	fs.BoolVar(&f.recvOnly, "recv-only", false, "only receive; never read stdin")
	fs.VarP(seconds{d: &f.delay}, "delay", "d", "pause between messages sent, e.g. 100ms")
	fs.BoolVar(&f.trace, "trace", false, "print each socket step (socket, bind, listen, accept, connect, send, recv, close) on stderr")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "report connections and closes on stderr in pipe mode")
	f.ep.register(fs, !listen, listen)
	if listen {
		fs.BoolVar(&f.reuseaddr, "reuseaddr", true, "SO_REUSEADDR: restart on a port still in TIME_WAIT (Windows: always SO_EXCLUSIVEADDRUSE instead)")
		return
	}
	fs.StringVarP(&f.source, "source", "s", "", "local address or port to send from (ADDR, PORT or ADDR:PORT)")
	fs.Var(seconds{d: &f.wait}, "wait", "how long to wait for replies after sending (UDP, send); 0 does not wait")
	fs.VarP(seconds{d: &f.timeout}, "timeout", "w", "give up connecting (and resolving) after this long, e.g. 5 or 2s (0: the system's own limit)")
	fs.Var(seconds{d: &f.keepalive}, "keepalive", "TCP keepalive probe period, e.g. 30s (0: Go's default, 15s)")
	fs.Var(proxyFlag{&f.proxy}, "proxy", "connect through socks5://[user:pass@]HOST:PORT or http://HOST:PORT")
}

// family turns -4/-6 into the address family endpoint.Options wants (0
// for either), refusing both at once. Every command with -4/-6 uses it.
func family(ipv4, ipv6 bool) (int, error) {
	switch {
	case ipv4 && ipv6:
		return 0, exitcode.Usagef("-4 and -6 exclude each other")
	case ipv4:
		return 4, nil
	case ipv6:
		return 6, nil
	}
	return 0, nil
}

func (f *netFlags) parse(s string, listen bool) (endpoint.Endpoint, error) {
	fam, err := family(f.ipv4, f.ipv6)
	if err != nil {
		return endpoint.Endpoint{}, err
	}
	return endpoint.Parse(s, endpoint.Options{UDP: f.udp, Listen: listen, Family: fam})
}

func (f *netFlags) tracer(w io.Writer) endpoint.Tracer {
	if !f.trace {
		return nil
	}
	return func(format string, args ...any) {
		fmt.Fprintf(w, "trace: "+format+"\n", args...)
	}
}

// dataFlags are the data options of SPEC §2.2.
type dataFlags struct {
	encoding, sendEnc, recvEnc string
	sendHex, escapes, template bool
	file                       string
	checksum                   string
	verifyChecksum             bool
	hex, timestamps            bool
	frame                      string
	maxMessage                 int64
	json                       bool
	record                     string
	output                     string
	eol                        string
	crlf                       bool
}

func (f *dataFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.encoding, "encoding", "", "text encoding both ways: utf-8, gbk, gb18030, big5, shift_jis, euc-kr, utf-16le, latin1…")
	fs.StringVar(&f.sendEnc, "send-encoding", "", "encoding of text sent (default --encoding)")
	fs.StringVar(&f.recvEnc, "recv-encoding", "", "encoding of text received (default --encoding)")
	fs.BoolVar(&f.sendHex, "send-hex", false, "input is hex: 48 65 6c, 48656c or 0x48,0x65")
	fs.BoolVar(&f.escapes, "escapes", false, `input interprets \r \n \t \0 \xNN \\`)
	fs.BoolVar(&f.template, "template", false, "expand {{seq}}, {{time}}, {{unix_ms}}, {{rand:N}}, {{hex:0a0b}}, {{peer}} in data sent")
	fs.StringVar(&f.file, "file", "", "send this file")
	fs.StringVar(&f.checksum, "checksum", "", "append a checksum to each message: sum8, xor8, crc8, crc16-modbus, crc16-ccitt, crc32")
	fs.BoolVar(&f.verifyChecksum, "verify-checksum", false, "flag received messages whose trailing --checksum is wrong")
	fs.BoolVar(&f.hex, "hex", false, "show received data as a hex dump")
	fs.BoolVarP(&f.timestamps, "timestamps", "T", false, "timestamp each message received")
	fs.StringVar(&f.frame, "frame", "", "message framing on streams: raw, line, delim:HEX, fixed:N, len8, len16, len16le, len32, len32le")
	fs.Var(byteSize{n: &f.maxMessage, min: 1, max: 1 << 30}, "max-message", "largest framed message accepted, up to 1G (default 16M)")
	fs.BoolVar(&f.json, "json", false, "print every event (connect, data, close, error…) as one JSON object per line on stdout; schema: docs/events.md")
	fs.StringVar(&f.record, "record", "", "write every event to FILE as JSON lines (docs/events.md), for sockit replay")
	fs.StringVarP(&f.output, "output", "o", "", "write received bytes, raw, to FILE")
	fs.StringVar(&f.eol, "eol", "", "line end for lines sent: lf (default), crlf, cr, none")
	fs.BoolVarP(&f.crlf, "crlf", "C", false, "same as --eol crlf")
}

// codecs resolves the encodings.
func (f *dataFlags) codecs() (send, recv *codec.Encoding, err error) {
	name := func(specific string) string {
		if specific != "" {
			return specific
		}
		return f.encoding
	}
	if send, err = codec.Lookup(name(f.sendEnc)); err != nil {
		return nil, nil, err
	}
	if recv, err = codec.Lookup(name(f.recvEnc)); err != nil {
		return nil, nil, err
	}
	return send, recv, nil
}

// transcoding reports whether an encoding other than UTF-8 was asked for.
func (f *dataFlags) transcoding() bool {
	return f.encoding != "" || f.sendEnc != "" || f.recvEnc != ""
}

func (f *dataFlags) framing() (frame.Spec, error) {
	return frame.Parse(f.frame)
}

// compose builds the outgoing pipeline.
func (f *dataFlags) compose(send *codec.Encoding) (*session.Compose, error) {
	c := &session.Compose{Hex: f.sendHex, Escapes: f.escapes, Template: f.template}
	c.SetEncoding(send)
	if f.crlf && f.eol != "" && f.eol != "crlf" {
		return nil, exitcode.Usagef("-C and --eol %s disagree", f.eol)
	}
	eol := f.eol
	if f.crlf {
		eol = "crlf"
	}
	if eol != "" {
		b, err := codec.ParseEOL(eol)
		if err != nil {
			return nil, err
		}
		// Text: Compose encodes it with the message, in the encoding in
		// force then (/enc changes it).
		c.EOL, c.KeepEOL = string(b), true
	}
	c.Max = f.maxMsg()
	if f.checksum != "" {
		a, err := checksum.Lookup(f.checksum)
		if err != nil {
			return nil, err
		}
		c.Checksum = a
	}
	if f.verifyChecksum && f.checksum == "" {
		return nil, exitcode.Usagef("--verify-checksum needs --checksum ALGO")
	}
	return c, nil
}

// maxMsg is --max-message as an int.
func (f *dataFlags) maxMsg() int { return int(f.maxMessage) }

// observers are the sinks every front end shares: --record, --json, the
// checksum check. Their outputs report failed writes to outs; close
// flushes and closes them, reporting failures there too.
type observers struct {
	outs    *outputs
	sinks   []event.Sink
	closers []closer
	quiet   int // how many of sinks ignore data events
}

// closer flushes or closes the output called name.
type closer struct {
	name string
	fn   func() error
}

func (o *observers) add(s event.Sink) { o.sinks = append(o.sinks, s) }

// addQuiet adds a sink that shows connection events only, so that it does
// not take the conversation off the fast path.
func (o *observers) addQuiet(s event.Sink) {
	o.sinks = append(o.sinks, s)
	o.quiet++
}

// addCloser runs fn at close; an error from it is a failed write to name.
func (o *observers) addCloser(name string, fn func() error) {
	o.closers = append(o.closers, closer{name, fn})
}

// noData reports whether no sink wants data events.
func (o *observers) noData() bool { return len(o.sinks) == o.quiet }

func (o *observers) sink() event.Sink { return event.Tee(o.sinks...) }

// close flushes and closes every output, once. A failure goes to outs,
// where run reports it; commands just defer close.
func (o *observers) close() {
	closers := o.closers
	o.closers = nil
	for _, c := range closers {
		if err := c.fn(); err != nil && o.outs != nil {
			o.outs.fail(c.name, err)
		}
	}
}

// commonObservers adds the --record and --json (to stdout) observers.
func (f *dataFlags) commonObservers(o *observers, st *stdio, recv *codec.Encoding) error {
	o.outs = st.outs
	decode := func(p []byte) string { s, _ := recv.Decode(p); return s }
	if f.record != "" {
		file, err := create("--record", f.record)
		if err != nil {
			return err
		}
		name := "--record " + f.record
		// Whole lines only, in as few writes as possible; a failed write
		// is cut back to the last whole line and stops the run, so the
		// transcript always replays.
		w := event.NewWriter(file, event.WriterOptions{Base64: true, Decode: decode,
			Cut:     file.Truncate,
			OnError: func(err error) { st.outs.fail(name, err) }})
		o.add(event.Locked(w.Sink()))
		o.addCloser(name, func() error {
			err := w.Flush()
			if cerr := file.Close(); err == nil {
				err = cerr
			}
			return err
		})
	}
	if f.json {
		// st.out reports its own failures; each event is one write.
		w := event.NewWriter(st.out, event.WriterOptions{Hex: true, Decode: decode, Flush: true})
		o.add(w.Sink())
		o.addCloser("stdout", w.Flush)
	}
	return nil
}

// tlsFlags are the TLS options of SPEC §2.5.
type tlsFlags struct {
	on   bool
	opts endpoint.TLSOptions
	alpn string
}

func (f *tlsFlags) register(fs *pflag.FlagSet, listen bool) {
	fs.BoolVar(&f.on, "tls", false, "use TLS (same as a tls:// endpoint)")
	fs.StringVar(&f.opts.CA, "ca", "", "PEM file of CA certificates to verify the peer by")
	fs.StringVar(&f.alpn, "alpn", "", "ALPN protocols, comma-separated (h2,http/1.1)")
	fs.StringVar(&f.opts.Min, "tls-min", "1.2", "lowest TLS version: 1.2 or 1.3")
	if listen {
		fs.StringVar(&f.opts.Cert, "cert", "", "server certificate, PEM (default: an ephemeral self-signed one)")
		fs.StringVar(&f.opts.Key, "key", "", "private key for --cert, PEM")
		return
	}
	fs.StringVar(&f.opts.Pin, "pin", "", "accept exactly the certificate with this SHA-256 fingerprint")
	fs.BoolVar(&f.opts.Insecure, "insecure", false, "accept any server certificate (no verification)")
	fs.StringVar(&f.opts.SNI, "sni", "", "server name to send and verify (default: the host)")
	fs.StringVar(&f.opts.ClientCert, "client-cert", "", "client certificate, PEM")
	fs.StringVar(&f.opts.ClientKey, "client-key", "", "private key for --client-cert, PEM")
}

// given names one TLS option that was set, or "".
func (f *tlsFlags) given() string {
	o := f.opts
	for _, c := range []struct {
		name string
		set  bool
	}{
		{"cert", o.Cert != ""}, {"key", o.Key != ""}, {"ca", o.CA != ""}, {"pin", o.Pin != ""},
		{"insecure", o.Insecure}, {"sni", o.SNI != ""}, {"client-cert", o.ClientCert != ""},
		{"client-key", o.ClientKey != ""}, {"alpn", f.alpn != ""}, {"tls-min", o.Min != "" && o.Min != "1.2"},
	} {
		if c.set {
			return c.name
		}
	}
	return ""
}

func (f *tlsFlags) options() endpoint.TLSOptions {
	o := f.opts
	if f.alpn != "" {
		o.ALPN = strings.Split(f.alpn, ",")
	}
	return o
}

func (f *tlsFlags) apply(ep endpoint.Endpoint) (endpoint.Endpoint, error) {
	if !f.on {
		if name := f.given(); name != "" && !ep.IsTLS() {
			// A TLS option on a plain endpoint would be ignored: the
			// user meant TLS, or the option is a slip.
			return ep, exitcode.WithHint("Note that TLS options take a tls://, wss:// or dtls:// endpoint, or --tls.",
				"--%s applies to TLS, and %s is not a TLS endpoint", name, ep)
		}
		return ep, nil
	}
	if ep.IsPacket() || ep.IsUnix() || ep.IsSerial() || ep.Scheme == "dtls" {
		return ep, exitcode.Usagef("--tls needs a TCP or ws:// endpoint, not %s", ep.Scheme)
	}
	return ep.WithTLS(), nil
}

// stdio is where a command reads and writes; tests give buffers.
type stdio struct {
	in       io.Reader
	out, err io.Writer
	inFile   *os.File // set when in is a real file (for pipe splice and terminal checks)
	outFile  *os.File
	inTTY    bool
	outTTY   bool
	errTTY   bool
	outs     *outputs // watches out, -o and --record for failed writes
}

// interactive reports whether the prompt should run: a person on both ends.
func (s *stdio) interactive() bool { return s.inTTY && s.outTTY }

func (s *stdio) errorf(format string, args ...any) {
	fmt.Fprintf(s.err, "sockit: "+format+"\n", args...)
}

// stderrLog is the printer for connection events on stderr (pipe mode -v,
// servers' refusals).
func (s *stdio) stderrLog(server bool) *console.Printer {
	return &console.Printer{W: s.err, NoData: true, Server: server, Color: s.errTTY && colorOK()}
}

func colorOK() bool {
	return os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb" && console.VT(os.Stdout) && console.VT(os.Stderr)
}

package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/sockit/sockit/internal/console"
	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/talk"
)

// netFlags are the connection options of a conversation (README
// "Connection flags (connect, listen, send)"). Those that are options of the engine as they are
// bind to talk.Options; the rest are turned into options by apply.
type netFlags struct {
	ipv4, ipv6         bool
	nodelay, reuseaddr bool
	buffer             int64
	trace              bool
	verbose            bool
	ep                 endpointFlags
}

func (f *netFlags) register(fs *pflag.FlagSet, o *talk.Options, listen bool) {
	fs.BoolVarP(&o.UDP, "udp", "u", false, "UDP: HOST:PORT means udp://HOST:PORT")
	f.registerFamily(fs)
	fs.BoolVarP(&o.NoDNS, "no-dns", "n", false, "numeric addresses only, never look up names")
	fs.VarP(seconds{d: &o.Idle}, "idle-timeout", "i", "close a conversation after this long without traffic, e.g. 30s or 2m (0: never; UDP servers: 60s)")
	fs.BoolVar(&f.nodelay, "nodelay", true, "TCP_NODELAY: send small writes at once")
	f.registerBuffer(fs)
	fs.BoolVar(&o.SendOnly, "send-only", false, "only send; ignore what arrives")
	fs.BoolVar(&o.RecvOnly, "recv-only", false, "only receive; never read stdin")
	fs.VarP(seconds{d: &o.Delay}, "delay", "d", "pause between messages sent, e.g. 100ms")
	f.registerTrace(fs)
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "report connections and closes on stderr in pipe mode")
	f.reuseaddr = true // listen's default; a client that listens (replay) takes it too
	f.ep.register(fs, !listen, listen)
	if listen {
		fs.BoolVar(&f.reuseaddr, "reuseaddr", true, "SO_REUSEADDR: restart on a port still in TIME_WAIT (Windows: always SO_EXCLUSIVEADDRUSE instead)")
		return
	}
	fs.StringVarP(&o.Source, "source", "s", "", "local address or port to send from (ADDR, PORT or ADDR:PORT)")
	fs.Var(seconds{d: &o.Wait}, "wait", "how long to wait for replies after sending (UDP, send); 0 does not wait")
	fs.VarP(seconds{d: &o.Timeout}, "timeout", "w", "give up connecting (and resolving) after this long, e.g. 5 or 2s (0: the system's own limit)")
	fs.Var(seconds{d: &o.KeepAlive}, "keepalive", "TCP keepalive probe period, e.g. 30s (0: Go's default, 15s)")
	fs.Var(proxyFlag{&o.Proxy}, "proxy", "connect through socks5://[user:pass@]HOST:PORT or http://HOST:PORT")
}

// The flags several commands share, with one wording.
func (f *netFlags) registerFamily(fs *pflag.FlagSet) {
	fs.BoolVarP(&f.ipv4, "ipv4", "4", false, "IPv4 only")
	fs.BoolVarP(&f.ipv6, "ipv6", "6", false, "IPv6 only")
}

func (f *netFlags) registerBuffer(fs *pflag.FlagSet) {
	fs.Var(byteSize{n: &f.buffer, max: maxBuffer}, "buffer", "socket send and receive buffer size (SO_SNDBUF/SO_RCVBUF), e.g. 4M (0: the system's)")
}

func (f *netFlags) registerTrace(fs *pflag.FlagSet) {
	fs.BoolVar(&f.trace, "trace", false, "print each socket step (socket, bind, listen, accept, connect, send, recv, close) on stderr")
}

// apply sets the options these flags stand for.
func (f *netFlags) apply(st *stdio, o *talk.Options) error {
	var err error
	if o.Family, err = family(f.ipv4, f.ipv6); err != nil {
		return err
	}
	o.Nagle = !f.nodelay
	o.NoReuseAddr = !f.reuseaddr
	o.Buffer = int(f.buffer)
	o.Trace = f.tracer(st.err)
	return f.ep.apply(o)
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

func (f *netFlags) tracer(w io.Writer) endpoint.Tracer {
	if !f.trace {
		return nil
	}
	return func(format string, args ...any) {
		fmt.Fprintf(w, "trace: "+format+"\n", args...)
	}
}

// dataFlags are the data options of a conversation (README "Data
// options"); those of the engine bind to talk.Options, the rest say how
// the command line shows and saves what arrives.
type dataFlags struct {
	file            string
	hex, timestamps bool
	maxMessage      int64
	json            bool
	record          string
	output          string
	crlf            bool
}

func (f *dataFlags) register(fs *pflag.FlagSet, o *talk.Options) {
	fs.StringVar(&o.Encoding, "encoding", "", "text encoding both ways: utf-8, gbk, gb18030, big5, shift_jis, euc-kr, utf-16le, latin1…")
	fs.StringVar(&o.SendEncoding, "send-encoding", "", "encoding of text sent (default --encoding)")
	fs.StringVar(&o.RecvEncoding, "recv-encoding", "", "encoding of text received (default --encoding)")
	fs.BoolVar(&o.Input.Hex, "send-hex", false, "input is hex: 48 65 6c, 48656c or 0x48,0x65")
	fs.BoolVar(&o.Input.Escapes, "escapes", false, `input interprets \r \n \t \0 \xNN \\`)
	fs.BoolVar(&o.Input.Template, "template", false, "expand {{seq}}, {{time}}, {{unix_ms}}, {{rand:N}}, {{hex:0a0b}}, {{peer}} in data sent")
	fs.StringVar(&f.file, "file", "", "send this file")
	fs.StringVar(&o.Input.Checksum, "checksum", "", "append a checksum to each message: sum8, xor8, crc8, crc16-modbus, crc16-ccitt, crc32")
	fs.BoolVar(&o.VerifyChecksum, "verify-checksum", false, "flag received messages whose trailing --checksum is wrong (they never satisfy --expect)")
	fs.BoolVar(&f.hex, "hex", false, "show received data as a hex dump")
	fs.BoolVarP(&f.timestamps, "timestamps", "T", false, "timestamp each message received")
	fs.StringVar(&o.Frame, "frame", "", "message framing on streams: raw, line, delim:HEX, fixed:N, len8, len16, len16le, len32, len32le")
	fs.Var(byteSize{n: &f.maxMessage, min: 1, max: 1 << 30}, "max-message", "largest framed message accepted, up to 1G (default 16M)")
	fs.BoolVar(&f.json, "json", false, "print every event (connect, data, close, error…) as one JSON object per line on stdout; schema: docs/events.md")
	fs.StringVar(&f.record, "record", "", "write every event to FILE as JSON lines (docs/events.md), for sockit replay")
	fs.StringVarP(&f.output, "output", "o", "", "write received bytes, raw, to FILE")
	fs.StringVar(&o.Input.EOL, "eol", "", "line end for lines sent: lf, crlf, cr, none (default: lf at the prompt; piped input goes as it is)")
	fs.BoolVarP(&f.crlf, "crlf", "C", false, "same as --eol crlf")
}

// apply sets the options these flags stand for: -C is --eol crlf.
func (f *dataFlags) apply(o *talk.Options) error {
	if f.crlf && o.Input.EOL != "" && o.Input.EOL != "crlf" {
		return exitcode.Usagef("-C and --eol %s disagree", o.Input.EOL)
	}
	if f.crlf {
		o.Input.EOL = "crlf"
	}
	o.MaxMessage = int(f.maxMessage)
	if f.hex && f.json {
		return exitcode.WithHint("Note that --json events carry the bytes as hex already.", "--hex and --json exclude each other")
	}
	return nil
}

// observers are the command line's outputs of a conversation's events:
// --record, --json, the terminal. Their outputs report failed writes to
// outs; close flushes and closes them, reporting failures there too.
type observers struct {
	outs    *outputs
	closers []closer
}

// closer flushes or closes the output called name.
type closer struct {
	name string
	fn   func() error
}

// addCloser runs fn at close; an error from it is a failed write to name.
func (o *observers) addCloser(name string, fn func() error) {
	o.closers = append(o.closers, closer{name, fn})
}

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
func (f *dataFlags) commonObservers(o *observers, s *talk.Setup, st *stdio) error {
	o.outs = st.outs
	_, recv := s.Encodings()
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
		s.Observe(talk.Observer{Sink: event.Locked(w.Sink())})
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
		s.Observe(talk.Observer{Sink: w.Sink()})
		o.addCloser("stdout", w.Flush)
	}
	return nil
}

// tlsFlags are the TLS options (README "TLS flags"), bound to talk.Options.
// ALPN is a comma-separated list on the command line.
type tlsFlags struct {
	alpn string
}

// tlsRole says which side's TLS options a command takes: a client's, a
// server's, or for relay both, each worded for its side.
type tlsRole uint8

const (
	tlsClient tlsRole = iota
	tlsServer
	tlsRelay
)

func (f *tlsFlags) register(fs *pflag.FlagSet, o *talk.Options, role tlsRole) {
	t := &o.TLSOptions
	if role == tlsRelay {
		fs.StringVar(&t.Cert, "cert", "", "certificate for a tls:// FROM, PEM (default: ephemeral self-signed)")
		fs.StringVar(&t.Key, "key", "", "private key for --cert, PEM")
		fs.StringVar(&t.CA, "ca", "", "CA certificates (PEM) to verify a tls:// TO by")
		fs.StringVar(&t.Pin, "pin", "", "accept exactly the tls:// TO certificate with this SHA-256 fingerprint")
		fs.BoolVar(&t.Insecure, "insecure", false, "accept any tls:// TO certificate")
		fs.StringVar(&t.SNI, "sni", "", "server name to send to a tls:// TO")
		fs.StringVar(&t.ClientCert, "client-cert", "", "client certificate for a tls:// TO, PEM")
		fs.StringVar(&t.ClientKey, "client-key", "", "private key for --client-cert, PEM")
		fs.StringVar(&f.alpn, "alpn", "", "ALPN protocols, comma-separated")
		fs.StringVar(&t.Min, "tls-min", "1.2", "lowest TLS version: 1.2 or 1.3")
		return
	}
	fs.BoolVar(&o.TLS, "tls", false, "use TLS (same as a tls:// endpoint)")
	fs.StringVar(&t.CA, "ca", "", "PEM file of CA certificates to verify the peer by")
	fs.StringVar(&f.alpn, "alpn", "", "ALPN protocols, comma-separated (h2,http/1.1)")
	fs.StringVar(&t.Min, "tls-min", "1.2", "lowest TLS version: 1.2 or 1.3")
	if role == tlsServer {
		f.registerCert(fs, o)
		return
	}
	fs.StringVar(&t.Pin, "pin", "", "accept exactly the certificate with this SHA-256 fingerprint")
	fs.BoolVar(&t.Insecure, "insecure", false, "accept any server certificate (no verification)")
	fs.StringVar(&t.SNI, "sni", "", "server name to send and verify (default: the host)")
	fs.StringVar(&t.ClientCert, "client-cert", "", "client certificate, PEM")
	fs.StringVar(&t.ClientKey, "client-key", "", "private key for --client-cert, PEM")
}

// registerCert adds a server's certificate flags.
func (f *tlsFlags) registerCert(fs *pflag.FlagSet, o *talk.Options) {
	fs.StringVar(&o.TLSOptions.Cert, "cert", "", "server certificate, PEM (default: an ephemeral self-signed one)")
	fs.StringVar(&o.TLSOptions.Key, "key", "", "private key for --cert, PEM")
}

// apply sets the options these flags stand for.
func (f *tlsFlags) apply(o *talk.Options) {
	if f.alpn != "" {
		o.TLSOptions.ALPN = strings.Split(f.alpn, ",")
	}
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
	return &console.Printer{W: s.err, NoData: true, Server: server, Color: s.errTTY && colorOK(), Option: flagOf}
}

func colorOK() bool {
	return os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb" && console.VT(os.Stdout) && console.VT(os.Stderr)
}

// flagOf writes an option an event is about (event.Event.Option) as the
// flag that sets it, for the log lines on the terminal.
func flagOf(option string) string { return exitcode.Flag(fail.Option(option)) }

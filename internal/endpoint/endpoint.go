// Package endpoint parses sockit's one endpoint syntax (tcp://HOST:PORT,
// udp://…, tls://…, unix:///path, unix://@name, serial:///dev/ttyUSB0?…,
// ws://…/path, wss://…, dtls://…, HOST:PORT, :PORT) and dials and listens
// on what it names, with the socket options, proxies, retries and --trace
// hooks the CLI and the web UI share.
//
// Every kind comes back as a net.Conn (or a net.Listener of them, or a
// net.PacketConn for udp and unixgram), so that the packages above see one
// interface. Conns that carry whole messages rather than a byte stream
// (WebSocket, DTLS) say so through Messages, and session treats each of
// their reads as one message, as it does a datagram.
//
// It does not move data: that is the job of session, server and relay.
package endpoint

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/suggest"
)

// Endpoint is a parsed endpoint. The zero value is not valid.
type Endpoint struct {
	Scheme string // tcp, tcp4, tcp6, udp, udp4, udp6, tls, unix, unixgram (tcp4 and udp4 always with Family 4, and so on)
	Host   string // host name or IP literal without brackets; empty means all interfaces
	Port   int
	Path   string // unix, unixgram: the socket path (@name: abstract); serial: the device; ws, wss: the request path and query
	Family int    // 0, 4 or 6: tcp4/udp4/-4 give 4, tcp6/udp6/-6 give 6
	Serial Serial // serial only: the line settings
}

// Options change how Parse reads the shorthand forms.
type Options struct {
	UDP    bool // HOST:PORT and PORT mean udp:// (the -u flag)
	Listen bool // PORT and :PORT are allowed (all interfaces)
	Family int  // 4 or 6 forces the family (-4/-6)
}

const forms = "tcp://HOST:PORT, udp://HOST:PORT, tls://HOST:PORT, tcp4|tcp6|udp4|udp6://…, unix:///PATH, unix://@NAME, unixgram:///PATH, serial:///DEV?baud=N, ws://HOST:PORT/PATH, wss://…, dtls://HOST:PORT, HOST:PORT, [IPv6]:PORT, :PORT"

func bad(input, format string, args ...any) error {
	return badForm("Note that endpoints take these forms: "+forms, input, format, args...)
}

func badForm(hint, input, format string, args ...any) error {
	msg := fmt.Sprintf("bad endpoint %q: "+format, append([]any{input}, args...)...)
	return exitcode.WithHint(hint, "%s", printable(msg))
}

// printable escapes what would break the one-line message: parts of the
// input quoted into it may hold newlines or other control characters.
func printable(s string) string {
	if strings.IndexFunc(s, notPrint) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if notPrint(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func notPrint(r rune) bool { return !unicode.IsPrint(r) }

// schemes are the endpoint schemes, for "Did you mean …?" lines.
var schemes = []string{"tcp", "udp", "tls", "unix", "unixgram", "tcp4", "tcp6", "udp4", "udp6", "serial", "ws", "wss", "dtls"}

// Parse reads one endpoint. Errors are *exitcode.UsageError values that name
// the bad part and list the accepted forms, or, when the input looks like a
// slip in the scheme (udp//x:1, udp:/x:1, tpc://x:1), say what was meant.
func Parse(s string, opt Options) (Endpoint, error) {
	ep, err := parse(s, opt)
	if err != nil {
		var ue *exitcode.UsageError
		if fixed := schemeSlip(s); fixed != "" && errors.As(err, &ue) {
			ue.Hint = "Did you mean " + printable(fixed) + "?"
		}
	}
	return ep, err
}

// schemeSlip returns what s most likely meant when its scheme is
// misspelt or its "://" is short of a character, else "".
func schemeSlip(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		scheme := strings.ToLower(s[:i])
		if slices.Contains(schemes, scheme) || scheme == "ssl" {
			return ""
		}
		if m := suggest.Closest(scheme, schemes); m != "" {
			return m + s[i:]
		}
		return ""
	}
	lower := strings.ToLower(s)
	for _, k := range schemes {
		rest, ok := "", false
		for _, sep := range []string{"//", ":/", ":"} {
			if strings.HasPrefix(lower, k+sep) {
				rest, ok = s[len(k)+len(sep):], true
				break
			}
		}
		if !ok || rest == "" {
			continue
		}
		if strings.HasPrefix(k, "unix") || k == "serial" && strings.HasPrefix(rest, "/") {
			return k + ":///" + strings.TrimLeft(rest, "/")
		}
		return k + "://" + strings.TrimLeft(rest, "/")
	}
	return ""
}

func parse(s string, opt Options) (Endpoint, error) {
	in := s
	if s == "" {
		return Endpoint{}, bad(in, "empty")
	}
	scheme := ""
	if i := strings.Index(s, "://"); i >= 0 {
		scheme = strings.ToLower(s[:i])
		s = s[i+3:]
		switch scheme {
		case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "tls", "ssl", "dtls":
		case "unix", "unixgram":
			return parseUnix(in, scheme, s)
		case "serial":
			return parseSerial(in, s)
		case "ws", "wss":
			return parseWS(in, scheme, s, opt)
		default:
			return Endpoint{}, bad(in, "unknown scheme %q", scheme)
		}
		if scheme == "ssl" {
			scheme = "tls"
		}
	} else {
		scheme = "tcp"
		if opt.UDP {
			scheme = "udp"
		}
	}
	ep := Endpoint{Scheme: scheme}
	switch scheme {
	case "tcp4", "udp4":
		ep.Family = 4
	case "tcp6", "udp6":
		ep.Family = 6
	}
	if opt.Family != 0 {
		if ep.Family != 0 && ep.Family != opt.Family {
			return Endpoint{}, bad(in, "scheme %s conflicts with -%d", scheme, opt.Family)
		}
		ep.Family = opt.Family
		if scheme == "tcp" || scheme == "udp" {
			// One spelling per endpoint: -4 on tcp:// is tcp4://, which is
			// also what String prints, so that Parse(e.String()) == e.
			ep.Scheme = scheme + strconv.Itoa(opt.Family)
		}
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		return Endpoint{}, bad(in, "unexpected %q after the port", s[i:])
	}
	host, port, err := hostPort(in, s, opt)
	if err != nil {
		return Endpoint{}, err
	}
	if err := checkHost(in, host, ep.Family); err != nil {
		return Endpoint{}, err
	}
	ep.Host, ep.Port = host, port
	return ep, nil
}

// hostPort reads HOST:PORT, and on the listen side PORT and :PORT.
func hostPort(in, s string, opt Options) (string, int, error) {
	host, port, err := splitHostPort(s)
	if err != nil {
		if !opt.Listen || strings.ContainsAny(s, ":[]") {
			return "", 0, bad(in, "%v", err)
		}
		// A bare PORT on the listen side.
		host, port = "", s
	}
	p, err := parsePort(port)
	if err != nil {
		return "", 0, bad(in, "%v", err)
	}
	if host == "" && !opt.Listen {
		return "", 0, bad(in, "missing host (a client needs HOST:PORT)")
	}
	return host, p, nil
}

// checkHost refuses what cannot be a host name or IP literal, and a
// literal of the other family than the one asked for.
func checkHost(in, host string, family int) error {
	if strings.HasPrefix(host, "[") || strings.ContainsAny(host, "[] \t/\\") {
		return bad(in, "bad host %q", host)
	}
	if strings.Contains(host, ":") {
		// Only an IPv6 literal may contain colons.
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() {
			return bad(in, "bad IPv6 address %q", host)
		}
		if family == 4 {
			return bad(in, "IPv6 address %s with an IPv4-only scheme or -4", host)
		}
	} else if a, err := netip.ParseAddr(host); err == nil && a.Is4() && family == 6 {
		return bad(in, "IPv4 address %s with an IPv6-only scheme or -6", host)
	}
	return nil
}

// splitHostPort is net.SplitHostPort with messages written for sockit's users.
func splitHostPort(s string) (host, port string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", errorString("unbalanced brackets: missing ']'")
		}
		host = s[1:end]
		rest := s[end+1:]
		if rest == "" {
			return "", "", errorString("missing port after ']'")
		}
		if rest[0] != ':' {
			return "", "", errorString("expected ':PORT' after ']'")
		}
		if host == "" {
			return "", "", errorString("empty IPv6 address in brackets")
		}
		return host, rest[1:], nil
	}
	if strings.ContainsRune(s, ']') {
		return "", "", errorString("unbalanced brackets: missing '['")
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", "", errorString("missing port (write HOST:PORT)")
	}
	host, port = s[:i], s[i+1:]
	if strings.Contains(host, ":") {
		return "", "", errorString("IPv6 addresses need brackets: [" + host + "]:" + port)
	}
	return host, port, nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

func parsePort(s string) (int, error) {
	if s == "" {
		return 0, errorString("missing port")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			if isLetter(rune(s[0])) {
				if p, err := net.LookupPort("tcp", s); err == nil {
					return p, nil // service names: http, ssh…
				}
				return 0, errorString("unknown service name " + strconv.Quote(s) + " (not in /etc/services): give the port as a number")
			}
			if strings.HasPrefix(s, "-") && strings.Trim(s[1:], "0123456789") == "" && len(s) > 1 {
				return 0, errorString("port " + s + " is out of range (0-65535)")
			}
			return 0, errorString("port " + strconv.Quote(s) + " is not a number")
		}
	}
	if len(s) > 5 {
		return 0, errorString("port " + s + " is out of range (0-65535)")
	}
	p, _ := strconv.Atoi(s)
	if p > 65535 {
		return 0, errorString("port " + s + " is out of range (0-65535)")
	}
	return p, nil
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// Network is the Go network name for net.Dial and net.Listen (for ws and
// wss the TCP underneath, for dtls the UDP; "serial" for a serial port).
func (e Endpoint) Network() string {
	switch e.Scheme {
	case "unix", "unixgram", "serial":
		return e.Scheme
	}
	base := "tcp"
	if e.IsUDP() || e.Scheme == "dtls" {
		base = "udp"
	}
	switch e.Family {
	case 4:
		return base + "4"
	case 6:
		return base + "6"
	}
	return base
}

// Address is the host:port or path part, as net.Dial wants it.
func (e Endpoint) Address() string {
	if e.IsUnix() || e.IsSerial() {
		return e.Path
	}
	return net.JoinHostPort(e.Host, strconv.Itoa(e.Port))
}

// IsUDP reports whether e is a plain UDP endpoint (not dtls).
func (e Endpoint) IsUDP() bool { return strings.HasPrefix(e.Scheme, "udp") }

// IsUnix reports whether e is a Unix socket endpoint.
func (e Endpoint) IsUnix() bool { return strings.HasPrefix(e.Scheme, "unix") }

// IsTLS reports whether e asks for TLS or DTLS, and so takes the TLS
// options (certificates, --pin, --insecure…): tls, wss and dtls.
func (e Endpoint) IsTLS() bool { return e.Scheme == "tls" || e.Scheme == "wss" || e.Scheme == "dtls" }

// IsPacket reports whether e is a datagram socket (udp, unixgram), opened
// with ListenPacket on the listen side. dtls carries datagrams too, but
// listens like a stream: one Conn per peer (see Messages).
func (e Endpoint) IsPacket() bool { return e.IsUDP() || e.Scheme == "unixgram" }

// IsWebSocket reports whether e is a ws:// or wss:// endpoint.
func (e Endpoint) IsWebSocket() bool { return e.Scheme == "ws" || e.Scheme == "wss" }

// IsSerial reports whether e is a serial port.
func (e Endpoint) IsSerial() bool { return e.Scheme == "serial" }

// Messages reports whether each read of e's connections is one whole
// message and each write sends one: datagrams, WebSocket messages, DTLS
// records. Such endpoints have no byte stream to frame, and no half-close.
func (e Endpoint) Messages() bool {
	return e.IsPacket() || e.IsWebSocket() || e.Scheme == "dtls"
}

// Proto is the short protocol name used in events: tcp, udp, tls, unix,
// unixgram, serial, ws, wss, dtls.
func (e Endpoint) Proto() string {
	switch {
	case e.IsUDP():
		return "udp"
	case e.Scheme == "tls":
		return "tls"
	case e.IsUnix(), e.IsSerial(), e.IsWebSocket(), e.Scheme == "dtls":
		return e.Scheme
	}
	return "tcp"
}

// String is the canonical form: Parse(e.String()) gives e back.
func (e Endpoint) String() string {
	switch {
	case e.IsUnix():
		return e.Scheme + "://" + e.Path
	case e.IsSerial():
		return "serial://" + e.Path + "?" + e.Serial.String()
	case e.IsWebSocket():
		return e.Scheme + "://" + e.Address() + e.Path
	}
	scheme := e.Scheme
	if e.Family != 0 && (scheme == "tcp" || scheme == "udp") {
		scheme += strconv.Itoa(e.Family)
	}
	return scheme + "://" + e.Address()
}

// WithTLS returns e with TLS turned on (the --tls flag): tcp becomes tls,
// ws becomes wss.
func (e Endpoint) WithTLS() Endpoint {
	switch e.Scheme {
	case "tcp", "tcp4", "tcp6":
		e.Scheme = "tls"
	case "ws":
		e.Scheme = "wss"
	}
	return e
}

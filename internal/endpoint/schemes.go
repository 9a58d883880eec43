package endpoint

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/sockit/sockit/internal/fail"
)

// Serial is a serial port's line settings: baud=115200&data=8&parity=none&stop=1&flow=none.
// Parse fills in the defaults (9600 8N1, no flow control) for what is not given.
type Serial struct {
	Baud   int    // bits per second
	Data   int    // data bits: 5, 6, 7 or 8
	Parity string // none, odd, even, mark or space
	Stop   string // stop bits: 1, 1.5 or 2
	Flow   string // flow control: none
}

// DefaultSerial is 9600 baud, 8 data bits, no parity, 1 stop bit (8N1),
// no flow control: what a serial port most often speaks out of the box.
var DefaultSerial = Serial{Baud: 9600, Data: 8, Parity: "none", Stop: "1", Flow: "none"}

// String is the settings as the endpoint's query, every key given.
func (s Serial) String() string {
	return "baud=" + strconv.Itoa(s.Baud) + "&data=" + strconv.Itoa(s.Data) + "&parity=" + s.Parity + "&stop=" + s.Stop + "&flow=" + s.Flow
}

const serialForms = "Note that a serial endpoint is serial:///dev/ttyUSB0?baud=115200&data=8&parity=none&stop=1&flow=none (Windows: serial://COM3?baud=115200); every setting is optional, 9600 8N1 by default."

const wsForms = "Note that a WebSocket endpoint is ws://HOST:PORT/PATH or wss://HOST:PORT/PATH (the port defaults to 80 and 443; a server: ws://:PORT/PATH)."

func parseUnix(in, scheme, s string) (Endpoint, error) {
	if s == "" {
		return Endpoint{}, bad(in, "missing socket path")
	}
	if strings.ContainsRune(s, 0) {
		return Endpoint{}, bad(in, "socket path contains a NUL byte")
	}
	if strings.HasPrefix(s, "@") {
		// The Linux abstract namespace (unix(7)): Go's net package maps
		// a leading '@' to the leading NUL byte the kernel wants.
		if runtime.GOOS != "linux" && runtime.GOOS != "android" {
			return Endpoint{}, bad(in, "abstract Unix sockets (@NAME) exist on Linux only")
		}
		if len(s) == 1 {
			return Endpoint{}, bad(in, "missing name after '@'")
		}
	}
	if len(s) > 107 {
		// sun_path holds 108 bytes with its NUL (104 on the BSDs).
		return Endpoint{}, bad(in, "socket path is %d bytes; the system allows at most 107", len(s))
	}
	return Endpoint{Scheme: scheme, Path: s}, nil
}

// parseSerial reads DEVICE[?KEY=VALUE&…] after "serial://".
func parseSerial(in, s string) (Endpoint, error) {
	dev, query, _ := strings.Cut(s, "?")
	if dev == "" {
		return Endpoint{}, badForm(serialForms, in, "missing the device (serial:///dev/ttyUSB0 or serial://COM3)")
	}
	if strings.IndexFunc(dev, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
		return Endpoint{}, badForm(serialForms, in, "the device name contains a control character")
	}
	if strings.ContainsAny(dev, "#&") {
		return Endpoint{}, badForm(serialForms, in, "bad device %q", dev)
	}
	ep := Endpoint{Scheme: "serial", Path: dev, Serial: DefaultSerial}
	if query == "" {
		return ep, nil
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(query, "&") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k = strings.ToLower(k)
		if !ok || v == "" {
			return Endpoint{}, badForm(serialForms, in, "setting %q has no value (write %s=VALUE)", k, k)
		}
		if seen[k] {
			return Endpoint{}, badForm(serialForms, in, "setting %q given twice", k)
		}
		seen[k] = true
		v = strings.ToLower(v)
		switch k {
		case "baud", "speed":
			n, err := strconv.Atoi(v)
			if err != nil || n < 50 || n > 16_000_000 {
				return Endpoint{}, badForm(serialForms, in, "baud %q is not a rate from 50 to 16000000", v)
			}
			ep.Serial.Baud = n
		case "data", "databits":
			n, err := strconv.Atoi(v)
			if err != nil || n < 5 || n > 8 {
				return Endpoint{}, badForm(serialForms, in, "data bits %q: want 5, 6, 7 or 8", v)
			}
			ep.Serial.Data = n
		case "parity":
			p, ok := map[string]string{"none": "none", "n": "none", "odd": "odd", "o": "odd", "even": "even", "e": "even",
				"mark": "mark", "m": "mark", "space": "space", "s": "space"}[v]
			if !ok {
				return Endpoint{}, badForm(serialForms, in, "parity %q: want none, odd, even, mark or space", v)
			}
			ep.Serial.Parity = p
		case "stop", "stopbits":
			if v != "1" && v != "1.5" && v != "2" {
				return Endpoint{}, badForm(serialForms, in, "stop bits %q: want 1, 1.5 or 2", v)
			}
			ep.Serial.Stop = v
		case "flow":
			if v != "none" {
				return Endpoint{}, badForm("Note that sockit drives serial lines without flow control (flow=none); RTS/CTS and XON/XOFF are not supported.",
					in, "flow control %q is not supported", v)
			}
		default:
			return Endpoint{}, badForm(serialForms, in, "unknown setting %q (the settings are baud, data, parity, stop, flow)", k)
		}
	}
	return ep, nil
}

// parseWS reads HOST[:PORT][/PATH[?QUERY]] after "ws://" or "wss://".
func parseWS(in, scheme, s string, opt Options) (Endpoint, error) {
	if strings.ContainsRune(s, '#') {
		return Endpoint{}, badForm(wsForms, in, "a WebSocket URL has no #fragment")
	}
	if strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return Endpoint{}, badForm(wsForms, in, "spaces and control characters must be %%-encoded")
	}
	authority, path := s, "/"
	if i := strings.IndexAny(s, "/?"); i >= 0 {
		authority, path = s[:i], s[i:]
		if path[0] == '?' {
			path = "/" + path
		}
	}
	if strings.Contains(authority, "@") {
		// The message names no flag (the web UI shows it too); the hint
		// names the command line's header flag.
		return Endpoint{}, fail.Inputf("%s", printable(fmt.Sprintf("bad endpoint %q: user:password@ is not supported; send credentials in an Authorization header", in))).
			WithHint("Note that %s 'Authorization: …' sends credentials; %s", OptHeader, strings.TrimPrefix(wsForms, "Note that "))
	}
	ep := Endpoint{Scheme: scheme, Path: path, Family: opt.Family}
	var (
		host string
		port int
		err  error
	)
	if authority == "" && !opt.Listen {
		return Endpoint{}, badForm(wsForms, in, "missing host (a client needs ws://HOST[:PORT]/PATH)")
	}
	if hasPort(authority) || opt.Listen && authority != "" && strings.Trim(authority, "0123456789") == "" {
		host, port, err = hostPort(in, authority, opt)
		if err != nil {
			return Endpoint{}, err
		}
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(authority, "["), "]")
		if strings.HasPrefix(authority, "[") != strings.HasSuffix(authority, "]") {
			return Endpoint{}, bad(in, "unbalanced brackets")
		}
		if !strings.HasPrefix(authority, "[") && strings.Contains(host, ":") {
			return Endpoint{}, bad(in, "IPv6 addresses need brackets: [%s]", host)
		}
		port = 80
		if scheme == "wss" {
			port = 443
		}
		if host == "" && !opt.Listen {
			return Endpoint{}, badForm(wsForms, in, "missing host (a client needs ws://HOST[:PORT]/PATH)")
		}
	}
	if err := checkHost(in, host, ep.Family); err != nil {
		return Endpoint{}, err
	}
	ep.Host, ep.Port = host, port
	return ep, nil
}

// hasPort reports whether an authority (HOST, HOST:PORT, [V6] or
// [V6]:PORT) has a port.
func hasPort(a string) bool {
	if strings.HasPrefix(a, "[") {
		i := strings.LastIndexByte(a, ']')
		return i >= 0 && i < len(a)-1
	}
	return strings.Contains(a, ":")
}

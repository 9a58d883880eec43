package endpoint

import (
	"strings"
	"testing"

	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/fail"
)

func TestParse(t *testing.T) {
	listen := Options{Listen: true}
	udp := Options{UDP: true}
	tests := []struct {
		in   string
		opt  Options
		want Endpoint
		str  string // String(); "" means same as in
	}{
		{in: "tcp://127.0.0.1:8888", want: Endpoint{Scheme: "tcp", Host: "127.0.0.1", Port: 8888}},
		{in: "udp://127.0.0.1:53", want: Endpoint{Scheme: "udp", Host: "127.0.0.1", Port: 53}},
		{in: "tcp4://localhost:80", want: Endpoint{Scheme: "tcp4", Host: "localhost", Port: 80, Family: 4}},
		{in: "tcp6://[::1]:80", want: Endpoint{Scheme: "tcp6", Host: "::1", Port: 80, Family: 6}},
		{in: "udp4://127.0.0.1:9", want: Endpoint{Scheme: "udp4", Host: "127.0.0.1", Port: 9, Family: 4}},
		{in: "udp6://[::1]:9", want: Endpoint{Scheme: "udp6", Host: "::1", Port: 9, Family: 6}},
		{in: "tls://example.test:443", want: Endpoint{Scheme: "tls", Host: "example.test", Port: 443}},
		{in: "ssl://example.test:443", want: Endpoint{Scheme: "tls", Host: "example.test", Port: 443}, str: "tls://example.test:443"},
		{in: "TCP://127.0.0.1:1", want: Endpoint{Scheme: "tcp", Host: "127.0.0.1", Port: 1}, str: "tcp://127.0.0.1:1"},
		{in: "unix:///tmp/app.sock", want: Endpoint{Scheme: "unix", Path: "/tmp/app.sock"}},
		{in: "unixgram:///tmp/app.sock", want: Endpoint{Scheme: "unixgram", Path: "/tmp/app.sock"}},
		{in: "unix://relative.sock", want: Endpoint{Scheme: "unix", Path: "relative.sock"}},
		{in: "127.0.0.1:8888", want: Endpoint{Scheme: "tcp", Host: "127.0.0.1", Port: 8888}, str: "tcp://127.0.0.1:8888"},
		{in: "127.0.0.1:8888", opt: udp, want: Endpoint{Scheme: "udp", Host: "127.0.0.1", Port: 8888}, str: "udp://127.0.0.1:8888"},
		{in: "example.test:8888", want: Endpoint{Scheme: "tcp", Host: "example.test", Port: 8888}, str: "tcp://example.test:8888"},
		{in: "[::1]:8888", want: Endpoint{Scheme: "tcp", Host: "::1", Port: 8888}, str: "tcp://[::1]:8888"},
		{in: "[fe80::1%lo]:8888", want: Endpoint{Scheme: "tcp", Host: "fe80::1%lo", Port: 8888}, str: "tcp://[fe80::1%lo]:8888"},
		{in: ":8888", opt: listen, want: Endpoint{Scheme: "tcp", Port: 8888}, str: "tcp://:8888"},
		{in: "8888", opt: listen, want: Endpoint{Scheme: "tcp", Port: 8888}, str: "tcp://:8888"},
		{in: "8888", opt: Options{Listen: true, UDP: true}, want: Endpoint{Scheme: "udp", Port: 8888}, str: "udp://:8888"},
		{in: "0", opt: listen, want: Endpoint{Scheme: "tcp", Port: 0}, str: "tcp://:0"},
		{in: "127.0.0.1:0", opt: listen, want: Endpoint{Scheme: "tcp", Host: "127.0.0.1"}, str: "tcp://127.0.0.1:0"},
		{in: "tcp://:65535", opt: listen, want: Endpoint{Scheme: "tcp", Port: 65535}},
		{in: "localhost:http", want: Endpoint{Scheme: "tcp", Host: "localhost", Port: 80}, str: "tcp://localhost:80"},
		{in: "localhost:ssh", want: Endpoint{Scheme: "tcp", Host: "localhost", Port: 22}, str: "tcp://localhost:22"},
		{in: "localhost:0080", want: Endpoint{Scheme: "tcp", Host: "localhost", Port: 80}, str: "tcp://localhost:80"},
		// -4 and -6 force the family and agree with a matching scheme or literal.
		{in: "127.0.0.1:1", opt: Options{Family: 4}, want: Endpoint{Scheme: "tcp4", Host: "127.0.0.1", Port: 1, Family: 4}, str: "tcp4://127.0.0.1:1"},
		{in: "[::1]:1", opt: Options{Family: 6}, want: Endpoint{Scheme: "tcp6", Host: "::1", Port: 1, Family: 6}, str: "tcp6://[::1]:1"},
		{in: "localhost:1", opt: Options{Family: 6, UDP: true}, want: Endpoint{Scheme: "udp6", Host: "localhost", Port: 1, Family: 6}, str: "udp6://localhost:1"},
		{in: "tcp4://127.0.0.1:1", opt: Options{Family: 4}, want: Endpoint{Scheme: "tcp4", Host: "127.0.0.1", Port: 1, Family: 4}},
		{in: "tls://localhost:1", opt: Options{Family: 4}, want: Endpoint{Scheme: "tls", Host: "localhost", Port: 1, Family: 4}, str: "tls://localhost:1"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in, tt.opt)
		if err != nil {
			t.Errorf("Parse(%q, %+v): %v", tt.in, tt.opt, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q, %+v) = %+v, want %+v", tt.in, tt.opt, got, tt.want)
		}
		str := tt.str
		if str == "" {
			str = tt.in
		}
		if got.String() != str {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got.String(), str)
		}
	}
}

func TestParseErrors(t *testing.T) {
	listen := Options{Listen: true}
	tests := []struct {
		in   string
		opt  Options
		want string // in the message
	}{
		{"", Options{}, "empty"},
		{"", listen, "empty"},
		{"foo://127.0.0.1:1", Options{}, `unknown scheme "foo"`},
		{"http://127.0.0.1:80", Options{}, `unknown scheme "http"`},
		{"127.0.0.1:65536", Options{}, "port 65536 is out of range (0-65535)"},
		{"127.0.0.1:99999999", Options{}, "out of range (0-65535)"},
		{"70000", listen, "port 70000 is out of range"},
		{"127.0.0.1:-1", Options{}, `port -1 is out of range (0-65535)`},
		{"127.0.0.1:80x", Options{}, `port "80x" is not a number`},
		{"127.0.0.1:nosuchservice", Options{}, `unknown service name "nosuchservice" (not in /etc/services): give the port as a number`},
		{"127.0.0.1:1.5", Options{}, `port "1.5" is not a number`},
		{"127.0.0.1", Options{}, "missing port"},
		{"127.0.0.1:", Options{}, "missing port"},
		{"tcp://", Options{}, "missing port"},
		{"8888", Options{}, "missing port"},
		{":8888", Options{}, "missing host"},
		{"[::1", Options{}, "unbalanced brackets: missing ']'"},
		{"::1]:80", Options{}, "unbalanced brackets: missing '['"},
		{"[::1]", Options{}, "missing port after ']'"},
		{"[::1]80", Options{}, "expected ':PORT' after ']'"},
		{"[]:80", Options{}, "empty IPv6 address"},
		{"::1:80", Options{}, "IPv6 addresses need brackets: [::1]:80"},
		{"fe80::1:80", Options{}, "IPv6 addresses need brackets"},
		{"[::g]:80", Options{}, `bad IPv6 address "::g"`},
		{"unix://", Options{}, "missing socket path"},
		{"unixgram://", Options{}, "missing socket path"},
		{"unix://a\x00b", Options{}, "NUL byte"},
		{"tcp://127.0.0.1:80/index.html", Options{}, `unexpected "/index.html" after the port`},
		{"tcp://a b:80", Options{}, `bad host "a b"`},
		{"tcp6://127.0.0.1:1", Options{}, "IPv4 address 127.0.0.1 with an IPv6-only scheme"},
		{"tcp4://[::1]:1", Options{}, "IPv6 address ::1 with an IPv4-only scheme"},
		{"[::1]:1", Options{Family: 4}, "IPv6 address ::1 with an IPv4-only scheme or -4"},
		{"127.0.0.1:1", Options{Family: 6}, "IPv4 address 127.0.0.1 with an IPv6-only scheme or -6"},
		{"tcp6://[::1]:1", Options{Family: 4}, "scheme tcp6 conflicts with -4"},
		{"udp4://127.0.0.1:1", Options{Family: 6}, "scheme udp4 conflicts with -6"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in, tt.opt)
		if err == nil {
			t.Errorf("Parse(%q, %+v): no error, want %q", tt.in, tt.opt, tt.want)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.want) {
			t.Errorf("Parse(%q, %+v) = %q, want it to contain %q", tt.in, tt.opt, msg, tt.want)
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("Parse(%q): message is not one line: %q", tt.in, msg)
		}
		ue, ok := fail.As(err)
		if !ok || fail.KindOf(err) != fail.BadInput || exitcode.Code(err) != exitcode.Usage {
			t.Errorf("Parse(%q): error %T is not a usage error (exit 2)", tt.in, err)
		} else if !strings.Contains(ue.Hint(), "unix:///PATH") {
			t.Errorf("Parse(%q): hint %q does not list the accepted forms", tt.in, ue.Hint())
		}
	}
}

// TestParseSlips checks the "Did you mean …?" line for a scheme that is
// misspelt or short of a character, and that a right one gets none.
func TestParseSlips(t *testing.T) {
	for in, want := range map[string]string{
		"udp//x:1":            "udp://x:1",
		"udp:/127.0.0.1:53":   "udp://127.0.0.1:53",
		"tcp:127.0.0.1:80":    "tcp://127.0.0.1:80",
		"tpc://127.0.0.1:80":  "tcp://127.0.0.1:80",
		"unix//tmp/s.sock":    "unix:///tmp/s.sock",
		"unix:/tmp/s.sock":    "unix:///tmp/s.sock",
		"tls//example.test:1": "tls://example.test:1",
	} {
		_, err := Parse(in, Options{})
		ue, ok := fail.As(err)
		if !ok || ue.Kind != fail.BadInput {
			t.Errorf("Parse(%q): %v, want a usage error", in, err)
			continue
		}
		if w := "Did you mean " + want + "?"; ue.Hint() != w {
			t.Errorf("Parse(%q): hint %q, want %q", in, ue.Hint(), w)
		}
	}
	for _, in := range []string{"foo://127.0.0.1:1", "127.0.0.1:99999", "tcp://127.0.0.1"} {
		_, err := Parse(in, Options{})
		if ue, ok := fail.As(err); ok && strings.HasPrefix(ue.Hint(), "Did you mean") {
			t.Errorf("Parse(%q): unexpected hint %q", in, ue.Hint())
		}
	}
	// A host that happens to be named like a scheme still parses.
	if ep, err := Parse("udp:53", Options{}); err != nil || ep.Host != "udp" || ep.Port != 53 {
		t.Errorf(`Parse("udp:53") = %+v, %v; want host "udp" port 53`, ep, err)
	}
}

func TestEndpointMethods(t *testing.T) {
	tests := []struct {
		in                         string
		opt                        Options
		network, address, proto    string
		udp, unix, tls, packetKind bool
	}{
		{"tcp://127.0.0.1:1", Options{}, "tcp", "127.0.0.1:1", "tcp", false, false, false, false},
		{"tcp4://127.0.0.1:1", Options{}, "tcp4", "127.0.0.1:1", "tcp", false, false, false, false},
		{"udp6://[::1]:1", Options{}, "udp6", "[::1]:1", "udp", true, false, false, true},
		{"127.0.0.1:1", Options{UDP: true, Family: 4}, "udp4", "127.0.0.1:1", "udp", true, false, false, true},
		{"tls://[::1]:443", Options{}, "tcp", "[::1]:443", "tls", false, false, true, false},
		{"unix:///tmp/s", Options{}, "unix", "/tmp/s", "unix", false, true, false, false},
		{"unixgram:///tmp/s", Options{}, "unixgram", "/tmp/s", "unixgram", false, true, false, true},
	}
	for _, tt := range tests {
		e, err := Parse(tt.in, tt.opt)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if e.Network() != tt.network || e.Address() != tt.address || e.Proto() != tt.proto ||
			e.IsUDP() != tt.udp || e.IsUnix() != tt.unix || e.IsTLS() != tt.tls || e.IsPacket() != tt.packetKind {
			t.Errorf("%q: Network %q Address %q Proto %q UDP %v Unix %v TLS %v Packet %v; want %q %q %q %v %v %v %v",
				tt.in, e.Network(), e.Address(), e.Proto(), e.IsUDP(), e.IsUnix(), e.IsTLS(), e.IsPacket(),
				tt.network, tt.address, tt.proto, tt.udp, tt.unix, tt.tls, tt.packetKind)
		}
	}
	e, _ := Parse("tcp6://[::1]:1", Options{})
	if w, err := e.WithTLS(); err != nil || w.Scheme != "tls" || w.Family != 6 || w.Network() != "tcp6" {
		t.Errorf("WithTLS of tcp6 = %+v, %v (network %s)", w, err, w.Network())
	}
	if w, err := w6(e).WithTLS(); err != nil || w.Scheme != "tls" {
		t.Errorf("WithTLS of tls = %+v, %v", w, err)
	}
	// No TLS to turn on: bad input naming the option, never a silent
	// no-op that each caller must guard.
	for _, s := range []string{"udp://127.0.0.1:1", "unix:///tmp/x.sock", "unixgram:///tmp/x.sock"} {
		u, _ := Parse(s, Options{})
		w, err := u.WithTLS()
		if fail.KindOf(err) != fail.BadInput || exitcode.Message(err) != "--tls needs a TCP or ws:// endpoint, not "+u.Scheme {
			t.Errorf("WithTLS of %s = %+v, %v; want bad input", s, w, err)
		}
	}
}

// w6 is e as TLS already.
func w6(e Endpoint) Endpoint {
	e.Scheme = "tls"
	return e
}

// FuzzParse checks that no input panics, that every error is a one-line
// usage error, and that what parses prints back to a form that parses to
// the same endpoint.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"tcp://127.0.0.1:8888", "udp://[::1]:53", "tcp4://h:1", "udp6://[::1]:0",
		"tls://example.test:https", "unix:///tmp/s", "unixgram://s", "[::1]:1", ":1", "1",
		"[fe80::1%lo]:80", "::1:80", "[::1", "h:99999", "", "x://y:1",
	} {
		for _, flags := range []uint8{0, 1, 2, 4, 8} {
			f.Add(s, flags)
		}
	}
	f.Fuzz(func(t *testing.T, s string, flags uint8) {
		opt := Options{UDP: flags&1 != 0, Listen: flags&2 != 0}
		switch {
		case flags&4 != 0:
			opt.Family = 4
		case flags&8 != 0:
			opt.Family = 6
		}
		e, err := Parse(s, opt)
		if err != nil {
			if fail.KindOf(err) != fail.BadInput {
				t.Fatalf("Parse(%q): error %T is not a usage error: %v", s, err, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("Parse(%q): message is not one line: %q", s, err)
			}
			return
		}
		again, err := Parse(e.String(), opt)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, but its String %q does not parse: %v", s, e, e.String(), err)
		}
		if again != e {
			t.Fatalf("Parse(%q) = %+v; Parse(%q) = %+v", s, e, e.String(), again)
		}
		if e.Port < 0 || e.Port > 65535 {
			t.Fatalf("Parse(%q): port %d out of range", s, e.Port)
		}
	})
}

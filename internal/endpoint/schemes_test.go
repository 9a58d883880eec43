package endpoint

import (
	"strings"
	"testing"

	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/sockittest"
)

func TestParseNewSchemes(t *testing.T) {
	listen := Options{Listen: true}
	tests := []struct {
		in   string
		opt  Options
		want Endpoint
		str  string
	}{
		{in: "serial:///dev/ttyUSB0", want: Endpoint{Scheme: "serial", Path: "/dev/ttyUSB0", Serial: DefaultSerial},
			str: "serial:///dev/ttyUSB0?baud=9600&data=8&parity=none&stop=1&flow=none"},
		{in: "serial:///dev/ttyUSB0?baud=115200&data=8&parity=none&stop=1&flow=none",
			want: Endpoint{Scheme: "serial", Path: "/dev/ttyUSB0", Serial: Serial{Baud: 115200, Data: 8, Parity: "none", Stop: "1", Flow: "none"}}},
		{in: "serial://COM3?baud=57600&parity=E&data=7&stop=2",
			want: Endpoint{Scheme: "serial", Path: "COM3", Serial: Serial{Baud: 57600, Data: 7, Parity: "even", Stop: "2", Flow: "none"}},
			str:  "serial://COM3?baud=57600&data=7&parity=even&stop=2&flow=none"},
		{in: "SERIAL:///dev/pts/3?BAUD=1200&stop=1.5", opt: listen,
			want: Endpoint{Scheme: "serial", Path: "/dev/pts/3", Serial: Serial{Baud: 1200, Data: 8, Parity: "none", Stop: "1.5", Flow: "none"}},
			str:  "serial:///dev/pts/3?baud=1200&data=8&parity=none&stop=1.5&flow=none"},
		{in: "ws://127.0.0.1:8080/chat", want: Endpoint{Scheme: "ws", Host: "127.0.0.1", Port: 8080, Path: "/chat"}},
		{in: "ws://example.test", want: Endpoint{Scheme: "ws", Host: "example.test", Port: 80, Path: "/"}, str: "ws://example.test:80/"},
		{in: "wss://example.test/a/b?x=1&y=2", want: Endpoint{Scheme: "wss", Host: "example.test", Port: 443, Path: "/a/b?x=1&y=2"},
			str: "wss://example.test:443/a/b?x=1&y=2"},
		{in: "ws://[::1]:9/", want: Endpoint{Scheme: "ws", Host: "::1", Port: 9, Path: "/"}},
		{in: "ws://[::1]?q", want: Endpoint{Scheme: "ws", Host: "::1", Port: 80, Path: "/?q"}, str: "ws://[::1]:80/?q"},
		{in: "ws://:8080/echo", opt: listen, want: Endpoint{Scheme: "ws", Port: 8080, Path: "/echo"}},
		{in: "ws://8080", opt: listen, want: Endpoint{Scheme: "ws", Port: 8080, Path: "/"}, str: "ws://:8080/"},
		{in: "dtls://127.0.0.1:5684", want: Endpoint{Scheme: "dtls", Host: "127.0.0.1", Port: 5684}},
		{in: "dtls://[::1]:5684", opt: Options{Family: 6}, want: Endpoint{Scheme: "dtls", Host: "::1", Port: 5684, Family: 6}},
		{in: "dtls://:5684", opt: listen, want: Endpoint{Scheme: "dtls", Port: 5684}},
		{in: "unix://@sockit-test", want: Endpoint{Scheme: "unix", Path: "@sockit-test"}},
		{in: "unixgram://@x", want: Endpoint{Scheme: "unixgram", Path: "@x"}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in, tt.opt)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		str := tt.str
		if str == "" {
			str = tt.in
		}
		if got.String() != str {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got.String(), str)
		}
		if again, err := Parse(got.String(), tt.opt); err != nil || again != got {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", got.String(), again, err, got)
		}
	}
}

func TestParseNewSchemesErrors(t *testing.T) {
	tests := []struct {
		in, want, hint string
	}{
		{"serial://", "missing the device", "serial:///dev/ttyUSB0?baud=115200"},
		{"serial://?baud=9600", "missing the device", "serial://COM3"},
		{"serial:///dev/ttyS0?baud=fast", `baud "fast" is not a rate`, "serial:///dev/ttyUSB0"},
		{"serial:///dev/ttyS0?baud=0", `baud "0"`, ""},
		{"serial:///dev/ttyS0?data=9", `data bits "9": want 5, 6, 7 or 8`, ""},
		{"serial:///dev/ttyS0?parity=x", `parity "x"`, ""},
		{"serial:///dev/ttyS0?stop=3", `stop bits "3"`, ""},
		{"serial:///dev/ttyS0?flow=rtscts", `flow control "rtscts" is not supported`, "flow=none"},
		{"serial:///dev/ttyS0?bud=9600", `unknown setting "bud"`, ""},
		{"serial:///dev/ttyS0?baud", `setting "baud" has no value`, ""},
		{"serial:///dev/ttyS0?baud=100&baud=200", `given twice`, ""},
		{"serial:///dev/tty\nS0", "control character", ""},
		{"ws://", "missing host", "ws://HOST:PORT/PATH"},
		{"ws:///path", "missing host", ""},
		{"ws://h:99999/", "out of range", ""},
		{"ws://h:1x/", `port "1x" is not a number`, ""},
		{"ws://h/a b", "%-encoded", ""},
		{"ws://h/#frag", "fragment", ""},
		{"ws://u:p@h/", "user:password@ is not supported; send credentials in an Authorization header", "Note that -H 'Authorization: …' sends credentials; a WebSocket endpoint is ws://HOST:PORT/PATH"},
		{"ws://::1/", "need brackets", ""},
		{"ws://[::1/", "unbalanced brackets", ""},
		{"dtls://127.0.0.1", "missing port", ""},
		{"dtls://h:1/x", "unexpected", ""},
		{"unix://@", "missing name", ""},
		{"unix:///" + strings.Repeat("a", 120), "at most 107", ""},
		{"serail:///dev/ttyS0", `unknown scheme "serail"`, "Did you mean serial:///dev/ttyS0?"},
		{"wss//h:1", "", "Did you mean wss://h:1?"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in, Options{})
		if err == nil {
			t.Errorf("Parse(%q): no error, want %q", tt.in, tt.want)
			continue
		}
		ue, ok := sockittest.AsUsage(err)
		if !ok || exitcode.Code(err) != exitcode.Usage {
			t.Errorf("Parse(%q): %T is not a usage error", tt.in, err)
			continue
		}
		if !strings.Contains(ue.Msg, tt.want) || strings.Contains(ue.Msg, "\n") {
			t.Errorf("Parse(%q) = %q, want one line with %q", tt.in, ue.Msg, tt.want)
		}
		if !strings.Contains(ue.Hint, tt.hint) {
			t.Errorf("Parse(%q) hint = %q, want it to contain %q", tt.in, ue.Hint, tt.hint)
		}
	}
}

func TestMessagesAndProto(t *testing.T) {
	for _, tt := range []struct {
		in             string
		messages, tls  bool
		proto, network string
	}{
		{"tcp://h:1", false, false, "tcp", "tcp"},
		{"udp://h:1", true, false, "udp", "udp"},
		{"ws://h:1/", true, false, "ws", "tcp"},
		{"wss://h:1/", true, true, "wss", "tcp"},
		{"dtls://h:1", true, true, "dtls", "udp"},
		{"serial:///dev/x", false, false, "serial", "serial"},
		{"tls://h:1", false, true, "tls", "tcp"},
	} {
		ep, err := Parse(tt.in, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if ep.Messages() != tt.messages || ep.IsTLS() != tt.tls || ep.Proto() != tt.proto || ep.Network() != tt.network {
			t.Errorf("%s: Messages %v IsTLS %v Proto %s Network %s; want %v %v %s %s", tt.in,
				ep.Messages(), ep.IsTLS(), ep.Proto(), ep.Network(), tt.messages, tt.tls, tt.proto, tt.network)
		}
	}
}

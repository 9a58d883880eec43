package talk

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/server"
	"github.com/sockit/sockit/internal/sockittest"
)

// TestRules states each rule between options once: the engine's wording
// (which the web UI shows) and the command line's (options as flags).
func TestRules(t *testing.T) {
	none := ""
	for _, tc := range []struct {
		name     string
		opt      Options
		msg, cli string // what New says, in the engine's words and as the CLI writes it
	}{
		{"tls on udp", Options{Endpoint: "udp://127.0.0.1:1", TLS: true},
			"tls needs a TCP or ws:// endpoint, not udp", "--tls needs a TCP or ws:// endpoint, not udp"},
		{"tls on unix", Options{Endpoint: "unix:///tmp/x.sock", TLS: true},
			"tls needs a TCP or ws:// endpoint, not unix", "--tls needs a TCP or ws:// endpoint, not unix"},
		{"pin without tls", Options{Endpoint: "127.0.0.1:1", TLSOptions: tlsPin("AB")},
			"pin applies to TLS, and tcp://127.0.0.1:1 is not a TLS endpoint", "--pin applies to TLS, and tcp://127.0.0.1:1 is not a TLS endpoint"},
		{"len16 on udp", Options{Endpoint: "udp://127.0.0.1:1", Frame: "len16"},
			"frame len16 is for streams, not udp", "--frame len16 is for streams, not udp"},
		{"verify without checksum", Options{Endpoint: "127.0.0.1:1", VerifyChecksum: true},
			"verify-checksum needs checksum ALGO", "--verify-checksum needs --checksum ALGO"},
		{"send-only and recv-only", Options{Endpoint: "127.0.0.1:1", SendOnly: true, RecvOnly: true},
			"send-only and recv-only exclude each other", "--send-only and --recv-only exclude each other"},
		{"source on udp", Options{Role: Server, Endpoint: "udp://127.0.0.1:0", Behaviour: Source},
			"source sends a stream: it needs a TCP, TLS or Unix endpoint, not udp", "--source sends a stream: it needs a TCP, TLS or Unix endpoint, not udp"},
		{"exec of nothing", Options{Role: Server, Endpoint: "127.0.0.1:0", Behaviour: Exec, Exec: "  "},
			"exec needs a command", "--exec needs a command"},
		{"allow on unix", Options{Role: Server, Endpoint: "unix:///tmp/x.sock", Admission: Admission{Allow: &none}},
			"allow and deny check IP addresses; unix peers have none", "--allow and --deny check IP addresses; unix peers have none"},
		{"forward stream to datagrams", Options{Role: Server, Endpoint: "127.0.0.1:0", Behaviour: Forward, Forward: "udp://127.0.0.1:1"},
			"cannot forward a stream (tcp://127.0.0.1:0) to datagrams (udp://127.0.0.1:1)", ""},
		{"bad framing", Options{Endpoint: "127.0.0.1:1", Frame: "len99"},
			`bad frame "len99": unknown framing "len99"`, `bad --frame "len99": unknown framing "len99"`},
		{"bad line end", Options{Endpoint: "127.0.0.1:1", Input: Input{EOL: "crlfx"}},
			`unknown line ending "crlfx"`, ""},
		{"bad reply", Options{Role: Server, Endpoint: "127.0.0.1:0", Behaviour: Reply, Reply: `\q`, Input: Input{Escapes: true}},
			`reply "\\q": unknown escape`, `--reply "\\q": unknown escape`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opt)
			if fail.KindOf(err) != fail.BadInput {
				t.Fatalf("New = %v, want bad input", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("message %q, want %q", err, tc.msg)
			}
			if tc.cli != "" && !strings.Contains(exitcode.Message(err), tc.cli) {
				t.Errorf("as the CLI says it: %q, want %q", exitcode.Message(err), tc.cli)
			}
			if tc.opt.Validate() == nil {
				t.Error("Validate passes what New refuses")
			}
		})
	}
}

func tlsPin(pin string) endpoint.TLSOptions { return endpoint.TLSOptions{Pin: pin} }

// TestLineOnDatagrams: line framing on datagrams is taken (one datagram a
// line), by the command line and the web UI alike; the conversation
// itself is not framed.
func TestLineOnDatagrams(t *testing.T) {
	s, err := New(Options{Endpoint: "udp://127.0.0.1:1", Frame: "line"})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Lines() || !s.PerMessage() || !s.Session(1).Packet {
		t.Errorf("Lines %v PerMessage %v Packet %v", s.Lines(), s.PerMessage(), s.Session(1).Packet)
	}
}

// TestCutting: how input is cut into messages, one rule for every front
// end and command.
func TestCutting(t *testing.T) {
	for _, tc := range []struct {
		opt               Options
		lines, perMessage bool
	}{
		{Options{Endpoint: "127.0.0.1:1"}, false, false},
		{Options{Endpoint: "127.0.0.1:1", Frame: "line"}, true, true},
		{Options{Endpoint: "127.0.0.1:1", Frame: "len16"}, true, true},
		{Options{Endpoint: "127.0.0.1:1", Input: Input{Hex: true}}, true, false},
		{Options{Endpoint: "127.0.0.1:1", Input: Input{EOL: "crlf"}}, true, false},
		{Options{Endpoint: "127.0.0.1:1", Encoding: "gbk"}, true, false},
		{Options{Endpoint: "127.0.0.1:1", RecvEncoding: "gbk"}, false, false},
		{Options{Endpoint: "udp://127.0.0.1:1"}, false, true},
	} {
		s, err := New(tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		if s.Lines() != tc.lines || s.PerMessage() != tc.perMessage {
			t.Errorf("%+v: Lines %v PerMessage %v, want %v %v", tc.opt, s.Lines(), s.PerMessage(), tc.lines, tc.perMessage)
		}
	}
}

// TestServerSide: what a server's set-up decides: one client or many, the
// caps, the UDP peers' expiry, the pin note.
func TestServerSide(t *testing.T) {
	for _, tc := range []struct {
		opt      Options
		once     bool
		maxConns int
		anyway   bool
	}{
		{Options{Endpoint: "127.0.0.1:0"}, true, 0, false},
		{Options{Endpoint: "127.0.0.1:0", KeepOpen: true}, false, 0, false},
		{Options{Endpoint: "udp://127.0.0.1:0"}, false, 0, false},
		{Options{Endpoint: "127.0.0.1:0", Behaviour: Echo}, false, 0, true},
		{Options{Endpoint: "127.0.0.1:0", Behaviour: Exec, Exec: "cat"}, false, server.DefaultMaxExec, true},
		{Options{Endpoint: "127.0.0.1:0", Behaviour: Exec, Exec: "cat", Admission: Admission{MaxConns: -1}}, false, -1, true},
	} {
		tc.opt.Role = Server
		s, err := New(tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		srv := s.Server()
		if srv.Once != tc.once || srv.MaxConns != tc.maxConns || s.KeepsOpenAnyway() != tc.anyway {
			t.Errorf("%+v: Once %v MaxConns %d KeepsOpenAnyway %v; want %v %d %v", tc.opt, srv.Once, srv.MaxConns, s.KeepsOpenAnyway(), tc.once, tc.maxConns, tc.anyway)
		}
	}
	s, err := New(Options{Role: Server, Endpoint: "udp://127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Session(0).IdleTimeout; got != DefaultPacketIdle {
		t.Errorf("UDP server's peers expire after %s, want %s", got, DefaultPacketIdle)
	}
	s, err = New(Options{Role: Server, Endpoint: "tls://127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if fp := s.Listening().Ephemeral; len(fp) != 95 {
		t.Errorf("ephemeral certificate's fingerprint %q", fp)
	}
	empty := ""
	s, err = New(Options{Role: Server, Endpoint: "127.0.0.1:0", Admission: Admission{Allow: &empty}})
	if err != nil || !s.AdmitsNoOne() {
		t.Errorf("an empty allow list: %v, admits no one %v", err, s != nil && s.AdmitsNoOne())
	}
}

// TestInputCompose: the line end is text, encoded with the message.
func TestInputCompose(t *testing.T) {
	s, err := New(Options{Endpoint: "127.0.0.1:1", Encoding: "utf-16le", Input: Input{EOL: "crlf"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Compose().Message(nil, []byte("A\n"), "")
	if err != nil || string(got) != "A\x00\r\x00\n\x00" {
		t.Errorf("Message = %q, %v", got, err)
	}
}

// TestFeedAndObservers: a server of many clients gets its input through
// a hub, a line a message; the checksum check tells the observers of a
// bad message.
func TestFeedAndObservers(t *testing.T) {
	bad := make(chan string, 4)
	s, err := New(Options{Role: Server, Endpoint: "127.0.0.1:0", KeepOpen: true, Frame: "line",
		Input: Input{Checksum: "sum8"}, VerifyChecksum: true})
	if err != nil {
		t.Fatal(err)
	}
	joined := make(chan struct{}, 1)
	s.Observe(Observer{Sink: func(e *event.Event) {
		switch e.Kind {
		case event.Connect:
			joined <- struct{}{}
		case event.Error:
			bad <- e.Err
		}
	}})
	if s.NoData() {
		t.Error("NoData with an observer of data")
	}
	srv := s.Server()
	so, err := s.Listening().Open(context.Background(), srv)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- so.Serve(ctx, srv) }()
	defer func() { cancel(); <-done }()
	c, err := net.Dial("tcp", so.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-joined
	var reports []error
	s.Feed(ctx, strings.NewReader("a\nb\n"), &server.Hub{Server: srv}, func(err error) { reports = append(reports, err) })
	if len(reports) > 0 {
		t.Fatal(reports)
	}
	c.SetReadDeadline(time.Now().Add(sockittest.Patience))
	b := make([]byte, 6)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "aa\nbb\n" {
		t.Errorf("client read %q, %v; want each line with its sum8", b, err)
	}
	c.Write([]byte("xy\n"))
	if e := <-bad; !strings.Contains(e, "checksum mismatch") {
		t.Errorf("error event %q", e)
	}
}

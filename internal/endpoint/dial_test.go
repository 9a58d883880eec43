package endpoint

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/exitcode"
)

// traceLog collects --trace lines.
type traceLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *traceLog) tracer() Tracer {
	return func(format string, args ...any) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, fmt.Sprintf(format, args...))
	}
}

func (l *traceLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func mustParse(t *testing.T, s string, opt Options) Endpoint {
	t.Helper()
	e, err := Parse(s, opt)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// acceptOne accepts one connection on ln in the background.
func acceptOne(t *testing.T, ln net.Listener) <-chan net.Conn {
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(ch)
			return
		}
		t.Cleanup(func() { c.Close() })
		ch <- c
	}()
	return ch
}

func TestDialSourceAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ep := mustParse(t, ln.Addr().String(), Options{})
	for _, src := range []string{"127.0.0.2", "127.0.0.3:0", "0"} {
		accepted := acceptOne(t, ln)
		d := &Dialer{Source: src, Timeout: 5 * time.Second}
		c, err := d.Dial(context.Background(), ep)
		if err != nil {
			t.Fatalf("-s %s: %v", src, err)
		}
		s := <-accepted
		want, _, _ := strings.Cut(src, ":")
		got := s.RemoteAddr().(*net.TCPAddr).IP.String()
		if want != "0" && got != want {
			t.Errorf("-s %s: server sees the client at %s", src, s.RemoteAddr())
		}
		c.Close()
	}

	// A fixed local port.
	accepted := acceptOne(t, ln)
	port := freePort(t)
	d := &Dialer{Source: "127.0.0.1:" + strconv.Itoa(port)}
	c, err := d.Dial(context.Background(), ep)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := (<-accepted).RemoteAddr().(*net.TCPAddr).Port; got != port {
		t.Errorf("-s 127.0.0.1:%d: server sees port %d", port, got)
	}

	for _, bad := range []string{"nonsense-host", "127.0.0.1:99999", "1.2.3.4:x"} {
		_, err := (&Dialer{Source: bad}).Dial(context.Background(), ep)
		if exitcode.Code(err) != exitcode.Usage || !strings.Contains(err.Error(), "--source") {
			t.Errorf("-s %q: got %v (exit %d), want a --source usage error", bad, err, exitcode.Code(err))
		}
	}
}

// TestTraceTCP follows a client and a server through the tutorial's
// timeline: socket, bind, listen, accept, connect, send, recv, close.
func TestTraceTCP(t *testing.T) {
	var srvLog, cliLog traceLog
	lc := &ListenConfig{Trace: srvLog.tracer()}
	ln, err := lc.Listen(context.Background(), mustParse(t, "127.0.0.1:0", Options{Listen: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		buf := make([]byte, 5)
		if _, err := io.ReadFull(c, buf); err != nil {
			served <- err
			return
		}
		c.Write([]byte("world"))
		io.Copy(io.Discard, c) // until the client's FIN
		served <- c.Close()
	}()
	d := &Dialer{Trace: cliLog.tracer()}
	c, err := d.Dial(context.Background(), mustParse(t, ln.Addr().String(), Options{}))
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("hello"))
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	c.(interface{ CloseWrite() error }).CloseWrite()
	c.Close()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	inOrder(t, "server", srvLog.String(),
		"socket(AF_INET, SOCK_STREAM) = fd ", "setsockopt(", "SO_REUSEADDR", "bind(fd ", "127.0.0.1:0)",
		"listen(fd ", "backlog ", "accept() -> 127.0.0.1:", "recv(fd ", "-> 5 bytes", "send(fd ", "<- 5 bytes",
		"recv(fd ", "-> 0 bytes  (EOF", "close(fd ", "peer closed first")
	inOrder(t, "client", cliLog.String(),
		"socket(AF_INET, SOCK_STREAM) = fd ", "connect(fd ", ln.Addr().String()+") = ok", "three-way handshake",
		"send(fd ", "<- 5 bytes", "recv(fd ", "-> 5 bytes", "shutdown(fd ", "SHUT_WR", "close(fd ")
}

func TestTraceUDP(t *testing.T) {
	var srvLog, cliLog traceLog
	lc := &ListenConfig{Trace: srvLog.tracer()}
	pc, err := lc.ListenPacket(context.Background(), mustParse(t, "udp://127.0.0.1:0", Options{Listen: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 100)
		n, addr, err := pc.ReadFrom(buf)
		if err == nil {
			pc.WriteTo(buf[:n], addr)
		}
	}()
	d := &Dialer{Trace: cliLog.tracer()}
	c, err := d.Dial(context.Background(), mustParse(t, "udp://"+pc.LocalAddr().String(), Options{}))
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("ping"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 100)
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	c.Close()
	inOrder(t, "server", srvLog.String(), "socket(AF_INET, SOCK_DGRAM) = fd ", "bind(fd ", "bound 127.0.0.1:", "no listen() or accept()")
	inOrder(t, "client", cliLog.String(), "socket(AF_INET, SOCK_DGRAM)", "connect(fd ", "nothing is sent",
		"sendto(fd ", pc.LocalAddr().String()+") <- 4 bytes", "recvfrom(fd ", "-> 4 bytes from "+pc.LocalAddr().String(), "close(fd ")
}

// inOrder checks that the parts appear in log in this order.
func inOrder(t *testing.T, who, log string, parts ...string) {
	t.Helper()
	rest := log
	for _, p := range parts {
		i := strings.Index(rest, p)
		if i < 0 {
			t.Fatalf("%s trace lacks %q (in order) in:\n%s", who, p, log)
		}
		rest = rest[i+len(p):]
	}
}

func TestTraceOffCostsNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acceptOne(t, ln)
	c, err := (&Dialer{}).Dial(context.Background(), mustParse(t, ln.Addr().String(), Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*net.TCPConn); !ok {
		t.Errorf("without --trace Dial returns %T, want the bare *net.TCPConn (splice, no wrapper)", c)
	}
	var nilTracer Tracer
	if nilTracer.Wrap(c) != c {
		t.Error("a nil Tracer wrapped the connection")
	}
}

func TestUnixgramClientGetsReplies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.sock")
	pc, err := (&ListenConfig{}).ListenPacket(context.Background(), mustParse(t, "unixgram://"+path, Options{Listen: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c, err := (&Dialer{}).Dial(context.Background(), mustParse(t, "unixgram://"+path, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("ping"))
	buf := make([]byte, 16)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if from == nil || from.String() == "" || from.String() == "@" {
		t.Fatalf("the unixgram client has no address to reply to (%v)", from)
	}
	if _, err := pc.WriteTo(buf[:n], from); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("reply: %q, %v", buf[:n], err)
	}
}

func TestTLSPin(t *testing.T) {
	cfg, fp, err := TLSOptions{}.Server()
	if err != nil {
		t.Fatal(err)
	}
	lc := &ListenConfig{TLS: cfg}
	ln, err := lc.Listen(context.Background(), mustParse(t, "tls://127.0.0.1:0", Options{Listen: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	ep := mustParse(t, "tls://"+ln.Addr().String(), Options{})
	dial := func(o TLSOptions) (net.Conn, error) {
		cc, err := o.Client()
		if err != nil {
			return nil, err
		}
		return (&Dialer{TLS: cc, Timeout: 5 * time.Second}).Dial(context.Background(), ep)
	}

	// The pin in each accepted spelling.
	lower := strings.ToLower(strings.ReplaceAll(fp, ":", ""))
	for _, pin := range []string{fp, lower, "sha256:" + lower} {
		c, err := dial(TLSOptions{Pin: pin})
		if err != nil {
			t.Fatalf("--pin %s: %v", pin, err)
		}
		c.Write([]byte("x"))
		b := make([]byte, 1)
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatal(err)
		}
		if _, ok := c.(*tls.Conn); !ok {
			t.Errorf("TLS dial returned %T", c)
		}
		c.Close()
	}

	wrong := strings.Repeat("ab", 32)
	_, err = dial(TLSOptions{Pin: wrong})
	if exitcode.Code(err) != exitcode.TLS || !strings.Contains(err.Error(), "certificate pin mismatch: the server's certificate has SHA256 "+fp) {
		t.Errorf("wrong pin: %v (exit %d), want a pin mismatch naming %s (exit 5)", err, exitcode.Code(err), fp)
	}
	_, err = dial(TLSOptions{})
	if exitcode.Code(err) != exitcode.TLS || !strings.Contains(err.Error(), "unknown authority") {
		t.Errorf("unverified self-signed cert: %v (exit %d), want unknown authority (exit 5)", err, exitcode.Code(err))
	}
	if !strings.Contains(exitcode.Hint(err), "--pin") {
		t.Errorf("hint for an unknown authority: %q", exitcode.Hint(err))
	}
	_, err = dial(TLSOptions{Pin: "00:11"})
	if exitcode.Code(err) != exitcode.Usage {
		t.Errorf("malformed pin: %v (exit %d), want exit 2", err, exitcode.Code(err))
	}
	c, err := dial(TLSOptions{Insecure: true})
	if err != nil {
		t.Fatalf("--insecure: %v", err)
	}
	c.Close()
}

func TestProxyRefused(t *testing.T) {
	ep := mustParse(t, "127.0.0.1:9", Options{})
	port := freePort(t) // nothing listens there
	for _, proxy := range []string{"socks5://127.0.0.1:" + strconv.Itoa(port), "http://127.0.0.1:" + strconv.Itoa(port), "socks5://u:p@127.0.0.1:" + strconv.Itoa(port)} {
		_, err := (&Dialer{Proxy: proxy, Timeout: 5 * time.Second}).Dial(context.Background(), ep)
		if exitcode.Code(err) != exitcode.Unreachable || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("--proxy %s with nothing there: %v (exit %d), want connection refused (exit 3)", proxy, err, exitcode.Code(err))
		}
	}
	for _, proxy := range []string{"ftp://127.0.0.1:1", "::nonsense"} {
		_, err := (&Dialer{Proxy: proxy}).Dial(context.Background(), ep)
		if exitcode.Code(err) != exitcode.Usage {
			t.Errorf("--proxy %s: %v (exit %d), want exit 2", proxy, err, exitcode.Code(err))
		}
	}
	_, err := (&Dialer{Proxy: "socks5://127.0.0.1:1"}).Dial(context.Background(), mustParse(t, "udp://127.0.0.1:9", Options{}))
	if exitcode.Code(err) != exitcode.Usage {
		t.Errorf("--proxy with UDP: %v (exit %d), want exit 2", err, exitcode.Code(err))
	}
}

func TestDialErrors(t *testing.T) {
	port := freePort(t)
	_, err := (&Dialer{}).Dial(context.Background(), mustParse(t, "127.0.0.1:"+strconv.Itoa(port), Options{}))
	if want := "connect tcp://127.0.0.1:" + strconv.Itoa(port) + ": connection refused"; err == nil || err.Error() != want {
		t.Errorf("refused: %v, want %q", err, want)
	}
	if exitcode.Code(err) != exitcode.Unreachable {
		t.Errorf("refused: exit %d", exitcode.Code(err))
	}
	_, err = (&Dialer{NoDNS: true}).Dial(context.Background(), mustParse(t, "localhost:1", Options{}))
	if exitcode.Code(err) != exitcode.Usage {
		t.Errorf("-n with a name: %v (exit %d), want exit 2", err, exitcode.Code(err))
	}
	_, err = (&Dialer{Timeout: 5 * time.Second}).Dial(context.Background(), mustParse(t, "host.invalid:1", Options{}))
	if exitcode.Code(err) != exitcode.Unreachable {
		t.Errorf("unknown host: %v (exit %d), want exit 3", err, exitcode.Code(err))
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

package interop

import (
	"strings"
	"testing"

	"github.com/sockit/sockit/internal/sockittest"
)

// traceOrder checks that the trace: lines on stderr contain parts in order.
func traceOrder(t *testing.T, who, stderr string, parts ...string) {
	t.Helper()
	var trace []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "trace: ") {
			trace = append(trace, l)
		}
	}
	log := strings.Join(trace, "\n")
	rest := log
	for _, p := range parts {
		i := strings.Index(rest, p)
		if i < 0 {
			t.Errorf("%s: trace lacks %q (in this order); trace:\n%s", who, p, log)
			return
		}
		rest = rest[i+len(p):]
	}
}

// TestTrace follows the tutorial's timelines in --trace output: the TCP
// server (socket, bind, listen, accept, recv, send, close), the TCP client
// (socket, connect, send, recv, close), and a UDP exchange (socket, bind;
// sendto, recvfrom).
func TestTrace(t *testing.T) {
	t.Parallel()
	t.Run("tcp", func(t *testing.T) {
		srv, addr := sockitListen(t, "", "", "--trace", "127.0.0.1:0")
		cli := sockittest.Start(t, "connect", "--trace", addr)
		cli.Stdin.Write([]byte("hello\n"))
		sockittest.Eventually(t, "the server to receive hello", func() bool { return srv.Stdout() == "hello\n" })
		srv.Stdin.Write([]byte("world\n"))
		srv.Stdin.Close() // the server's FIN follows its answer
		exitCode(t, cli, 0, "sockit connect")
		exitCode(t, srv, 0, "sockit listen")
		if cli.Stdout() != "world\n" {
			t.Errorf("client got %q", cli.Stdout())
		}
		traceOrder(t, "server", srv.Stderr(),
			"trace: socket(AF_INET, SOCK_STREAM) = fd ",
			"trace: bind(fd ", "127.0.0.1:0)",
			"trace: listen(fd ", "backlog ",
			"trace: accept() -> 127.0.0.1:",
			"trace: recv(fd ", "-> 6 bytes",
			"trace: send(fd ", "<- 6 bytes",
			"trace: shutdown(fd ", "SHUT_WR",
			"trace: recv(fd ", "-> 0 bytes",
			"trace: close(fd ")
		traceOrder(t, "client", cli.Stderr(),
			"trace: socket(AF_INET, SOCK_STREAM) = fd ",
			"trace: connect(fd ", addr+") = ok",
			"trace: send(fd ", "<- 6 bytes",
			"trace: recv(fd ", "-> 6 bytes",
			"trace: recv(fd ", "-> 0 bytes  (EOF",
			"trace: close(fd ", "peer closed first")
	})
	t.Run("udp", func(t *testing.T) {
		srv, addr := sockitListen(t, "", "", "-u", "--echo", "--trace", "127.0.0.1:0")
		out, stderr, code := run(t, "", "send", "--trace", "--wait", "0.3", "udp://"+addr, "ping")
		if code != 0 || out != "ping" {
			t.Fatalf("send: exit %d, stdout %q; stderr:\n%s", code, out, stderr)
		}
		traceOrder(t, "client", stderr,
			"trace: socket(AF_INET, SOCK_DGRAM) = fd ",
			"trace: connect(fd ", "UDP: only sets the default peer",
			"trace: sendto(fd ", addr+") <- 4 bytes",
			"trace: recvfrom(fd ", "-> 4 bytes from "+addr,
			"trace: close(fd ")
		// connect -u ends at --wait after stdin: the read deadline is how
		// a UDP exchange ends, not a failure.
		out, stderr, code = run(t, "ping\n", "connect", "-u", "--trace", "--wait", "0.3", addr)
		if code != 0 || out != "ping\n" {
			t.Fatalf("connect -u: exit %d, stdout %q; stderr:\n%s", code, out, stderr)
		}
		traceOrder(t, "connect -u", stderr,
			"trace: recvfrom(fd ", "-> 5 bytes from "+addr,
			"trace: recvfrom(fd ", "-> timed out  (nothing arrived before the read deadline: --wait or -i)",
			"trace: close(fd ")
		if strings.Contains(stderr, "failed") {
			t.Errorf("connect -u trace says a call failed:\n%s", stderr)
		}
		sockittest.Eventually(t, "the server's sendto", func() bool { return strings.Contains(srv.Stderr(), "trace: sendto(") })
		traceOrder(t, "server", srv.Stderr(),
			"trace: socket(AF_INET, SOCK_DGRAM) = fd ",
			"trace: bind(fd ", "127.0.0.1:0)",
			"trace: bound 127.0.0.1:", "no listen() or accept()",
			"trace: recvfrom(fd ", "-> 4 bytes from 127.0.0.1:",
			"trace: sendto(fd ", "<- 4 bytes")
		srv.Interrupt()
		exitCode(t, srv, 130, "sockit listen -u")
	})
	t.Run("off", func(t *testing.T) {
		_, addr := sockitListen(t, "", "", "--echo", "127.0.0.1:0")
		_, stderr, code := run(t, "x\n", "connect", addr)
		if code != 0 || stderr != "" {
			t.Errorf("without --trace: exit %d, stderr %q", code, stderr)
		}
	})
}

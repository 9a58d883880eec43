package interop

import (
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// TestFamilies runs connect, send and listen over IPv6 ([::1]) and Unix
// sockets (stream and datagram): sockit against sockit --echo, and sockit
// listen against clients from Go's net package, Python and socat.
func TestFamilies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	type family struct {
		name   string
		listen string // endpoint to listen on
		dial   func(addr string) string
		packet bool
	}
	families := []family{
		{"tcp6", "tcp://[::1]:0", func(a string) string { return "tcp://" + a }, false},
		{"udp6", "udp://[::1]:0", func(a string) string { return "udp://" + a }, true},
		{"tcp6-shorthand", "[::1]:0", func(a string) string { return a }, false},
		{"unix", "unix://" + filepath.Join(dir, "s.sock"), func(a string) string { return "unix://" + a }, false},
		{"unixgram", "unixgram://" + filepath.Join(dir, "g.sock"), func(a string) string { return "unixgram://" + a }, true},
	}
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			srv, addr := sockitListen(t, "", "", "--echo", f.listen)
			if strings.HasPrefix(f.listen, "tcp") || strings.HasPrefix(f.listen, "udp") || strings.HasPrefix(f.listen, "[") {
				if !strings.HasPrefix(addr, "[::1]:") {
					t.Fatalf("listening on %s, want [::1]:PORT", addr)
				}
			}
			ep := f.dial(addr)

			// send: one message, the echo printed.
			out, stderr, code := run(t, "", "send", "--wait", "0.5", ep, "hi there")
			if code != 0 || out != "hi there" {
				t.Errorf("send %s: exit %d, stdout %q; stderr:\n%s", ep, code, out, stderr)
			}
			noPanic(t, stderr)

			// connect in pipe mode: lines out, the same lines back.
			args := []string{"connect", ep}
			if f.packet {
				args = append(args, "--wait", "0.5")
			}
			out, stderr, code = run(t, "line one\nline two\n", args...)
			if code != 0 {
				t.Errorf("connect %s: exit %d; stderr:\n%s", ep, code, stderr)
			}
			if out != "line one\nline two\n" {
				t.Errorf("connect %s: got %q", ep, out)
			}
			srv.Interrupt()
			exitCode(t, srv, 130, "sockit listen --echo")
		})
	}

	// sockit listen (one client, stdin/stdout) with foreign clients.
	t.Run("listen-tcp6-go-client", func(t *testing.T) {
		srv, addr := sockitListen(t, "", "", "[::1]:0")
		srv.Stdin.Write([]byte("from server\n"))
		c, err := net.DialTimeout("tcp6", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("from client\n"))
		readUntil(t, c, "from server\n")
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c)
		exitCode(t, srv, 0, "sockit listen [::1]")
		if srv.Stdout() != "from client\n" {
			t.Errorf("server printed %q", srv.Stdout())
		}
	})
	t.Run("listen-unix-socat-client", func(t *testing.T) {
		sockittest.Need(t, "socat")
		path := filepath.Join(dir, "one.sock")
		srv, _ := sockitListen(t, "", "", "unix://"+path)
		srv.Stdin.Write([]byte("from server\n"))
		c := cmd(t, "socat", "-", "UNIX-CONNECT:"+path)
		p := sockittest.StartCmd(t, c)
		p.Stdin.Write([]byte("from client\n"))
		sockittest.Eventually(t, "socat to get the server's line", func() bool { return p.Stdout() == "from server\n" })
		p.Stdin.Close()
		exitCode(t, p, 0, "socat")
		exitCode(t, srv, 0, "sockit listen unix://")
		if srv.Stdout() != "from client\n" {
			t.Errorf("server printed %q", srv.Stdout())
		}
	})
	t.Run("listen-unixgram-python-client", func(t *testing.T) {
		path := filepath.Join(dir, "dg.sock")
		srv, _ := sockitListen(t, "", "", "--encoding", "gbk", "unixgram://"+path)
		srv.Stdin.Write([]byte("收到\n"))
		py := python(t, `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[2])          # a datagram client needs an address for replies
s.settimeout(60)
s.sendto("你好\n".encode("gbk"), sys.argv[1])
data, _ = s.recvfrom(1024)
print(data.decode("gbk"), end="")
`, path, filepath.Join(dir, "client.sock"))
		exitCode(t, py, 0, "python unixgram client")
		if py.Stdout() != "收到\n" {
			t.Errorf("python got %q", py.Stdout())
		}
		sockittest.Eventually(t, "the server to print the datagram", func() bool { return srv.Stdout() == "你好\n" })
		srv.Interrupt()
		exitCode(t, srv, 130, "sockit listen unixgram://")
	})
	t.Run("connect-udp6-python-server", func(t *testing.T) {
		py, p := pyPort(t, `
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::1", 0))
print(s.getsockname()[1], flush=True)
s.settimeout(60)
data, addr = s.recvfrom(1024)
s.sendto(data.upper(), addr)
`)
		out, stderr, code := run(t, "", "send", "-6", "udp://[::1]:"+strconv.Itoa(p), "ipv6 ok")
		if code != 0 || out != "IPV6 OK" {
			t.Errorf("exit %d, stdout %q; stderr:\n%s", code, out, stderr)
		}
		exitCode(t, py, 0, "python udp6 server")
	})
}

package interop

import (
	"strconv"
	"strings"
	"testing"

	"github.com/sockit/sockit/internal/sockittest"
)

// The tutorial (../shared/seed/tutorial.md) teaches four programs: a UDP
// client, a UDP server, a TCP client and a TCP server, written with
// Python's socket module. Here they are written fresh (the seed's TCP
// client used SOCK_DGRAM, a string port and sent str), and sockit plays
// the other end of each: the server for the Python clients, the client of
// the Python servers, with UTF-8 and with GBK text as the tutorial's
// Chinese readers send it.

// pyUDPClient: socket(AF_INET, SOCK_DGRAM), sendto, recvfrom, close.
const pyUDPClient = `
from socket import *
import sys
port, enc, text = int(sys.argv[1]), sys.argv[2], sys.argv[3]
udp_socket = socket(AF_INET, SOCK_DGRAM)
udp_socket.settimeout(60)
udp_socket.sendto(text.encode(enc), ("127.0.0.1", port))
recv_data, addr = udp_socket.recvfrom(1024)
print(recv_data.decode(enc), end="")
udp_socket.close()
`

// pyUDPServer: socket, bind, recvfrom, sendto (to the sender), close.
const pyUDPServer = `
from socket import *
import sys
enc, reply = sys.argv[1], sys.argv[2]
udp_socket = socket(AF_INET, SOCK_DGRAM)
udp_socket.bind(("127.0.0.1", 0))
print(udp_socket.getsockname()[1], flush=True)
udp_socket.settimeout(60)
recv_data, addr = udp_socket.recvfrom(1024)
print(recv_data.decode(enc), flush=True)
udp_socket.sendto(reply.encode(enc), addr)
udp_socket.close()
`

// pyTCPClient is the seed's TCP client, fixed: SOCK_STREAM, an int port,
// bytes on the wire; it reads the reply up to its newline.
const pyTCPClient = `
from socket import *
import sys
port, enc, text = int(sys.argv[1]), sys.argv[2], sys.argv[3]
tcp_client = socket(AF_INET, SOCK_STREAM)
tcp_client.settimeout(60)
tcp_client.connect(("127.0.0.1", port))
tcp_client.sendall(text.encode(enc))
recv_data = b""
while not recv_data.endswith(b"\n"):
    chunk = tcp_client.recv(1024)
    if not chunk:
        break
    recv_data += chunk
print(recv_data.decode(enc), end="")
tcp_client.close()
`

// pyTCPServer: socket, bind, listen, accept, recv (to the newline or the
// client's FIN), send, close.
const pyTCPServer = `
from socket import *
import sys
enc, reply = sys.argv[1], sys.argv[2]
tcp_server = socket(AF_INET, SOCK_STREAM)
tcp_server.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
tcp_server.bind(("127.0.0.1", 0))
tcp_server.listen(128)
print(tcp_server.getsockname()[1], flush=True)
tcp_server.settimeout(60)
client, addr = tcp_server.accept()
client.settimeout(60)
recv_data = b""
while not recv_data.endswith(b"\n"):
    chunk = client.recv(1024)
    if not chunk:
        break
    recv_data += chunk
print(recv_data.decode(enc), end="", flush=True)
client.sendall(reply.encode(enc))
client.close()
tcp_server.close()
`

var encodings = []struct {
	name  string
	flags []string // sockit's flags for this text encoding
}{
	{"utf-8", nil},
	{"gbk", []string{"--encoding", "gbk"}},
}

const (
	hello = "你好，世界 hello\n"
	ack   = "收到 ok\n"
)

// TestTutorialUDPServer: the Python UDP client talks to `sockit listen -u`.
func TestTutorialUDPServer(t *testing.T) {
	t.Parallel()
	for _, enc := range encodings {
		t.Run(enc.name, func(t *testing.T) {
			args := append([]string{"-u", "127.0.0.1:0"}, enc.flags...)
			sk, addr := sockitListen(t, "", "", args...)
			sk.Stdin.Write([]byte(ack)) // goes to the first sender once it appears
			py := python(t, pyUDPClient, strconv.Itoa(port(t, addr)), enc.name, hello)
			exitCode(t, py, 0, "python UDP client")
			if got := py.Stdout(); got != ack {
				t.Errorf("python client got %q, want %q", got, ack)
			}
			sockittest.Eventually(t, "sockit to print the datagram", func() bool { return sk.Stdout() == hello })
			sk.Interrupt()
			exitCode(t, sk, 130, "sockit listen -u (interrupted)")
		})
	}
}

// TestTutorialTCPServer: the Python TCP client talks to `sockit listen`,
// which serves it and exits when it leaves.
func TestTutorialTCPServer(t *testing.T) {
	t.Parallel()
	for _, enc := range encodings {
		t.Run(enc.name, func(t *testing.T) {
			args := append([]string{"127.0.0.1:0"}, enc.flags...)
			sk, addr := sockitListen(t, "", "", args...)
			sk.Stdin.Write([]byte(ack))
			py := python(t, pyTCPClient, strconv.Itoa(port(t, addr)), enc.name, hello)
			exitCode(t, py, 0, "python TCP client")
			if got := py.Stdout(); got != ack {
				t.Errorf("python client got %q, want %q", got, ack)
			}
			exitCode(t, sk, 0, "sockit listen (one client)")
			if got := sk.Stdout(); got != hello {
				t.Errorf("sockit printed %q, want %q", got, hello)
			}
		})
	}
}

// TestTutorialUDPClient: `sockit send` and `sockit connect -u` talk to the
// Python UDP server.
func TestTutorialUDPClient(t *testing.T) {
	t.Parallel()
	for _, enc := range encodings {
		t.Run(enc.name+"/send", func(t *testing.T) {
			py, p := pyPort(t, pyUDPServer, enc.name, ack)
			args := append([]string{"send", "udp://127.0.0.1:" + strconv.Itoa(p), hello}, enc.flags...)
			out, stderr, code := run(t, "", args...)
			if code != 0 || out != ack {
				t.Errorf("sockit send: exit %d, stdout %q (want %q); stderr:\n%s", code, out, ack, stderr)
			}
			exitCode(t, py, 0, "python UDP server")
			if got := strings.TrimPrefix(py.Stdout(), strconv.Itoa(p)+"\n"); got != hello+"\n" {
				t.Errorf("python server got %q, want %q", got, hello+"\n")
			}
		})
		t.Run(enc.name+"/connect", func(t *testing.T) {
			py, p := pyPort(t, pyUDPServer, enc.name, ack)
			args := append([]string{"connect", "-u", "--wait", "0.5", "127.0.0.1:" + strconv.Itoa(p)}, enc.flags...)
			out, stderr, code := run(t, hello, args...)
			if code != 0 || out != ack {
				t.Errorf("sockit connect -u: exit %d, stdout %q (want %q); stderr:\n%s", code, out, ack, stderr)
			}
			exitCode(t, py, 0, "python UDP server")
			if got := strings.TrimPrefix(py.Stdout(), strconv.Itoa(p)+"\n"); got != hello+"\n" {
				t.Errorf("python server got %q, want %q", got, hello+"\n")
			}
		})
	}
	// The seed's own mix: the client sends UTF-8 and decodes the reply as
	// GBK (print(recv_data[0].decode('gbk'))).
	t.Run("recv-encoding-gbk", func(t *testing.T) {
		py, p := pyPort(t, pyUDPServer, "gbk", "你好")
		out, stderr, code := run(t, "", "send", "--recv-encoding", "gbk", "udp://127.0.0.1:"+strconv.Itoa(p), "hello")
		if code != 0 || out != "你好" {
			t.Errorf("exit %d, stdout %q, want 你好; stderr:\n%s", code, out, stderr)
		}
		exitCode(t, py, 0, "python UDP server")
	})
}

// TestTutorialTCPClient: `sockit connect` and `sockit send` talk to the
// Python TCP server.
func TestTutorialTCPClient(t *testing.T) {
	t.Parallel()
	for _, enc := range encodings {
		t.Run(enc.name+"/connect", func(t *testing.T) {
			py, p := pyPort(t, pyTCPServer, enc.name, ack)
			args := append([]string{"connect", "127.0.0.1:" + strconv.Itoa(p)}, enc.flags...)
			out, stderr, code := run(t, hello, args...)
			if code != 0 || out != ack {
				t.Errorf("sockit connect: exit %d, stdout %q (want %q); stderr:\n%s", code, out, ack, stderr)
			}
			exitCode(t, py, 0, "python TCP server")
			if got := strings.TrimPrefix(py.Stdout(), strconv.Itoa(p)+"\n"); got != hello {
				t.Errorf("python server got %q, want %q", got, hello)
			}
		})
		t.Run(enc.name+"/send", func(t *testing.T) {
			py, p := pyPort(t, pyTCPServer, enc.name, ack)
			args := append([]string{"send", "--send-encoding", enc.name, "--recv-encoding", enc.name, "127.0.0.1:" + strconv.Itoa(p), hello}, enc.flags...)
			out, stderr, code := run(t, "", args...)
			if code != 0 || out != ack {
				t.Errorf("sockit send: exit %d, stdout %q (want %q); stderr:\n%s", code, out, ack, stderr)
			}
			exitCode(t, py, 0, "python TCP server")
			if got := strings.TrimPrefix(py.Stdout(), strconv.Itoa(p)+"\n"); got != hello {
				t.Errorf("python server got %q, want %q", got, hello)
			}
		})
	}
	// A GBK reply decoded with --recv-encoding gbk, the request sent as
	// GBK with --send-encoding gbk: the Python side decodes it as GBK.
	t.Run("send-encoding-and-recv-encoding", func(t *testing.T) {
		py, p := pyPort(t, pyTCPServer, "gbk", "你好")
		out, stderr, code := run(t, "", "send", "--send-encoding", "gbk", "--recv-encoding", "gbk", "127.0.0.1:"+strconv.Itoa(p), "中文请求\n")
		if code != 0 || out != "你好" {
			t.Errorf("exit %d, stdout %q, want 你好; stderr:\n%s", code, out, stderr)
		}
		exitCode(t, py, 0, "python TCP server")
		if got := strings.TrimPrefix(py.Stdout(), strconv.Itoa(p)+"\n"); got != "中文请求\n" {
			t.Errorf("python server decoded %q", got)
		}
	})
}

package interop

import (
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sockit/sockit/internal/sockittest"
)

// The READMEs' section on the tutorial's common mistakes (issue 10) quotes
// what the tutorial's programs print, bug by bug, and shows sockit
// commands that check a program from the other end. TestREADMEMistakes
// runs all of it on loopback: the tutorial's TCP client as printed and
// after each fix, its UDP client, and every command of the section's code
// block as printed (its fixed ports swapped for ones the test owns), so
// the section says what happens today. TestREADMEsInStep keeps the
// Chinese section the same as the English one.

// seedTCPClient is the tutorial's TCP client as it prints it, bugs and all
// (../shared/seed/tutorial.md): SOCK_DGRAM, the port left a string, str
// sent where bytes are needed.
const seedTCPClient = `from socket import *

tcp_client = socket(AF_INET, SOCK_DGRAM)

server_ip = input('input server ip:')
server_port = input('input server port:')

tcp_client.connect((server_ip,server_port))

send_data = input('input send data:')

tcp_client.send(send_data)

tcp_client.send(send_data.encode("gbk"))

recvData = tcp_client.recv(1024)
print('接收到的数据为:', recvData.decode('gbk'))

tcp_client.close()
`

// seedUDPClient is the tutorial's UDP client as it prints it: it sends
// UTF-8 and decodes the reply as GBK. Its address is the author's; the
// test puts 127.0.0.1 and a port of its own there.
const seedUDPClient = `from socket import *

udp_socket = socket(AF_INET, SOCK_DGRAM)

dest_addr = ('192.168.123.1', 8888)

send_data = input('请输入要发送的数据:')

udp_socket.sendto(send_data.encode('utf-8'), dest_addr)

recv_data = udp_socket.recvfrom(1024)

# 接收到的数据recv_data是一个元组
# 第1个元素是对方发送的数据
# 第2个元素是对方的ip和端口
print(recv_data[0].decode('gbk'))
print(recv_data[1])

udp_socket.close()
`

// The README's three fixes, applied in its order.
var tcpClientFixes = [][2]string{
	{"server_port = input('input server port:')", "server_port = int(input('input server port:'))"},
	{"tcp_client.send(send_data)\n", ""},
	{"socket(AF_INET, SOCK_DGRAM)", "socket(AF_INET, SOCK_STREAM)"},
}

// fixed is the seed's TCP client with its first n fixes applied.
func fixed(t *testing.T, n int) string {
	t.Helper()
	src := seedTCPClient
	for _, f := range tcpClientFixes[:n] {
		if !strings.Contains(src, f[0]) {
			t.Fatalf("the tutorial's client has no %q to fix", f[0])
		}
		src = strings.Replace(src, f[0], f[1], 1)
	}
	return src
}

// pyInput starts a Python program and types lines into its input().
func pyInput(t *testing.T, src string, lines ...string) *sockittest.Proc {
	t.Helper()
	c := cmd(t, "python3", "-c", src)
	c.Env = append(os.Environ(), "PYTHONIOENCODING=utf-8")
	p := start(t, c, "", "")
	io.WriteString(p.Stdin, strings.Join(lines, "\n")+"\n")
	p.Stdin.Close()
	return p
}

// mistakesSection is the common-mistakes section of README.md.
func mistakesSection(t *testing.T) mdSection {
	t.Helper()
	for _, s := range readREADME(t, readmeEN).sections {
		if strings.HasPrefix(s.title, "Common mistakes") {
			return s
		}
	}
	t.Fatalf("%s has no section titled Common mistakes…", readmeEN)
	return mdSection{}
}

// quoted fails the test unless the section quotes q as code.
func quoted(t *testing.T, s mdSection, q string) string {
	t.Helper()
	if !slices.Contains(s.spans, q) {
		t.Errorf("%s %s no longer quotes `%s`: update this test with what it says now", readmeEN, s.heading(), q)
	}
	return q
}

// onLoopback swaps the README's fixed ports for the test's: each of the
// old arguments must be in args.
func onLoopback(t *testing.T, args []string, oldNew ...string) []string {
	t.Helper()
	out := slices.Clone(args)
	for i := 0; i < len(oldNew); i += 2 {
		j := slices.Index(out, oldNew[i])
		if j < 0 {
			t.Fatalf("%q has no %q", args, oldNew[i])
		}
		out[j] = oldNew[i+1]
	}
	return out
}

const gbkNiHao = "\xc4\xe3\xba\xc3" // 你好 in GBK

// pyTutorialTCPServer is a TCP server as the tutorial's readers write
// one: one recv, a GBK reply, close.
const pyTutorialTCPServer = `
from socket import *
s = socket(AF_INET, SOCK_STREAM)
s.bind(("127.0.0.1", 0))
s.listen(5)
print(s.getsockname()[1], flush=True)
s.settimeout(30)
c, addr = s.accept()
data = c.recv(1024)
print(data.decode("gbk"), flush=True)
c.send("收到：".encode("gbk") + data)
c.close()
`

// pyTutorialUDPServer: recvfrom, a GBK reply to the sender.
const pyTutorialUDPServer = `
from socket import *
s = socket(AF_INET, SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
s.settimeout(30)
data, addr = s.recvfrom(1024)
s.sendto("收到：".encode("gbk") + data, addr)
`

// pyFirstRecv accepts n connections one after another and prints, for
// each, how many bytes its first recv(1024) returned and how many came in
// all.
const pyFirstRecv = `
import sys
from socket import *
s = socket(AF_INET, SOCK_STREAM)
s.bind(("127.0.0.1", 0))
s.listen(5)
print(s.getsockname()[1], flush=True)
s.settimeout(30)
for _ in range(int(sys.argv[1])):
    c, addr = s.accept()
    c.settimeout(30)
    first = len(c.recv(1024))
    total = first
    while True:
        b = c.recv(65536)
        if not b:
            break
        total += len(b)
    print(first, total, flush=True)
    c.close()
`

func TestREADMEMistakes(t *testing.T) {
	t.Parallel()
	s := mistakesSection(t)

	// The tutorial's TCP client, as printed and after each fix: each run
	// stops where the README says, with what it quotes.
	t.Run("tcp-client", func(t *testing.T) {
		t.Parallel()
		steps := []struct {
			quote string // the README's quote of the error
			where string // the line of the client it comes from
		}{
			{"TypeError: 'str' object cannot be interpreted as an integer", "tcp_client.connect((server_ip,server_port))"},
			{"TypeError: a bytes-like object is required, not 'str'", "tcp_client.send(send_data)"},
			// UDP: connect and send succeed with nothing listening; recv
			// gets the ICMP port unreachable.
			{"ConnectionRefusedError: [Errno 111] Connection refused", "recvData = tcp_client.recv(1024)"},
		}
		for i, step := range steps {
			quoted(t, s, step.quote)
			// A TCP server on the port, as the tutorial's reader has one;
			// it must not see a client.
			sk, addr := sockitListen(t, "", "", "--encoding", "gbk", "127.0.0.1:0")
			src := fixed(t, i)
			at := slices.Index(strings.Split(src, "\n"), step.where)
			if at < 0 {
				t.Fatalf("with %d fixes the client has no line %q", i, step.where)
			}
			py := pyInput(t, src, "127.0.0.1", strconv.Itoa(port(t, addr)), "你好")
			exitCode(t, py, 1, "the tutorial's client with "+strconv.Itoa(i)+" fixes")
			// python -c names the line by number: "File "<string>", line 8".
			if got, line := py.Stderr(), "line "+strconv.Itoa(at+1)+","; !strings.Contains(got, step.quote) || !strings.Contains(got, line) {
				t.Errorf("with %d fixes: want %q at %s (%q); python printed:\n%s", i, step.quote, line, step.where, got)
			}
			sk.Interrupt()
			exitCode(t, sk, 130, "sockit listen (interrupted)")
			if strings.Contains(sk.Stderr(), "connected") {
				t.Errorf("with %d fixes: the TCP server saw a client:\n%s", i, sk.Stderr())
			}
		}
	})

	// The tutorial's UDP client sends UTF-8 and decodes the reply as GBK:
	// an echo server's 你好 comes back as the README says.
	t.Run("udp-client-mixed-encodings", func(t *testing.T) {
		t.Parallel()
		want := quoted(t, s, "浣犲ソ")
		sk, addr := sockitListen(t, "", "", "-u", "--echo", "127.0.0.1:0")
		src := strings.Replace(seedUDPClient, "('192.168.123.1', 8888)", "('127.0.0.1', "+strconv.Itoa(port(t, addr))+")", 1)
		if strings.Contains(src, "192.168.") {
			t.Fatal("the tutorial's UDP client still has the author's address")
		}
		py := pyInput(t, src, "你好")
		exitCode(t, py, 0, "the tutorial's UDP client")
		if !strings.Contains(py.Stdout(), want) {
			t.Errorf("the client printed %q, want %q in it", py.Stdout(), want)
		}
		sk.Interrupt()
		exitCode(t, sk, 130, "sockit listen -u --echo (interrupted)")
	})

	t.Run("gbk-decoded-as-utf8", func(t *testing.T) {
		t.Parallel()
		want := quoted(t, s, "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xc4")
		py := pyInput(t, `print("你好".encode("gbk").decode("utf-8"))`)
		exitCode(t, py, 1, "python")
		if !strings.Contains(py.Stderr(), want) {
			t.Errorf("python printed:\n%s\nwant %q", py.Stderr(), want)
		}
	})

	// recvfrom with a timeout, against a server that does not answer.
	t.Run("udp-timeout", func(t *testing.T) {
		t.Parallel()
		want := quoted(t, s, "TimeoutError")
		quoted(t, s, "udp_socket.settimeout(5)")
		sk, addr := sockitListen(t, "", "", "-u", "--discard", "127.0.0.1:0")
		py := pyInput(t, `
from socket import *
udp_socket = socket(AF_INET, SOCK_DGRAM)
udp_socket.settimeout(0.5)
udp_socket.sendto(b"hello", ("127.0.0.1", `+strconv.Itoa(port(t, addr))+`))
udp_socket.recvfrom(1024)
`)
		exitCode(t, py, 1, "python")
		if !strings.Contains(py.Stderr(), want+":") {
			t.Errorf("python printed:\n%s\nwant %s", py.Stderr(), want)
		}
		sk.Interrupt()
		exitCode(t, sk, 130, "sockit listen -u --discard (interrupted)")
	})

	// Each command of the section's code block, run as printed.
	commands := map[string]func(t *testing.T, args []string){
		// The tutorial's "TCP" client after the first two fixes is a UDP
		// client: `listen -u` shows what it sends, and answers it.
		"sockit listen -u 8888": func(t *testing.T, args []string) {
			sk := start(t, cmd(t, "sockit", onLoopback(t, args, "8888", "127.0.0.1:0")...), "", "")
			addr := sk.Addr()
			io.WriteString(sk.Stdin, "ok\n") // to the first sender once it appears
			py := pyInput(t, fixed(t, 2), "127.0.0.1", strconv.Itoa(port(t, addr)), "你好")
			exitCode(t, py, 0, "the tutorial's client (SOCK_DGRAM)")
			if want := "接收到的数据为: ok"; !strings.Contains(py.Stdout(), want) {
				t.Errorf("the client printed %q, want %q", py.Stdout(), want)
			}
			sockittest.Eventually(t, "the datagram on sockit's stdout", func() bool { return sk.Stdout() == gbkNiHao })
			sk.Interrupt()
			exitCode(t, sk, 130, "sockit listen -u (interrupted)")
		},
		// The fixed TCP client: its GBK shown as text, the reply typed
		// goes back in GBK.
		"sockit listen --encoding gbk 8888": func(t *testing.T, args []string) {
			sk := start(t, cmd(t, "sockit", onLoopback(t, args, "8888", "127.0.0.1:0")...), "", "")
			addr := sk.Addr()
			io.WriteString(sk.Stdin, "收到\n")
			py := pyInput(t, fixed(t, 3), "127.0.0.1", strconv.Itoa(port(t, addr)), "你好")
			exitCode(t, py, 0, "the tutorial's client, fixed")
			if want := "接收到的数据为: 收到"; !strings.Contains(py.Stdout(), want) {
				t.Errorf("the client printed %q, want %q", py.Stdout(), want)
			}
			exitCode(t, sk, 0, "sockit listen (one client)")
			if got := sk.Stdout(); got != "你好" {
				t.Errorf("sockit printed %q, want 你好", got)
			}
		},
		"sockit send --recv-encoding gbk 127.0.0.1:8888 hello": func(t *testing.T, args []string) {
			py, p := pyPort(t, pyTutorialTCPServer)
			out, stderr, code := run(t, "", onLoopback(t, args, "127.0.0.1:8888", "127.0.0.1:"+strconv.Itoa(p))...)
			if code != 0 || out != "收到：hello" {
				t.Errorf("exit %d, stdout %q, want 0 and 收到：hello; stderr:\n%s", code, out, stderr)
			}
			exitCode(t, py, 0, "the python server")
		},
		"sockit send --expect . udp://127.0.0.1:8888 hello": func(t *testing.T, args []string) {
			py, p := pyPort(t, pyTutorialUDPServer)
			out, stderr, code := run(t, "", onLoopback(t, args, "udp://127.0.0.1:8888", "udp://127.0.0.1:"+strconv.Itoa(p))...)
			if want := "\xca\xd5\xb5\xbd\xa3\xbahello"; code != 0 || out != want { // 收到：hello in GBK, byte for byte in a pipe
				t.Errorf("exit %d, stdout %q, want 0 and %q; stderr:\n%s", code, out, want, stderr)
			}
			exitCode(t, py, 0, "the python server")

			// A server that does not answer: exit 1 after --wait, with
			// the message the README quotes (--expect . requires a reply:
			// without it send exits 0, README "Exit codes").
			quote := quoted(t, s, `no reply from udp://127.0.0.1:8888 within 1s (--wait), so nothing matched --expect "."`)
			sk, addr := sockitListen(t, "", "", "-u", "--discard", "127.0.0.1:0")
			_, stderr, code = run(t, "", onLoopback(t, args, "udp://127.0.0.1:8888", "udp://"+addr)...)
			if want := strings.Replace(quote, "127.0.0.1:8888", addr, 1); code != 1 || !strings.Contains(stderr, want) {
				t.Errorf("no answer: exit %d, want 1 and %q; stderr:\n%s", code, want, stderr)
			}
			sk.Interrupt()
			exitCode(t, sk, 130, "sockit listen -u --discard (interrupted)")
		},
		// Through the relay a message that one recv(1024) gets whole on
		// loopback comes in pieces: the first recv gets part of it.
		"sockit relay --impair chunk=1-16 127.0.0.1:9001 127.0.0.1:8888": func(t *testing.T, args []string) {
			const tries = 20
			msg := strings.Repeat("0123456789abcdef", 60) // 960 bytes, one write, under 1024
			py, p := pyPort(t, pyFirstRecv, strconv.Itoa(1+tries))
			server := "127.0.0.1:" + strconv.Itoa(p)
			send := func(addr string) {
				c := dialTCP(t, addr)
				if _, err := c.Write([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				c.(*net.TCPConn).CloseWrite()
				io.Copy(io.Discard, c)
				c.Close()
			}
			results := func(n int) [][2]int {
				var out [][2]int
				sockittest.Eventually(t, "the python server's line for each connection", func() bool {
					return strings.Count(py.Stdout(), "\n") >= 1+n
				})
				for _, l := range strings.Split(strings.TrimSpace(py.Stdout()), "\n")[1:] {
					f := strings.Fields(l)
					first, _ := strconv.Atoi(f[0])
					total, _ := strconv.Atoi(f[1])
					out = append(out, [2]int{first, total})
				}
				return out
			}
			send(server) // straight to the server: one write, one recv
			if r := results(1)[0]; r != [2]int{len(msg), len(msg)} {
				t.Fatalf("without the relay the first recv got %d of %d bytes (all %d sent)", r[0], r[1], len(msg))
			}
			relay := start(t, cmd(t, "sockit", onLoopback(t, args, "127.0.0.1:9001", "127.0.0.1:0", "127.0.0.1:8888", server)...), "", "")
			raddr := relay.Addr()
			for range tries {
				send(raddr)
			}
			split := 0
			for _, r := range results(1 + tries)[1:] {
				if r[1] != len(msg) {
					t.Errorf("through the relay %d bytes arrived, want %d", r[1], len(msg))
				}
				if r[0] < len(msg) {
					split++
				}
			}
			t.Logf("through the relay the first recv got part of the message in %d of %d connections", split, tries)
			if split == 0 {
				t.Errorf("through the relay every first recv got the whole message")
			}
			exitCode(t, py, 0, "the python server")
			relay.Interrupt()
			exitCode(t, relay, 130, "sockit relay (interrupted)")
		},
	}
	var block []string
	for _, b := range s.blocks {
		if b.info == "sh" {
			block = append(block, b.lines...)
		}
	}
	shown := map[string]bool{}
	for _, line := range block {
		c := commandPart(line)
		if c == "" {
			continue
		}
		shown[c] = true
		f, ok := commands[c]
		if !ok {
			t.Errorf("%s %s shows %q, which this test does not run: add it to commands", readmeEN, s.heading(), c)
			continue
		}
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			f(t, strings.Fields(strings.TrimPrefix(c, "sockit ")))
		})
	}
	for c := range commands {
		if !shown[c] {
			t.Errorf("this test runs %q, which %s %s no longer shows", c, readmeEN, s.heading())
		}
	}
}

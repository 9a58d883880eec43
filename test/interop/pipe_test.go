package interop

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// serve runs handler on each connection to a fresh loopback listener and
// returns its address and a channel of what the handler reports.
func serve(t *testing.T, handler func(c *net.TCPConn) string) (addr string, results <-chan string) {
	t.Helper()
	ln, conns := acceptTCP(t)
	ch := make(chan string, 4)
	go func() {
		for c := range conns {
			go func() { ch <- handler(c.(*net.TCPConn)) }()
		}
	}()
	return ln.Addr().String(), ch
}

func result(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(sockittest.Patience):
		t.Fatalf("the server saw nothing within %s", sockittest.Patience)
	}
	return ""
}

// readAll reads until EOF, or reports what stopped it.
func readAll(c net.Conn, limit time.Duration) (string, string) {
	c.SetReadDeadline(time.Now().Add(limit))
	b, err := io.ReadAll(c)
	switch {
	case err == nil:
		return string(b), "EOF"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return string(b), "open"
	}
	return string(b), err.Error()
}

func TestPipeEndOfInput(t *testing.T) {
	t.Parallel()

	t.Run("shutdown-by-default", func(t *testing.T) {
		addr, got := serve(t, func(c *net.TCPConn) string {
			data, end := readAll(c, sockittest.Patience)
			c.Write([]byte("bye\n"))
			c.Close()
			return data + "|" + end
		})
		out, stderr, code := run(t, "abc", "connect", addr)
		if r := result(t, got); r != "abc|EOF" {
			t.Errorf("server saw %q, want the data then EOF (FIN)", r)
		}
		if code != 0 || out != "bye\n" {
			t.Errorf("exit %d, stdout %q; stderr:\n%s", code, out, stderr)
		}
	})

	t.Run("no-shutdown", func(t *testing.T) {
		addr, got := serve(t, func(c *net.TCPConn) string {
			// The data, however late it comes on a busy machine; then
			// half a second in which no FIN may follow it.
			c.SetReadDeadline(time.Now().Add(sockittest.Patience))
			first := make([]byte, 3)
			n, _ := io.ReadFull(c, first)
			data, end := readAll(c, 500*time.Millisecond)
			c.Write([]byte("bye\n"))
			c.Close()
			return string(first[:n]) + data + "|" + end
		})
		out, stderr, code := run(t, "abc", "connect", "--no-shutdown", addr)
		if r := result(t, got); r != "abc|open" {
			t.Errorf("server saw %q, want the data and no FIN", r)
		}
		if code != 0 || out != "bye\n" {
			t.Errorf("exit %d, stdout %q; stderr:\n%s", code, out, stderr)
		}
	})

	t.Run("quit-after-eof", func(t *testing.T) {
		addr, got := serve(t, func(c *net.TCPConn) string {
			// Never answers, never closes first: without -q, connect
			// would wait past run's patience, and fail the test.
			data, end := readAll(c, 2*sockittest.Patience)
			return data + "|" + end
		})
		t0 := time.Now()
		_, stderr, code := run(t, "abc", "connect", "-q", "0.5", addr)
		took := time.Since(t0)
		if code != 0 {
			t.Errorf("-q 0.5: exit %d; stderr:\n%s", code, stderr)
		}
		if took < 400*time.Millisecond {
			t.Errorf("-q 0.5 exited after %s", took)
		}
		if r := result(t, got); r != "abc|EOF" {
			t.Errorf("server saw %q", r)
		}
	})

	t.Run("send-only", func(t *testing.T) {
		addr, got := serve(t, func(c *net.TCPConn) string {
			c.Write([]byte("you should not see this\n"))
			data, end := readAll(c, sockittest.Patience)
			return data + "|" + end
		})
		out, stderr, code := run(t, "only this way\n", "connect", "--send-only", addr)
		if code != 0 || out != "" {
			t.Errorf("exit %d, stdout %q (want nothing); stderr:\n%s", code, out, stderr)
		}
		if r := result(t, got); !strings.HasPrefix(r, "only this way\n|") {
			t.Errorf("server saw %q", r)
		}
	})

	t.Run("recv-only", func(t *testing.T) {
		addr, got := serve(t, func(c *net.TCPConn) string {
			c.Write([]byte("only that way\n"))
			c.CloseWrite()
			data, end := readAll(c, sockittest.Patience)
			return data + "|" + end
		})
		out, stderr, code := run(t, "must not be sent\n", "connect", "--recv-only", addr)
		if code != 0 || out != "only that way\n" {
			t.Errorf("exit %d, stdout %q; stderr:\n%s", code, out, stderr)
		}
		if r := result(t, got); r != "|EOF" {
			t.Errorf("server saw %q, want nothing before the close", r)
		}
	})

	t.Run("peer-closes-first-stdin-open", func(t *testing.T) {
		addr, _ := serve(t, func(c *net.TCPConn) string {
			c.Write([]byte("closing now\n"))
			c.Close()
			return ""
		})
		p := sockittest.Start(t, "connect", addr)
		// stdin stays open; the server's close alone ends sockit.
		exitCode(t, p, 0, "sockit connect")
		if p.Stdout() != "closing now\n" {
			t.Errorf("stdout %q", p.Stdout())
		}
		p.Stdin.Close()
	})
}

// TestPipeUDPWait: a UDP client exits --wait after the last reply, not
// after the first or after stdin's end.
func TestPipeUDPWait(t *testing.T) {
	t.Parallel()
	py, p := pyPort(t, `
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
s.settimeout(60)
data, addr = s.recvfrom(1024)
s.sendto(b"first\n", addr)
time.sleep(0.6)
s.sendto(b"second\n", addr)
`)
	// --wait 3 leaves room for the second reply to come late on a busy
	// machine: 0.6s after the first, it must not come after the wait.
	t0 := time.Now()
	out, stderr, code := run(t, "x\n", "connect", "-u", "--wait", "3", "127.0.0.1:"+strconv.Itoa(p))
	took := time.Since(t0)
	if code != 0 || out != "first\nsecond\n" {
		t.Errorf("exit %d, stdout %q; stderr:\n%s", code, out, stderr)
	}
	// 0.6s between the replies, then 3s of --wait after the second.
	if took < 3500*time.Millisecond {
		t.Errorf("exited after %s, want at least 3.6s (--wait 3 after the last reply at 0.6s)", took)
	}
	exitCode(t, py, 0, "python UDP server")

	// --wait 0 sends and leaves.
	py, p = pyPort(t, `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
s.settimeout(60)
print(s.recvfrom(1024)[0].decode(), end="", flush=True)
`)
	out, stderr, code = run(t, "fire and forget\n", "connect", "-u", "--wait", "0", "127.0.0.1:"+strconv.Itoa(p))
	if code != 0 || out != "" {
		t.Errorf("--wait 0: exit %d, stdout %q; stderr:\n%s", code, out, stderr)
	}
	exitCode(t, py, 0, "python UDP server")
	if got := strings.SplitN(py.Stdout(), "\n", 2)[1]; got != "fire and forget\n" {
		t.Errorf("server got %q", got)
	}
}

// TestPipeOutput covers what a pipe-mode client prints: --hex, -T, -o.
func TestPipeOutput(t *testing.T) {
	t.Parallel()
	sender := func(chunks ...[]byte) string {
		addr, _ := serve(t, func(c *net.TCPConn) string {
			for i, b := range chunks {
				if i > 0 {
					time.Sleep(50 * time.Millisecond) // separate reads on the client
				}
				c.Write(b)
			}
			c.Close()
			return ""
		})
		return addr
	}

	t.Run("hex", func(t *testing.T) {
		data := []byte("Hello, world!\n\x00\xff and 16 more bytes.")
		out, stderr, code := run(t, "", "connect", "--recv-only", "--hex", sender(data))
		if code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr)
		}
		hd := sockittest.Need(t, "hexdump")
		c := exec.Command(hd, "-C")
		c.Stdin = bytes.NewReader(data)
		want, err := c.Output()
		if err != nil {
			t.Fatal(err)
		}
		// hexdump -C ends with the total length on a line of its own.
		want = want[:bytes.LastIndexByte(want[:len(want)-1], '\n')+1]
		if out != string(want) {
			t.Errorf("--hex printed:\n%s\nhexdump -C prints:\n%s", out, want)
		}
	})

	t.Run("timestamps", func(t *testing.T) {
		out, stderr, code := run(t, "", "connect", "--recv-only", "-T", sender([]byte("one\n"), []byte("two\n")))
		if code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr)
		}
		if !regexp.MustCompile(`^\[\d\d:\d\d:\d\d\.\d{3}\] one\n\[\d\d:\d\d:\d\d\.\d{3}\] two\n$`).MatchString(out) {
			t.Errorf("-T printed %q", out)
		}
	})

	t.Run("output-file", func(t *testing.T) {
		data := make([]byte, 300<<10)
		rand.Read(data)
		file := filepath.Join(t.TempDir(), "received.bin")
		out, stderr, code := run(t, "", "connect", "--recv-only", "-o", file, sender(data))
		if code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr)
		}
		got, err := os.ReadFile(file)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("-o file: %d bytes (%v), want the %d received", len(got), err, len(data))
		}
		if out != string(data) {
			t.Errorf("stdout: %d bytes, want the same %d bytes", len(out), len(data))
		}
	})

	t.Run("gbk-split-across-reads", func(t *testing.T) {
		// 你好世界 in GBK is c4e3 bac3 cac0 bde7: each write below ends in
		// the middle of a character, so each read does too.
		gbk := []byte("\xc4\xe3\xba\xc3\xca\xc0\xbd\xe7\n")
		addr := sender(gbk[:1], gbk[1:3], gbk[3:7], gbk[7:])
		out, stderr, code := run(t, "", "connect", "--recv-only", "--recv-encoding", "gbk", addr)
		if code != 0 || out != "你好世界\n" {
			t.Errorf("exit %d, stdout %q, want 你好世界; stderr:\n%s", code, out, stderr)
		}
		// -T with an encoding decodes each message.
		out, _, _ = run(t, "", "connect", "--recv-only", "-T", "--recv-encoding", "gbk", sender(gbk))
		if !strings.HasSuffix(out, "] 你好世界\n") {
			t.Errorf("-T --recv-encoding gbk printed %q", out)
		}
	})
}

// TestPipeInput covers how stdin becomes bytes on the wire: --eol/-C,
// --escapes, --send-hex, --file, --send-encoding.
func TestPipeInput(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "request.bin")
	fileData := []byte("from a file\x00\xff\n")
	os.WriteFile(file, fileData, 0o644)
	cases := []struct {
		name  string
		stdin string
		flags []string
		want  string
	}{
		{"raw", "a\nb\r\nc", nil, "a\nb\r\nc"},
		{"eol-crlf", "a\nb\n", []string{"--eol", "crlf"}, "a\r\nb\r\n"},
		{"C", "a\nb\n", []string{"-C"}, "a\r\nb\r\n"},
		{"eol-cr", "a\nb\n", []string{"--eol", "cr"}, "a\rb\r"},
		{"eol-none", "a\nb\n", []string{"--eol", "none"}, "ab"},
		{"eol-crlf-already", "a\r\nb\n", []string{"-C"}, "a\r\nb\r\n"},
		{"escapes", `tab\there\x41\\ nul\0 cr\r` + "\n", []string{"--escapes"}, "tab\there\x41\\ nul\x00 cr\r\n"},
		{"send-hex", "48 65 6c 6c 6f\n0x0a,0x00\n", []string{"--send-hex"}, "Hello\n\x00"},
		{"send-hex-eol", "48 69\n", []string{"--send-hex", "-C"}, "Hi\r\n"},
		{"file", "stdin is ignored\n", []string{"--file", file}, string(fileData)},
		{"send-encoding-gbk", "你好\n", []string{"--send-encoding", "gbk"}, "\xc4\xe3\xba\xc3\n"},
		{"encoding-gbk-crlf", "你好\n", []string{"--encoding", "gbk", "-C"}, "\xc4\xe3\xba\xc3\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr, got := serve(t, func(c *net.TCPConn) string {
				data, _ := readAll(c, sockittest.Patience)
				c.Close()
				return data
			})
			args := append([]string{"connect"}, tc.flags...)
			_, stderr, code := run(t, tc.stdin, append(args, addr)...)
			if code != 0 {
				t.Errorf("exit %d; stderr:\n%s", code, stderr)
			}
			if r := result(t, got); r != tc.want {
				t.Errorf("server got %q, want %q", r, tc.want)
			}
		})
	}
}

// TestListenPipe covers the server side of pipe mode.
func TestListenPipe(t *testing.T) {
	t.Parallel()

	t.Run("quiet-server-keeps-open", func(t *testing.T) {
		// A server whose stdin ended without sending anything sends no
		// FIN: a client that stops at EOF must not leave early.
		srv, addr := sockitListen(t, "/dev/null", "", "127.0.0.1:0")
		c := dialTCP(t, addr)
		c.Write([]byte("abc"))
		if data, end := readAll(c, 500*time.Millisecond); data != "" || end != "open" {
			t.Errorf("client read %q and %s, want nothing and the connection still open", data, end)
		}
		c.(*net.TCPConn).CloseWrite()
		exitCode(t, srv, 0, "sockit listen")
		if srv.Stdout() != "abc" {
			t.Errorf("server printed %q", srv.Stdout())
		}
	})

	t.Run("server-with-input-half-closes", func(t *testing.T) {
		srv, addr := sockitListen(t, "", "", "127.0.0.1:0")
		srv.Stdin.Write([]byte("welcome\n"))
		srv.Stdin.Close()
		c := dialTCP(t, addr)
		if data, end := readAll(c, sockittest.Patience); data != "welcome\n" || end != "EOF" {
			t.Errorf("client read %q and %s, want the greeting and EOF", data, end)
		}
		c.Write([]byte("thanks\n")) // the server still reads after its FIN
		c.Close()
		exitCode(t, srv, 0, "sockit listen")
		if srv.Stdout() != "thanks\n" {
			t.Errorf("server printed %q", srv.Stdout())
		}
	})

	t.Run("one-client-then-exit", func(t *testing.T) {
		srv, addr := sockitListen(t, "/dev/null", "", "127.0.0.1:0")
		c := dialTCP(t, addr)
		srv.WaitStderr("connected", 10*time.Second)
		// Like nc -l: the listener is gone once a client is accepted.
		if c2, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
			c2.Close()
			t.Errorf("a second client could connect to listen without -k")
		}
		c.Close()
		exitCode(t, srv, 0, "sockit listen")
	})

	t.Run("udp-answers-every-sender", func(t *testing.T) {
		// Without -k too: replies go to each sender (nc and ncat answer
		// only the first).
		srv, addr := sockitListen(t, "", "", "-u", "127.0.0.1:0")
		var clients []net.Conn
		for i := 0; i < 2; i++ {
			c, err := net.Dial("udp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte("hello from " + strconv.Itoa(i) + "\n"))
			clients = append(clients, c)
		}
		sockittest.Eventually(t, "both datagrams", func() bool { return strings.Count(srv.Stdout(), "hello from") == 2 })
		srv.Stdin.Write([]byte("to all\n"))
		for i, c := range clients {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			b := make([]byte, 100)
			n, err := c.Read(b)
			if err != nil || string(b[:n]) != "to all\n" {
				t.Errorf("client %d: %q, %v", i, b[:n], err)
			}
		}
		srv.Interrupt()
		exitCode(t, srv, 130, "sockit listen -u")
	})

	t.Run("keep-open-stdin-to-all", func(t *testing.T) {
		srv, addr := sockitListen(t, "", "", "-k", "127.0.0.1:0")
		c1, c2 := dialTCP(t, addr), dialTCP(t, addr)
		sockittest.Eventually(t, "two clients", func() bool { return strings.Count(srv.Stderr(), "connected") == 2 })
		srv.Stdin.Write([]byte("broadcast\n"))
		for i, c := range []net.Conn{c1, c2} {
			if got := readExactly(t, c, 10); got != "broadcast\n" {
				t.Errorf("client %d got %q", i+1, got)
			}
		}
		c1.Write([]byte("one\n"))
		c2.Write([]byte("two\n"))
		sockittest.Eventually(t, "both clients' lines on stdout", func() bool {
			return strings.Contains(srv.Stdout(), "one\n") && strings.Contains(srv.Stdout(), "two\n")
		})
		srv.Interrupt()
		exitCode(t, srv, 130, "sockit listen -k")
	})
}

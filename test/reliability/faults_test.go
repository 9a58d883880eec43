package reliability

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// A server that sends data, then aborts with RST (SO_LINGER 0).
const resetServer = `
import socket, struct, sys, time
data = open(sys.argv[1], 'rb').read()
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
c.sendall(data)
time.sleep(float(sys.argv[2]))
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
c.close()
`

// A server that reads N bytes, then aborts with RST.
const resetReader = `
import socket, struct, sys
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
got = 0
while got < int(sys.argv[1]):
    b = c.recv(65536)
    if not b: break
    got += len(b)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
c.close()
print(got, flush=True)
`

// A client that connects, sends data, then aborts with RST.
const resetClient = `
import socket, struct, sys, time
data = open(sys.argv[1], 'rb').read()
c = socket.create_connection(('127.0.0.1', int(sys.argv[2])))
print('connected', flush=True)
c.sendall(data)
time.sleep(float(sys.argv[3]))
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
c.close()
`

// A server that greets, shuts down its write side only, then reads until
// EOF and prints how much it read and its SHA-256.
const halfCloseServer = `
import socket, sys, hashlib
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
c.sendall(b'hello from a peer that only half-closes\n')
c.shutdown(socket.SHUT_WR)
h = hashlib.sha256(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest(), flush=True)
`

// TestPeerResetsWhileSending: the server sends 4 MiB and resets. sockit
// connect exits 6 with one line naming the reset, and its stdout is a
// prefix of what was sent: nothing after the reset is invented. Both the
// splice path and the read path (-i) are checked, with the reset right
// after the data and a little later.
func TestPeerResetsWhileSending(t *testing.T) {
	t.Parallel()
	data := randomData(4<<20, 1)
	path := writeTemp(t, data)
	for _, tc := range []struct {
		name  string
		pause string
		args  []string
	}{
		{"splice/at-once", "0", nil},
		{"splice/later", "0.3", nil},
		{"read-path/at-once", "0", []string{"-i", "60"}},
		{"read-path/later", "0.3", []string{"-i", "60"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			py := python(t, resetServer, path, tc.pause)
			out := tempPath(t)
			cmd := exec.Command(sockittest.Binary(t), append(append([]string{"connect", "-o", "/dev/null"}, tc.args...), "127.0.0.1:"+py.first)...)
			cmd.Stdout = mustCreate(t, out)
			p := sockittest.StartCmd(t, cmd) // stdin stays open: the reset, not EOF, ends it
			code := p.Wait(30 * time.Second)
			got, _ := os.ReadFile(out)
			if code != 6 {
				t.Errorf("exit %d, want 6 (reset by peer); stderr: %s", code, p.Stderr())
			}
			oneErrorLine(t, p.Stderr(), "reset")
			if ok, at := isPrefix(got, data); !ok {
				t.Errorf("stdout (%d bytes) is not a prefix of what the peer sent: differs at byte %d", len(got), at)
			}
			if tc.pause != "0" && len(got) == 0 {
				// The peer's sendall returned and it waited before the
				// reset: what it sent was read, and an empty prefix would
				// prove nothing.
				t.Errorf("nothing arrived, though the peer waited %ss after sending before it reset", tc.pause)
			}
			t.Logf("%d of %d bytes arrived before the reset", len(got), len(data))
		})
	}
}

// TestPeerResetsWhileReceiving: the server reads 1 MiB of the 32 MiB
// sockit sends, then resets. sockit exits 6 at once with one line.
func TestPeerResetsWhileReceiving(t *testing.T) {
	t.Parallel()
	path, _ := randomFile(t, 32<<20, 2)
	for _, args := range [][]string{nil, {"-i", "60"}} {
		t.Run("args="+strings.Join(args, " "), func(t *testing.T) {
			py := python(t, resetReader, strconv.Itoa(1<<20))
			cmd := exec.Command(sockittest.Binary(t), append(append([]string{"connect"}, args...), "127.0.0.1:"+py.first)...)
			cmd.Stdin = mustOpen(t, path)
			p := sockittest.StartCmd(t, cmd)
			if code := p.Wait(30 * time.Second); code != 6 {
				t.Errorf("exit %d, want 6; stderr: %s", code, p.Stderr())
			}
			msg := p.Stderr()
			if !strings.Contains(msg, "reset") && !strings.Contains(msg, "broken pipe") {
				t.Errorf("stderr %q does not say the peer reset or broke the connection", msg)
			}
			oneErrorLine(t, msg, "")
		})
	}
}

// TestClientResetsListen: a client sends 2 MiB to 'sockit listen' and
// resets; listen exits 6, stdout a prefix of what the client sent.
func TestClientResetsListen(t *testing.T) {
	t.Parallel()
	data := randomData(2<<20, 3)
	path := writeTemp(t, data)
	out := tempPath(t)
	cmd := exec.Command(sockittest.Binary(t), "listen", "127.0.0.1:0")
	cmd.Stdout = mustCreate(t, out)
	p := sockittest.StartCmd(t, cmd)
	port := portOf(t, p.Addr())
	python(t, resetClient, path, port, "0.2")
	code := p.Wait(30 * time.Second)
	got, _ := os.ReadFile(out)
	if code != 6 {
		t.Errorf("exit %d, want 6; stderr: %s", code, p.Stderr())
	}
	oneErrorLine(t, withoutLog(p.Stderr()), "reset")
	if ok, at := isPrefix(got, data); !ok {
		t.Errorf("stdout (%d bytes) is not a prefix of what the client sent: differs at %d", len(got), at)
	}
}

// TestPeerHalfCloses: the server greets and shuts down its write side.
// By default sockit prints the greeting and exits 0 at once, although
// stdin is still open; with --half-duplex it sends all of stdin first and
// the peer reads it whole.
func TestPeerHalfCloses(t *testing.T) {
	t.Parallel()
	const greeting = "hello from a peer that only half-closes\n"
	t.Run("default-exits-at-once", func(t *testing.T) {
		py := python(t, halfCloseServer)
		p := sockittest.Start(t, "connect", "127.0.0.1:"+py.first) // stdin never closed
		// A sockit that stayed for its open stdin would not exit, and
		// Wait would fail the test.
		if code := p.Wait(10 * time.Second); code != 0 {
			t.Errorf("exit %d, want 0; stderr: %s", code, p.Stderr())
		}
		if p.Stdout() != greeting {
			t.Errorf("stdout %q, want the greeting", p.Stdout())
		}
	})
	t.Run("half-duplex-sends-everything", func(t *testing.T) {
		path, sum := randomFile(t, 8<<20, 4)
		py := python(t, halfCloseServer)
		cmd := exec.Command(sockittest.Binary(t), "connect", "--half-duplex", "127.0.0.1:"+py.first)
		cmd.Stdin = mustOpen(t, path)
		p := sockittest.StartCmd(t, cmd)
		if code := p.Wait(30 * time.Second); code != 0 {
			t.Errorf("exit %d, want 0; stderr: %s", code, p.Stderr())
		}
		if p.Stdout() != greeting {
			t.Errorf("stdout %q, want the greeting", p.Stdout())
		}
		py.Wait(10 * time.Second)
		if want := strconv.Itoa(8<<20) + " " + sum; !strings.Contains(py.Stdout(), want) {
			t.Errorf("peer read %q, want %q", py.Stdout(), want)
		}
	})
	t.Run("listen-both-ways", func(t *testing.T) {
		// The client sends A and half-closes; listen sends its stdin B and
		// closes. Each side gets the other's bytes whole.
		a, sumA := randomFile(t, 4<<20, 5)
		b, sumB := randomFile(t, 4<<20, 6)
		out := tempPath(t)
		cmd := exec.Command(sockittest.Binary(t), "listen", "127.0.0.1:0")
		cmd.Stdin = mustOpen(t, b)
		cmd.Stdout = mustCreate(t, out)
		p := sockittest.StartCmd(t, cmd)
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		errc := make(chan error, 1)
		go func() {
			f := mustOpen(t, a)
			_, err := io.Copy(c, f)
			if err == nil {
				err = c.(*net.TCPConn).CloseWrite()
			}
			errc <- err
		}()
		h := sha256.New()
		n, err := io.Copy(h, c)
		if err != nil || <-errc != nil {
			t.Fatalf("client: %v", err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != sumB || n != 4<<20 {
			t.Errorf("client got %d bytes %s, want %d %s", n, got, 4<<20, sumB)
		}
		if code := p.Wait(10 * time.Second); code != 0 {
			t.Errorf("listen exit %d; stderr: %s", code, p.Stderr())
		}
		if got, size := sockittest.FileSum(t, out); got != sumA {
			t.Errorf("listen wrote %d bytes %s, want %s", size, got, sumA)
		}
	})
	t.Run("echo-half-close", func(t *testing.T) {
		p := sockittest.Start(t, "listen", "-k", "--echo", "127.0.0.1:0")
		data := randomData(4<<20, 7)
		got := echoWhole(t, p.Addr(), data)
		if !bytes.Equal(got, data) {
			t.Errorf("echo of 4 MiB with a half-close: got %d bytes, differing", len(got))
		}
	})
}

// echoWhole sends data, half-closes, and returns everything read back.
func echoWhole(t *testing.T, addr string, data []byte) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	go func() {
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("echo read: %v", err)
	}
	return got
}

// TestPeerStopsReading: a peer that stops reading makes sockit stop
// reading its input (backpressure): its memory stays flat while the
// input keeps coming, and everything arrives whole once the peer reads
// again. For connect (stdin to a stalled server) and for the echo server
// (a client that writes without reading), on the fast and the read path.
func TestPeerStopsReading(t *testing.T) {
	t.Parallel()
	const total = 64 << 20
	for _, args := range [][]string{nil, {"-i", "60"}} {
		t.Run("connect/"+strings.Join(args, "_"), func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			cmd := exec.Command(sockittest.Binary(t), append(append([]string{"connect"}, args...), ln.Addr().String())...)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			p := sockittest.StartCmd(t, cmd)
			c, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			base := rssKiB(t, p.Cmd.Process.Pid)

			var fed atomic.Int64
			sum := make(chan [32]byte, 1)
			go func() {
				h := sha256.New()
				for off := 0; off < total; off += 1 << 20 {
					b := randomData(1<<20, uint64(off))
					h.Write(b)
					n, err := stdin.Write(b)
					fed.Add(int64(n))
					if err != nil {
						break
					}
				}
				stdin.Close()
				var s [32]byte
				copy(s[:], h.Sum(nil))
				sum <- s
			}()

			h := sha256.New()
			if _, err := io.CopyN(h, c, 1<<20); err != nil {
				t.Fatal(err)
			}
			// The test does not read c: its receive window closes.
			closed := func() bool { _, rcv, ok := windows(c.(*net.TCPConn)); return !ok || rcv == 0 }
			stalled, growth := measureStall(t, p.Cmd.Process.Pid, base, &fed, total, closed, 1)
			n, err := io.Copy(h, c) // read again: everything arrives
			if err != nil {
				t.Fatal(err)
			}
			c.Close() // sockit waits for the peer to close after its FIN
			want := <-sum
			if n+1<<20 != total || !bytes.Equal(h.Sum(nil), want[:]) {
				t.Errorf("peer got %d bytes after the stall, sha256 differs or short (want %d)", n+1<<20, total)
			}
			if code := p.Wait(30 * time.Second); code != 0 {
				t.Errorf("exit %d; stderr: %s", code, p.Stderr())
			}
			t.Logf("stalled with %d MiB of %d fed; RSS grew %d KiB", stalled>>20, total>>20, growth)
		})
	}
	for _, args := range [][]string{nil, {"-i", "60"}} {
		t.Run("echo/"+strings.Join(args, "_"), func(t *testing.T) {
			p := sockittest.Start(t, append(append([]string{"listen", "-k", "--echo"}, args...), "127.0.0.1:0")...)
			addr := p.Addr()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			base := rssKiB(t, p.Cmd.Process.Pid)
			var fed atomic.Int64
			sum := make(chan [32]byte, 1)
			go func() {
				h := sha256.New()
				for off := 0; off < total; off += 1 << 20 {
					b := randomData(1<<20, uint64(off)+99)
					h.Write(b)
					n, err := c.Write(b)
					fed.Add(int64(n))
					if err != nil {
						break
					}
				}
				c.(*net.TCPConn).CloseWrite()
				var s [32]byte
				copy(s[:], h.Sum(nil))
				sum <- s
			}()
			// sockit stops reading c: the window it gives c closes.
			closed := func() bool { snd, _, ok := windows(c.(*net.TCPConn)); return !ok || snd == 0 }
			// fed counts what the test's own socket took: its send
			// buffer lies before sockit's, with sockit's echo side after.
			measureStall(t, p.Cmd.Process.Pid, base, &fed, total, closed, 2)
			// The server still serves others while one client is stuck.
			if got := echoWhole(t, addr, []byte("still here\n")); string(got) != "still here\n" {
				t.Errorf("another client got %q during the stall", got)
			}
			h := sha256.New()
			c.SetReadDeadline(time.Now().Add(60 * time.Second))
			n, err := io.Copy(h, c)
			if err != nil {
				t.Fatal(err)
			}
			want := <-sum
			if n != total || !bytes.Equal(h.Sum(nil), want[:]) {
				t.Errorf("echoed %d bytes after the stall (want %d), sha256 equal: %v", n, total, bytes.Equal(h.Sum(nil), want[:]))
			}
		})
	}
}

// measureStall waits until backpressure has reached the feeder, then
// checks over a second that sockit's RSS stays within 32 MiB of base and
// that its input has stopped. It returns how much was fed and how much
// RSS grew (KiB).
//
// Backpressure has reached the network once the receive window on the
// stalled connection is closed (windowClosed: the kernel's word, however
// slow the machine); the feeder stops when the buffers between it and
// sockit are full. A pause in the feeder's progress alone means nothing on a
// busy machine: a starved sockit or feeder pauses too, and then goes on
// filling those buffers. So the input may still move by what they hold
// (the socket's or pipe's buffer, one write) after the pause that the
// test takes for the stall, but no more: a sockit that kept reading would
// take the whole 64 MiB, or grow.
func measureStall(t *testing.T, pid int, base int64, fed *atomic.Int64, total int64, windowClosed func() bool, sendBuffers int64) (int64, int64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !windowClosed() {
		if time.Now().After(deadline) {
			t.Fatalf("the window never closed within 60s (%d MiB fed)", fed.Load()>>20)
		}
		time.Sleep(10 * time.Millisecond)
	}
	last := int64(-1)
	for fed.Load() != last && time.Now().Before(deadline) {
		last = fed.Load()
		time.Sleep(300 * time.Millisecond) // sampling progress, not waiting for a server
	}
	if f := fed.Load(); f >= total {
		t.Fatalf("all %d MiB were accepted while the peer did not read: no backpressure", total>>20)
	}
	var peak int64
	for range 5 {
		peak = max(peak, rssKiB(t, pid))
		time.Sleep(200 * time.Millisecond)
	}
	growth := peak - base
	if growth > 32<<10 {
		t.Errorf("RSS grew by %d KiB while the peer did not read (base %d KiB): sockit buffers without bound", growth, base)
	}
	if f, slack := fed.Load(), inputSlack(sendBuffers); f-last > slack {
		t.Errorf("input kept flowing during the stall (%d → %d bytes, more than the %d the buffers before sockit hold)", last, f, slack)
	}
	t.Logf("backpressure: fed %d MiB of %d, then blocked; RSS %d → %d KiB", last>>20, total>>20, base, peak)
	return last, growth
}

// inputSlack is the most the input can move after a pause that was not
// yet the stall: sendBuffers TCP send buffers at their largest (tcp_wmem's
// maximum, more than a pipe holds: sockit's own, and for an echo server
// also the feeding socket's, which fed counts), one 1 MiB write of the
// feeder, and one 1 MiB read of sockit.
func inputSlack(sendBuffers int64) int64 {
	wmem := int64(4 << 20)
	if b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_wmem"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 3 {
			if n, err := strconv.ParseInt(f[2], 10, 64); err == nil {
				wmem = n
			}
		}
	}
	return sendBuffers*wmem + 2<<20
}

// TestPeerNeverSends: the idle timeout ends a conversation in which
// nothing moves, with exit 4 and one line, for connect and listen; an
// echo server drops the idle client and goes on serving.
func TestPeerNeverSends(t *testing.T) {
	t.Parallel()
	t.Run("connect", func(t *testing.T) {
		addr, _ := sockittest.ServeOne(t, func(c *net.TCPConn) error {
			_, err := io.Copy(io.Discard, c)
			return err
		})
		start := time.Now()
		p := sockittest.Start(t, "connect", "-i", "1", addr) // stdin open, silent
		code := p.Wait(15 * time.Second)
		took := time.Since(start)
		if code != 4 {
			t.Errorf("exit %d, want 4 (timeout); stderr: %s", code, p.Stderr())
		}
		oneErrorLine(t, p.Stderr(), "idle timeout")
		// (One that never fired would leave Wait to fail the test.)
		if took < time.Second {
			t.Errorf("idle timeout of 1s fired after %s", took)
		}
	})
	t.Run("listen", func(t *testing.T) {
		p := sockittest.Start(t, "listen", "-i", "1", "127.0.0.1:0")
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if code := p.Wait(15 * time.Second); code != 4 {
			t.Errorf("exit %d, want 4; stderr: %s", code, p.Stderr())
		}
		oneErrorLine(t, withoutLog(p.Stderr()), "idle timeout")
	})
	t.Run("echo-server-drops-idle-client", func(t *testing.T) {
		p := sockittest.Start(t, "listen", "-k", "--echo", "-i", "1", "127.0.0.1:0")
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		start := time.Now()
		if n, err := c.Read(make([]byte, 10)); err != io.EOF {
			t.Errorf("idle client read %d, %v; want EOF when the server drops it", n, err)
		}
		if took := time.Since(start); took < 900*time.Millisecond {
			t.Errorf("dropped after %s, before the 1s idle timeout", took)
		}
		if got := echoWhole(t, p.Addr(), []byte("next\n")); string(got) != "next\n" {
			t.Errorf("after dropping an idle client the server echoed %q", got)
		}
	})
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	p := tempPath(t)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func tempPath(t *testing.T) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "f-")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	return f.Name()
}

func mustCreate(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// TestHubSlowClient: with listen -k, what stdin carries goes to every
// client; one client that stops reading is dropped after the hub's write
// timeout instead of holding stdin up for the others.
func TestHubSlowClient(t *testing.T) {
	t.Parallel()
	srv := sockittest.Start(t, "listen", "-k", "127.0.0.1:0")
	addr := srv.Addr()

	stuck, err := net.Dial("tcp", addr) // never reads
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	stuck.(*net.TCPConn).SetReadBuffer(4096)
	reader, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	srv.WaitStderr("(#2, tcp)", 10*time.Second)

	const total = 32 << 20
	data := randomData(total, 7)
	go func() {
		srv.Stdin.Write(data)
		srv.Stdin.Close()
	}()
	reader.SetReadDeadline(time.Now().Add(60 * time.Second))
	got := make([]byte, total)
	if _, err := io.ReadFull(reader, got); err != nil {
		t.Fatalf("the reading client got stuck behind the one that does not read: %v\nstderr:\n%s", err, srv.Stderr())
	}
	if !bytes.Equal(got, data) {
		t.Fatal("the reading client got different bytes")
	}
	srv.WaitStderr("not reading", 10*time.Second)
}

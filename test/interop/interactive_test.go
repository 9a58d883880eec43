package interop

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/sockit/sockit/internal/sockittest"
)

// ptyProc is sockit running on a pseudo-terminal, as a person runs it.
type ptyProc struct {
	t    *testing.T
	f    *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
}

func startPTY(t *testing.T, args ...string) *ptyProc {
	t.Helper()
	c := exec.Command(sockittest.Binary(t), args...)
	c.Env = append(os.Environ(), "NO_COLOR=1", "TERM=xterm")
	f, err := pty.StartWithSize(c, &pty.Winsize{Rows: 50, Cols: 220})
	if err != nil {
		t.Fatal(err)
	}
	p := &ptyProc{t: t, f: f, cmd: c, done: make(chan struct{})}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() {
		p.err = c.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			c.Process.Kill()
			<-p.done
		}
		// The master reads what is left, then EIO once sockit is gone.
		select {
		case <-copied:
		case <-time.After(5 * time.Second):
		}
		f.Close()
		<-copied
		noPanic(t, p.screen()) // all of the output is in now
		if t.Failed() {
			t.Logf("terminal output:\n%s", p.screen())
		}
	})
	return p
}

var csi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// screen is the output so far without escape sequences and carriage returns.
func (p *ptyProc) screen() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.ReplaceAll(csi.ReplaceAllString(p.out.String(), ""), "\r", "")
}

// raw is the output so far as sockit wrote it, escape sequences and all.
func (p *ptyProc) raw() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// expect waits until the screen matches re and returns the match.
func (p *ptyProc) expect(re string) []string {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	var m []string
	sockittest.Eventually(p.t, "the terminal to show "+re, func() bool {
		m = rx.FindStringSubmatch(p.screen())
		return m != nil
	})
	return m
}

// count is how many times s appears on the screen.
func (p *ptyProc) count(s string) int { return strings.Count(p.screen(), s) }

// typeLine types s and Enter, after the prompt is there.
func (p *ptyProc) typeLine(s string) {
	p.t.Helper()
	p.typeKeys(s + "\r")
}

func (p *ptyProc) typeKeys(s string) {
	p.t.Helper()
	if _, err := p.f.Write([]byte(s)); err != nil {
		p.t.Fatal(err)
	}
}

// wait waits for sockit to exit and checks the exit code. The last of its
// output may still be on its way through the pty: use expect for it.
func (p *ptyProc) wait(want int) {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(sockittest.Patience):
		p.t.Fatalf("sockit did not exit within %s", sockittest.Patience)
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		code = ee.ExitCode()
	} else if p.err != nil {
		p.t.Fatal(p.err)
	}
	if code != want {
		p.t.Errorf("exit %d, want %d", code, want)
	}
}

// readExactly reads n bytes from c (failing after sockittest.Patience).
func readExactly(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(sockittest.Patience))
	defer c.SetReadDeadline(time.Time{})
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read %d bytes: %v (got %q)", n, err, b)
	}
	return string(b)
}

// acceptTCP listens on a free loopback port and hands over every
// connection it accepts.
func acceptTCP(t *testing.T) (net.Listener, <-chan net.Conn) {
	t.Helper()
	return listenOn(t, "127.0.0.1:0")
}

func accepted(t *testing.T, ch <-chan net.Conn) net.Conn {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(60 * time.Second):
		t.Fatal("sockit did not connect")
	}
	return nil
}

// TestInteractiveConnect drives `sockit connect` on a terminal: lines typed
// are sent with the end of line, what arrives is a log line (time,
// direction, peer, length, text), /hex sends exactly its bytes, bytes that
// are not text are shown escaped, /quit exits 0.
func TestInteractiveConnect(t *testing.T) {
	t.Parallel()
	ln, conns := acceptTCP(t)
	addr := ln.Addr().String()
	p := startPTY(t, "connect", addr)
	peer := accepted(t, conns)
	p.expect(`connected to ` + regexp.QuoteMeta(addr))
	p.expect(`(?m)^> `)

	p.typeLine("hello")
	if got := readExactly(t, peer, 6); got != "hello\n" {
		t.Errorf("peer got %q, want %q", got, "hello\n")
	}
	// What was sent is logged too, with the arrow the other way.
	p.expect(`\d\d:\d\d:\d\d\.\d{3} → ` + regexp.QuoteMeta(addr) + `  6 B  hello\\n`)

	peer.Write([]byte("world\n"))
	p.expect(`\d\d:\d\d:\d\d\.\d{3} ← ` + regexp.QuoteMeta(addr) + `  6 B  world\\n`)

	p.typeLine("/hex 48 65 6c 6c 6f")
	p.typeLine("!")
	// Exactly "Hello" (no end of line after /hex), then the next line.
	if got := readExactly(t, peer, 7); got != "Hello!\n" {
		t.Errorf("peer got %q after /hex, want %q", got, "Hello!\n")
	}

	peer.Write([]byte("\xff\xfeok\x00\r\n"))
	p.expect(`← ` + regexp.QuoteMeta(addr) + `  7 B  \\xff\\xfeok\\(0|x00)\\r\\n`)

	p.typeLine("/help")
	p.expect(`/hex 48 65 6c 6c 6f`)
	p.typeLine("/nonsense")
	p.expect(`unknown command /nonsense`)
	p.typeLine("/hex zz")
	p.expect(`! .*hex`)

	p.typeLine("/quit")
	p.wait(0)
	peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	if rest, err := io.ReadAll(peer); err != nil || len(rest) != 0 {
		t.Errorf("after /quit the peer read %q, %v; want a clean EOF", rest, err)
	}
}

// TestInteractiveEndKeys: Ctrl-D exits 0, Ctrl-C exits 130, and the
// server closing ends the session with 0.
func TestInteractiveEndKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		keys string
		code int
	}{
		{"ctrl-d", "\x04", 0},
		{"ctrl-c", "\x03", 130},
		{"ctrl-c-mid-line", "abc\x03", 130},
		{"peer-closes", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, conns := acceptTCP(t)
			p := startPTY(t, "connect", ln.Addr().String())
			peer := accepted(t, conns)
			p.expect(`(?m)^> `)
			if tc.keys == "" {
				peer.Close()
			} else {
				p.typeKeys(tc.keys)
			}
			p.wait(tc.code)
			if tc.code == 130 {
				p.expect(`\* ` + regexp.QuoteMeta(ln.Addr().String()) + ` closed: interrupted`)
				p.expect(`(?m)^sockit: interrupted$`)
			}
			// The close line is a line of its own, not written after
			// the prompt left on the screen ("> 10:00:01.123 * … closed").
			p.expect(` closed: `)
			if m := regexp.MustCompile(`> [^\r\n\x1b]*closed: `).FindString(p.raw()); m != "" {
				t.Errorf("the close line follows the prompt: %q", m)
			}
		})
	}
}

// TestInteractiveListenPeers drives `sockit listen -k` on a terminal with
// two clients: /peers lists them, lines go to all, /to picks one.
func TestInteractiveListenPeers(t *testing.T) {
	t.Parallel()
	p := startPTY(t, "listen", "-k", "127.0.0.1:0")
	addr := p.expect(`listening on (127\.0\.0\.1:\d+) \(tcp\)`)[1]
	p.expect(`(?m)^> `)

	c1 := dialTCP(t, addr)
	p.expect(regexp.QuoteMeta(c1.LocalAddr().String()) + ` connected \(#1, tcp\)`)
	c2 := dialTCP(t, addr)
	p.expect(regexp.QuoteMeta(c2.LocalAddr().String()) + ` connected \(#2, tcp\)`)

	p.typeLine("/peers")
	p.expect(`#1 ` + regexp.QuoteMeta(c1.LocalAddr().String()))
	p.expect(`#2 ` + regexp.QuoteMeta(c2.LocalAddr().String()))

	p.typeLine("to everyone")
	for i, c := range []net.Conn{c1, c2} {
		if got := readExactly(t, c, 12); got != "to everyone\n" {
			t.Errorf("client %d got %q", i+1, got)
		}
	}

	p.typeLine("/to " + c2.LocalAddr().String())
	p.expect(`sending to ` + regexp.QuoteMeta(c2.LocalAddr().String()))
	p.typeLine("only two")
	if got := readExactly(t, c2, 9); got != "only two\n" {
		t.Errorf("client 2 got %q", got)
	}
	p.typeLine("/to #1")
	p.expect(`sending to #1`)
	p.typeLine("only one")
	// Client 1 never saw "only two": its next bytes are "only one".
	if got := readExactly(t, c1, 9); got != "only one\n" {
		t.Errorf("client 1 got %q", got)
	}
	p.typeLine("/to all")
	p.expect(`sending to all peers`)
	p.typeLine("/to 127.0.0.1:1")
	p.expect(`no peer 127\.0\.0\.1:1`)

	// A client's message shows with its address.
	c1.Write([]byte("hi from one\n"))
	p.expect(`← ` + regexp.QuoteMeta(c1.LocalAddr().String()) + `  12 B  hi from one\\n`)

	c2.Close()
	p.expect(regexp.QuoteMeta(c2.LocalAddr().String()) + ` closed`)
	p.typeLine("/peers")
	sockittest.Eventually(t, "/peers to list one peer", func() bool {
		s := p.screen()
		last := s[strings.LastIndex(s, "/peers"):]
		return strings.Contains(last, "#1 ") && !strings.Contains(last, "#2 ")
	})

	p.typeLine("/quit")
	p.wait(0)
}

// TestInteractiveEncoding: with --encoding gbk, typed text goes out as
// GBK and GBK that arrives is shown as text; /enc switches at run time.
func TestInteractiveEncoding(t *testing.T) {
	t.Parallel()
	ln, conns := acceptTCP(t)
	addr := ln.Addr().String()
	p := startPTY(t, "connect", "--encoding", "gbk", addr)
	peer := accepted(t, conns)
	p.expect(`(?m)^> `)
	p.typeLine("你好")
	if got := readExactly(t, peer, 5); got != "\xc4\xe3\xba\xc3\n" {
		t.Errorf("peer got %q, want 你好 in GBK", got)
	}
	peer.Write([]byte("\xca\xd5\xb5\xbd\n")) // 收到
	p.expect(`← ` + regexp.QuoteMeta(addr) + `  5 B  收到\\n`)
	p.typeLine("/enc utf-8")
	p.expect(`encoding is now utf-8`)
	p.typeLine("你好")
	if got := readExactly(t, peer, 7); got != "你好\n" {
		t.Errorf("peer got %q after /enc utf-8", got)
	}
	p.typeKeys("\x04")
	p.wait(0)
}

// TestInteractiveEncodingEOL: the line end is encoded with the line, in
// the encoding in force after /enc (issue 10: with -C, /enc utf-16le sent
// 68 00 69 00 0d 0a, an odd-length UTF-16 message).
func TestInteractiveEncodingEOL(t *testing.T) {
	t.Parallel()
	ln, conns := acceptTCP(t)
	p := startPTY(t, "connect", "-C", ln.Addr().String())
	peer := accepted(t, conns)
	p.expect(`(?m)^> `)
	p.typeLine("hi")
	if got := readExactly(t, peer, 4); got != "hi\r\n" {
		t.Errorf("peer got %q, want hi and CRLF", got)
	}
	p.typeLine("/enc utf-16le")
	p.expect(`encoding is now utf-16le`)
	p.typeLine("hi")
	if got := readExactly(t, peer, 8); got != "h\x00i\x00\r\x00\n\x00" {
		t.Errorf("peer got % x, want 68 00 69 00 0d 00 0a 00", got)
	}
	p.typeKeys("\x04")
	p.wait(0)
}

// TestInteractiveReconnect: connect --forever on a terminal whose server
// goes away and comes back: the log shows the break and each try with its
// wait, a line typed meanwhile is refused (not queued), and once the new
// connection is up lines go to the new server.
func TestInteractiveReconnect(t *testing.T) {
	t.Parallel()
	ln, conns := acceptTCP(t)
	addr := ln.Addr().String()
	p := startPTY(t, "connect", addr, "--forever", "--retry-delay", "20ms")
	peer := accepted(t, conns)
	p.expect(`(?m)^> `)
	p.typeLine("one")
	if got := readExactly(t, peer, 4); got != "one\n" {
		t.Fatalf("first server got %q", got)
	}

	ln.Close() // the server stops: refused from now on
	peer.Close()
	p.expect(regexp.QuoteMeta(addr) + `: peer closed; reconnecting now \(try 1\)`)
	p.expect(`connection refused; reconnecting in 40ms \(try 3\)`)
	p.typeLine("lost")
	p.expect(`! not sent: the connection broke and is being made again`)

	_, conns2 := listenOn(t, addr)
	peer2 := accepted(t, conns2)
	p.expect(`(?s)connected to ` + regexp.QuoteMeta(addr) + `.*connected to ` + regexp.QuoteMeta(addr))
	p.typeLine("two")
	if got := readExactly(t, peer2, 4); got != "two\n" {
		t.Fatalf("second server got %q, want two (and not the line typed while down)", got)
	}
	p.typeLine("/quit")
	p.wait(0)
}

// listenOn is acceptTCP on a given address (a server started again).
func listenOn(t *testing.T, addr string) (net.Listener, <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			ch <- c
		}
	}()
	return ln, ch
}

// TestInteractiveTemplateSeq: with --template, {{seq}} in lines typed at
// the prompt counts on from one send to the next (1, 2, 3 …), and on
// through a reconnect: the sequence is the session's, as a person
// numbering messages by hand expects.
func TestInteractiveTemplateSeq(t *testing.T) {
	t.Parallel()
	ln, conns := acceptTCP(t)
	addr := ln.Addr().String()
	p := startPTY(t, "connect", addr, "--template", "--forever", "--retry-delay", "20ms")
	peer := accepted(t, conns)
	p.expect(`(?m)^> `)
	p.typeLine("n={{seq}}")
	p.typeLine("m={{seq:3}}")
	p.typeLine("n={{seq}}")
	if got := readExactly(t, peer, 14); got != "n=1\nm=002\nn=3\n" {
		t.Fatalf("peer got %q, want the sequence counting on", got)
	}
	ln.Close()
	peer.Close()
	// Once sockit has closed its side, the port can be listened on again.
	p.expect(regexp.QuoteMeta(addr) + `: peer closed; reconnecting now`)
	_, conns2 := listenOn(t, addr)
	peer2 := accepted(t, conns2)
	p.expect(`(?s)connected to ` + regexp.QuoteMeta(addr) + `.*connected to ` + regexp.QuoteMeta(addr))
	p.typeLine("n={{seq}}")
	if got := readExactly(t, peer2, 4); got != "n=4\n" {
		t.Fatalf("after the reconnect the peer got %q, want n=4", got)
	}
	p.typeLine("/quit")
	p.wait(0)
}

// TestInteractiveRetryFirstConnect: connect --retry on a terminal to a
// port nobody listens on yet: each try again of the first connect is a
// line of the log, worded as a reconnect's tries, and once a server
// listens the prompt talks to it.
func TestInteractiveRetryFirstConnect(t *testing.T) {
	t.Parallel()
	port := sockittest.ReservePort(t) // refused until it listens
	addr := port.Addr
	p := startPTY(t, "connect", addr, "--retry", "30", "--retry-delay", "20ms")
	p.expect(`\d\d:\d\d:\d\d\.\d{3} \* ` + regexp.QuoteMeta(addr+": connect tcp://"+addr+": connection refused; trying again in 20ms (retry 1 of 30)"))
	p.expect(regexp.QuoteMeta("; trying again in 40ms (retry 2 of 30)"))
	ln := port.Listen()
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	p.expect(`connected to ` + regexp.QuoteMeta(addr))
	p.expect(`(?m)^> `)
	p.typeLine("hello")
	if got := readExactly(t, peer, 6); got != "hello\n" {
		t.Fatalf("peer got %q", got)
	}
	p.typeLine("/quit")
	p.wait(0)
}

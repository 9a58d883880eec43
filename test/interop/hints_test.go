package interop

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// gbkHello is "你好，服务器！\n" in GBK, as the tutorial's GBK client
// sends it.
const gbkHello = "\xc4\xe3\xba\xc3\xa3\xac\xb7\xfe\xce\xf1\xc6\xf7\xa3\xa1\n"

const gbkHint = "look like GBK: try --recv-encoding gbk"

// TestEncodingHintOnTerminal: a plain `listen -u` on a terminal that
// receives GBK from the tutorial's client says once, above the prompt,
// which flag shows it as text (issue 10).
func TestEncodingHintOnTerminal(t *testing.T) {
	t.Parallel()
	p := startPTY(t, "listen", "-u", "127.0.0.1:0")
	addr := p.expect(`listening on (127\.0\.0\.1:\d+) \(udp\)`)[1]
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello\n")) // UTF-8: nothing to say
	p.expect(`hello`)
	if p.count("look like") != 0 {
		t.Fatalf("a hint for UTF-8 text:\n%s", p.screen())
	}
	c.Write([]byte(gbkHello))
	p.expect(gbkHint)
	// At the prompt, the way to switch now, without starting over.
	p.expect(gbkHint + `.*; here, type /enc gbk`)
	c.Write([]byte(gbkHello))
	p.expect(`(?s)` + strings.Repeat(`\\xc4\\xe3.*`, 2)) // the second one arrived
	if n := p.count(gbkHint); n != 1 {
		t.Errorf("the hint is shown %d times, want once", n)
	}
}

// TestEncodingHintNeverInPipes: in pipe mode stdout carries exactly the
// bytes received, and the hint does not appear, on stdout or stderr.
func TestEncodingHintNeverInPipes(t *testing.T) {
	t.Parallel()
	p := sockittest.Start(t, "listen", "-u", "127.0.0.1:0")
	addr := p.Addr()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(gbkHello))
	sockittest.Eventually(t, "the datagram on stdout", func() bool { return p.Stdout() == gbkHello })
	p.Interrupt()
	p.Wait(30 * time.Second)
	if got := p.Stdout(); got != gbkHello {
		t.Errorf("stdout %q, want exactly %q", got, gbkHello)
	}
	if strings.Contains(p.Stderr(), "look like") {
		t.Errorf("a hint in pipe mode:\n%s", p.Stderr())
	}
}

// TestGBKInputWithSendEncodingHint: stdin that is GBK already (a file
// Notepad saved as "ANSI" on Chinese Windows), sent with --send-encoding
// gbk, is refused as not UTF-8; the hint says to drop the flag rather
// than to write the text as hex.
func TestGBKInputWithSendEncodingHint(t *testing.T) {
	t.Parallel()
	ln, conns := acceptTCP(t)
	got := make(chan string, 1)
	go func() {
		c := <-conns
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		b, _ := io.ReadAll(c)
		got <- string(b)
	}()
	_, stderr, code := sockittest.Run(t, []byte(gbkHello), 30*time.Second, "connect", "--send-encoding", "gbk", ln.Addr().String())
	want := "Note that input is read as UTF-8, and this is gbk already: drop --send-encoding gbk"
	if code != 2 || !strings.Contains(stderr, "invalid UTF-8 byte 0xc4") || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr %q; want 2 and the hint %q", code, stderr, want)
	}
	if b := <-got; b != "" {
		t.Errorf("the peer got %q; want nothing sent", b)
	}
	// Without the flag the same bytes go as they are.
	ln2, conns2 := acceptTCP(t)
	go func() {
		c := <-conns2
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		b, _ := io.ReadAll(c)
		got <- string(b)
	}()
	if _, stderr, code := sockittest.Run(t, []byte(gbkHello), 30*time.Second, "connect", ln2.Addr().String()); code != 0 {
		t.Fatalf("without --send-encoding: exit %d, stderr %q", code, stderr)
	}
	if b := <-got; b != gbkHello {
		t.Errorf("without --send-encoding the peer got %q, want %q", b, gbkHello)
	}
}

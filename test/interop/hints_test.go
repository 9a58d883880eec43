package interop

import (
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

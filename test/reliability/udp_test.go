package reliability

import (
	"bytes"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// udpSizes are the payloads every UDP path must carry whole: empty, one
// byte, a full Ethernet frame, a typical large datagram and the IPv4
// maximum.
var udpSizes = []int{0, 1, 1472, 8192, 65507}

// TestUDPSizesEcho: datagrams of every size round-trip through
// 'listen -u --echo', one datagram in, the same datagram out, over IPv4
// and IPv6 (whose limit is 65,527).
func TestUDPSizesEcho(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		host  string
		sizes []int
	}{
		{"127.0.0.1", udpSizes},
		{"[::1]", append(append([]int{}, udpSizes...), 65508, 65527)},
	} {
		t.Run(tc.host, func(t *testing.T) {
			if tc.host == "[::1]" {
				if c, err := net.ListenPacket("udp6", "[::1]:0"); err != nil {
					t.Skip("no IPv6 loopback")
				} else {
					c.Close()
				}
			}
			p := sockittest.Start(t, "listen", "-u", "--echo", "udp://"+tc.host+":0")
			c, err := net.Dial("udp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			buf := make([]byte, 70000)
			for i, n := range tc.sizes {
				msg := randomData(n, uint64(n))
				if _, err := c.Write(msg); err != nil {
					t.Fatalf("send %d bytes: %v", n, err)
				}
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				got, err := c.Read(buf)
				if err != nil {
					t.Fatalf("datagram %d (%d bytes): no echo: %v", i, n, err)
				}
				if !bytes.Equal(buf[:got], msg) {
					t.Errorf("sent %d bytes, echo has %d (or differs)", n, got)
				}
			}
		})
	}
}

// TestUDPSizesSend: 'sockit send' carries each size as one datagram and
// prints the reply whole; 65,508 bytes (over the IPv4 limit) is a usage
// error with one line that says the limit.
func TestUDPSizesSend(t *testing.T) {
	t.Parallel()
	echo := sockittest.EchoUDP(t)
	for _, n := range udpSizes {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			msg := randomData(n, uint64(n)+1)
			path := writeTemp(t, msg)
			out, errOut, code := sockittest.Run(t, nil, 20*time.Second, "send", "--wait", "0.5", "--file", path, "udp://"+echo)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if out != string(msg) {
				t.Errorf("sent %d bytes, printed a reply of %d", n, len(out))
			}
		})
	}
	t.Run("65508", func(t *testing.T) {
		path := writeTemp(t, make([]byte, 65508))
		_, errOut, code := sockittest.Run(t, nil, 20*time.Second, "send", "--file", path, "udp://"+echo)
		if code != 2 {
			t.Errorf("exit %d, want 2 (usage); stderr: %s", code, errOut)
		}
		oneErrorLine(t, errOut, "65,507")
	})
	t.Run("65508-send-hex", func(t *testing.T) {
		hex := bytes.Repeat([]byte("00"), 65508)
		_, errOut, code := sockittest.Run(t, hex, 20*time.Second, "send", "--send-hex", "-u", echo)
		if code != 2 {
			t.Errorf("exit %d, want 2; stderr: %s", code, errOut)
		}
		oneErrorLine(t, errOut, "message too long")
	})
}

// TestUDPConnectSplitsStdin: connect over UDP sends a large stdin as
// datagrams of at most 65,507 bytes; the echo brings back every byte.
func TestUDPConnectLargeStdin(t *testing.T) {
	t.Parallel()
	p := sockittest.Start(t, "listen", "-u", "--echo", "127.0.0.1:0")
	data := randomData(65508, 9)
	cmd := exec.Command(sockittest.Binary(t), "connect", "--wait", "2", "udp://"+p.Addr())
	cmd.Stdin = bytes.NewReader(data)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("connect: %v", err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Errorf("65,508 bytes through UDP connect: %d came back", out.Len())
	}
}

package cli_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

func TestRelayCommandLog(t *testing.T) {
	echo := sockittest.Start(t, "listen", "-k", "--echo", "127.0.0.1:0")
	relay := sockittest.Start(t, "relay", "--log", "127.0.0.1:0", echo.Addr())
	c, err := net.Dial("tcp", relay.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello relay\n"))
	buf := make([]byte, 12)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hello relay\n" {
		t.Fatalf("echo through relay: %q %v", buf, err)
	}
	c.Close()
	sockittest.Eventually(t, "--log shows both directions", func() bool { return strings.Count(relay.Stdout(), "hello relay") >= 2 })
	if !strings.Contains(relay.Stdout(), "←") || !strings.Contains(relay.Stdout(), "→") {
		t.Fatalf("directions not marked:\n%s", relay.Stdout())
	}
}

func TestRelayCommandUDP(t *testing.T) {
	echo := sockittest.EchoUDP(t)
	relay := sockittest.Start(t, "relay", "-u", "127.0.0.1:0", echo)
	c, err := net.Dial("udp", relay.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 100)
	// Sent again each second until the echo comes back (a datagram may
	// be lost), for a minute at most: a relay slow to answer on a busy
	// machine is not a failure.
	for deadline := time.Now().Add(60 * time.Second); ; {
		c.Write([]byte("datagram"))
		c.SetReadDeadline(time.Now().Add(time.Second))
		n, err := c.Read(buf)
		if err == nil {
			if string(buf[:n]) != "datagram" {
				t.Fatalf("got %q", buf[:n])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no reply through the UDP relay within 60s")
		}
	}
}

// TestPipedTransfer: stdin (a pipe, spliced) through connect to listen
// with stdout to a file, byte-exact.
func TestPipedTransfer(t *testing.T) {
	data := make([]byte, 8<<20)
	rand.Read(data)
	out := t.TempDir() + "/out.bin"
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(sockittest.Binary(t), "listen", "127.0.0.1:0")
	cmd.Stdout = f
	srv := sockittest.StartCmd(t, cmd)
	_, stderr, code := sockittest.Run(t, data, 30*time.Second, "connect", srv.Addr())
	if code != 0 {
		t.Fatalf("connect exit %d: %s", code, stderr)
	}
	if code := srv.Wait(30 * time.Second); code != 0 {
		t.Fatalf("listen exit %d", code)
	}
	got, _ := os.ReadFile(out)
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("listen wrote %d bytes, not the %d sent", len(got), len(data))
	}
}

func TestListenForwardAndSource(t *testing.T) {
	echo := sockittest.EchoTCP(t)
	fw := sockittest.Start(t, "listen", "-k", "--forward", echo, "127.0.0.1:0")
	c, err := net.Dial("tcp", fw.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("through --forward"))
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	c.Close()
	if err != nil || string(b) != "through --forward" {
		t.Fatalf("%q %v", b, err)
	}

	src := sockittest.Start(t, "listen", "-k", "--source", "127.0.0.1:0")
	c, err = net.Dial("tcp", src.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1<<20)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || !bytes.HasPrefix(buf, []byte("sockit source:")) {
		t.Fatalf("source: %q %v", buf[:20], err)
	}
	_, stderr, code := sockittest.Run(t, nil, 10*time.Second, "listen", "-u", "--source", "127.0.0.1:0")
	if code != 2 || !strings.Contains(stderr, "--source") {
		t.Fatalf("listen -u --source: exit %d, %s", code, stderr)
	}
}

type benchResult struct {
	Mode       string  `json:"mode"`
	Seconds    float64 `json:"seconds"`
	Bytes      int64   `json:"bytes"`
	BitsPerSec float64 `json:"bits_per_second"`
	Ops        int64   `json:"ops"`
	OpsPerSec  float64 `json:"ops_per_second"`
	Errors     int64   `json:"errors"`
	Latency    *struct {
		P50, P99, Max float64
	} `json:"latency_us"`
	UDP *struct {
		Sent, Received, Lost int64
	} `json:"udp"`
}

// TestBenchAgainstSockitServers runs each mode against the sockit server
// made for it, and rr also against a plain Go echo server, and checks the
// figures are there and consistent (never how fast).
func TestBenchAgainstSockitServers(t *testing.T) {
	discard := sockittest.Start(t, "listen", "-k", "--discard", "127.0.0.1:0").Addr()
	source := sockittest.Start(t, "listen", "-k", "--source", "127.0.0.1:0").Addr()
	echo := sockittest.Start(t, "listen", "-k", "--echo", "127.0.0.1:0").Addr()
	uecho := sockittest.Start(t, "listen", "-u", "--echo", "127.0.0.1:0").Addr()
	goEcho := sockittest.EchoTCP(t)
	for _, tc := range []struct {
		mode, target string
		extra        []string
	}{
		{"tx", discard, nil},
		{"rx", source, nil},
		{"rr", echo, []string{"-c", "4", "--depth", "2"}},
		{"rr", goEcho, []string{"-c", "4"}},
		{"connect", echo, []string{"-c", "2"}},
		{"udp", "udp://" + uecho, []string{"-c", "4", "--depth", "8"}},
	} {
		t.Run(tc.mode+" "+tc.target, func(t *testing.T) {
			args := append([]string{"bench", "--json", "-d", "0.4", "--interval", "0.1", "--mode", tc.mode}, tc.extra...)
			out, stderr, code := sockittest.Run(t, nil, 30*time.Second, append(args, tc.target)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			// NDJSON: interval objects, then the summary.
			lines := strings.Split(strings.TrimSpace(out), "\n")
			var r benchResult
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out)
			}
			if r.Mode != tc.mode || r.Ops <= 0 || r.Seconds <= 0 || r.Errors != 0 {
				t.Fatalf("%+v", r)
			}
			if tc.mode != "connect" && (r.Bytes <= 0 || r.BitsPerSec <= 0) {
				t.Fatalf("no bytes: %+v", r)
			}
			if tc.mode == "rr" || tc.mode == "udp" || tc.mode == "connect" {
				if r.Latency == nil || !(r.Latency.P50 > 0 && r.Latency.P50 <= r.Latency.P99 && r.Latency.P99 <= r.Latency.Max*1.001) {
					t.Fatalf("latency %+v", r.Latency)
				}
			}
			if tc.mode == "udp" && (r.UDP == nil || r.UDP.Received != r.Ops || r.UDP.Sent < r.UDP.Received) {
				t.Fatalf("udp %+v", r.UDP)
			}
		})
	}
}

func TestBenchTextOutput(t *testing.T) {
	echo := sockittest.EchoTCP(t)
	out, stderr, code := sockittest.Run(t, nil, 30*time.Second, "bench", "--mode", "rr", "-d", "0.5", "--interval", "0.2", echo)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"requests/s", "summary", "latency", "p99"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if lines := strings.Count(out, "\n  0."); lines < 2 {
		t.Errorf("want interval lines:\n%s", out)
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--mode", "nope", "127.0.0.1:1"},
		{"bench", "--mode", "udp", "--size", "4", "udp://127.0.0.1:1"},
		{"bench", "--mode", "tx", "udp://127.0.0.1:1"},
		{"scan", "127.0.0.1", "0-5"},
		{"scan", "127.0.0.1"},
		{"relay", "127.0.0.1:0"},
		{"ping", "-c", "-1", "127.0.0.1:1"},
	} {
		_, stderr, code := sockittest.Run(t, nil, 10*time.Second, args...)
		if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
			t.Errorf("%v: exit %d, stderr %q (want exit 2 and one line, maybe a hint)", args, code, stderr)
		}
	}
}

func TestBenchRefused(t *testing.T) {
	port := sockittest.FreePort(t, false)
	_, stderr, code := sockittest.Run(t, nil, 10*time.Second, "bench", "-d", "0.2", fmt.Sprintf("127.0.0.1:%d", port))
	if code != 3 {
		t.Fatalf("exit %d, want 3 (refused): %s", code, stderr)
	}
}

func TestPingCommand(t *testing.T) {
	echo := sockittest.EchoTCP(t)
	out, stderr, code := sockittest.Run(t, nil, 10*time.Second, "ping", "-c", "3", "-i", "0.05", "--echo", echo)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"seq=1", "seq=3", "3 probes sent, 3 answered, 0.0% loss", "rtt min/avg/max/mdev = "} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
	uecho := sockittest.EchoUDP(t)
	out, _, code = sockittest.Run(t, nil, 10*time.Second, "ping", "-c", "2", "-i", "0.05", "udp://"+uecho)
	if code != 0 || !strings.Contains(out, "2 answered") {
		t.Fatalf("udp ping exit %d:\n%s", code, out)
	}
	port := sockittest.FreePort(t, false)
	out, _, code = sockittest.Run(t, nil, 10*time.Second, "ping", "-c", "2", "-i", "0.05", fmt.Sprintf("127.0.0.1:%d", port))
	if code != 3 || !strings.Contains(out, "100.0% loss") || !strings.Contains(out, "connection refused") {
		t.Fatalf("refused ping exit %d:\n%s", code, out)
	}
}

func TestScanCommand(t *testing.T) {
	echo := sockittest.EchoTCP(t)
	_, openPort, _ := net.SplitHostPort(echo)
	closed := sockittest.FreePort(t, false)
	out, stderr, code := sockittest.Run(t, nil, 20*time.Second, "scan", "--all", "--json", "127.0.0.1", fmt.Sprintf("%d,%s", closed, openPort))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Scanned int
		Ports   []struct {
			Port  int
			State string
		}
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.Scanned != 2 || len(r.Ports) != 2 || r.Ports[0].Port > r.Ports[1].Port {
		t.Fatalf("%+v", r)
	}
	states := map[string]string{}
	for _, p := range r.Ports {
		states[fmt.Sprint(p.Port)] = p.State
	}
	if states[openPort] != "open" || states[fmt.Sprint(closed)] != "closed" {
		t.Fatalf("states %v", states)
	}
	out, _, _ = sockittest.Run(t, nil, 20*time.Second, "scan", "127.0.0.1", fmt.Sprintf("%d,%s", closed, openPort))
	if !strings.Contains(out, openPort+"/tcp") || strings.Contains(out, fmt.Sprintf("%d/tcp", closed)) || !strings.Contains(out, "1 open 1 closed") {
		t.Fatalf("text output:\n%s", out)
	}
}

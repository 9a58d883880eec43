package frame

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// peerScript frames the messages given on stdin (a JSON list of hex) by
// its own means (struct.pack, b"\n"), writes them to a TCP port with
// TCP_NODELAY in odd-sized pieces with pauses, so that they really arrive
// split, and prints what it sent, in hex.
const peerScript = `
import json, socket, struct, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
msgs = [bytes.fromhex(h) for h in json.load(sys.stdin)]
if mode == "len16":
    data = b"".join(struct.pack(">H", len(m)) + m for m in msgs)
elif mode == "len32le":
    data = b"".join(struct.pack("<I", len(m)) + m for m in msgs)
elif mode == "line":
    data = b"".join(m + b"\n" for m in msgs)
else:
    sys.exit("unknown mode " + mode)
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
sizes = [1, 2, 3, 1, 7, 5, 1, 64, 1, 2, 4099, 1, 3, 700]
i = k = 0
while i < len(data):
    n = sizes[k % len(sizes)]
    s.sendall(data[i:i+n])
    i, k = i + n, k + 1
    if k < 150:
        time.sleep(0.002)
s.shutdown(socket.SHUT_WR)
s.recv(1)  # until the Go side closes
s.close()
sys.stdout.write(data.hex())
`

func TestPythonInterop(t *testing.T) {
	t.Parallel()
	if _, err := python3(); err != nil {
		sockittest.Missing(t, "python3 is not installed")
	}
	msgs := [][]byte{[]byte("hello"), {}, []byte("a"), []byte("crlf\r"), {}, pattern(300, 1),
		bytes.Repeat([]byte("0123456789"), 500), []byte("\x00\xff binary \r"), pattern(4095, 2)}
	for _, mode := range []string{"len16", "len32le", "line"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			s, err := Parse(mode)
			if err != nil {
				t.Fatal(err)
			}
			msgs := append([][]byte(nil), msgs...)
			if mode != "line" {
				msgs = append(msgs, pattern(65535, 3), []byte("\n\nafter the big one\n"))
			} else {
				for i, m := range msgs {
					msgs[i] = bytes.ReplaceAll(m, []byte("\n"), []byte("z"))
				}
				msgs = append(msgs, bytes.Repeat([]byte{'x'}, 20000))
			}
			interop(t, s, msgs)
		})
	}
}

// python3 is the Python interpreter: /usr/bin/python3 where it exists,
// which starts at once, rather than a version manager's shim on PATH that
// can take seconds on a loaded machine.
func python3() (string, error) {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3", nil
	}
	return exec.LookPath("python3")
}

// hangLimit ends a test that hangs. The test waits on events (accept,
// EOF, the process's exit), not on a budget that assumes an idle machine:
// this is only a safety net, far beyond what a loaded 2-core machine needs.
const hangLimit = 5 * time.Minute

func interop(t *testing.T, s Spec, msgs [][]byte) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(hangLimit))

	hexes := make([]string, len(msgs))
	for i, m := range msgs {
		hexes[i] = hex.EncodeToString(m)
	}
	input, _ := json.Marshal(hexes)
	ctx, cancel := context.WithTimeout(context.Background(), hangLimit)
	t.Cleanup(cancel)
	port := ln.Addr().(*net.TCPAddr).Port
	py, err := python3()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, py, "-c", peerScript, strconv.Itoa(port), s.String())
	cmd.Stdin = bytes.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	t.Cleanup(func() {
		if !waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})

	conn, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept: %v (python: %s)", err, stderr.Bytes())
	}
	conn.SetDeadline(time.Now().Add(hangLimit))
	// The Python side writes in odd-sized pieces with pauses, so the
	// messages arrive split; a loaded machine may still coalesce the
	// pieces into few reads, so the reads are also cut to odd sizes here:
	// the decoder meets messages split across reads whatever the timing.
	counted := &countingReader{r: &chopReader{r: conn}}
	d := NewDecoder(counted, s, 0)
	var got [][]byte
	for {
		m, err := d.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %d messages: %v", len(got), err)
		}
		got = append(got, bytes.Clone(m))
	}
	conn.Close()
	waited = true
	if err := cmd.Wait(); err != nil {
		t.Fatalf("python: %v: %s", err, stderr.Bytes())
	}

	if len(got) != len(msgs) {
		t.Fatalf("got %d messages, want %d", len(got), len(msgs))
	}
	for i := range msgs {
		if !bytes.Equal(got[i], msgs[i]) {
			t.Errorf("message %d: got %d bytes %.20q, want %d bytes %.20q", i, len(got[i]), got[i], len(msgs[i]), msgs[i])
		}
	}
	// The messages must really have arrived in pieces, or this proved little.
	if counted.reads <= len(msgs) {
		t.Errorf("only %d reads for %d messages; the stream was not split", counted.reads, len(msgs))
	}
	// And Python's framing is byte for byte ours.
	var want []byte
	for _, m := range msgs {
		want, _ = s.Append(want, m)
	}
	if sent := strings.TrimSpace(stdout.String()); sent != hex.EncodeToString(want) {
		t.Errorf("python framed the messages differently from Append")
	}
	t.Logf("%v: %d messages in %d reads", s, len(msgs), counted.reads)
}

// chopReader returns at most a few bytes per Read, cycling through odd
// sizes, to cut messages at every kind of place.
type chopReader struct {
	r io.Reader
	k int
}

var chopSizes = []int{1, 3, 7, 2, 64, 5, 4099, 11}

func (c *chopReader) Read(p []byte) (int, error) {
	n := chopSizes[c.k%len(chopSizes)]
	c.k++
	return c.r.Read(p[:min(n, len(p))])
}

type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.reads++
	}
	return n, err
}

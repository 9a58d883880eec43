//go:build linux

package endpoints

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/sockittest"
)

// ptyPair makes a connected pseudo-terminal pair with socat (as a user
// without hardware would) and returns the two ends' paths and socat.
func ptyPair(t *testing.T) (a, b string, socat *sockittest.Proc) {
	t.Helper()
	bin := sockittest.Need(t, "socat")
	dir := t.TempDir()
	a, b = filepath.Join(dir, "a"), filepath.Join(dir, "b")
	socat = sockittest.StartCmd(t, exec.Command(bin, "-d", "-d", "pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+b))
	socat.WaitStderr("starting data transfer loop", 30*time.Second)
	return a, b, socat
}

// device opens the far end of the pair, as the serial device's side.
func device(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	f.SetDeadline(time.Now().Add(sockittest.Patience))
	return f
}

// echo sends back what the device side reads. Reading and writing run
// apart, with the bytes queued between them, so that the device always
// drains its input: a device that stops reading while its own write
// waits would deadlock with socat, which relays both directions in one
// thread. (Not io.Copy(dev, dev) either: *os.File's ReadFrom tries the
// kernel's copy paths first, which are not for terminals.)
func echo(dev *os.File) {
	q := make(chan []byte, 1<<14)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 4096)
			n, err := dev.Read(buf)
			if n > 0 {
				q <- buf[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	for b := range q {
		if _, err := dev.Write(b); err != nil {
			return
		}
	}
}

// crc16Modbus is the Modbus RTU CRC (poly 0xA001 reflected, init 0xFFFF),
// written here from the specification, apart from sockit's own.
func crc16Modbus(b []byte) []byte {
	crc := uint16(0xffff)
	for _, x := range b {
		crc ^= uint16(x)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xa001
			} else {
				crc >>= 1
			}
		}
	}
	return []byte{byte(crc), byte(crc >> 8)} // low byte first on the wire
}

// TestSerialModbusRelay is ser2net in one line: a TCP client sends a
// Modbus RTU request (CRC appended by --checksum) through relay to a
// serial line, where a device checks the CRC and answers; the answer comes
// back through the relay with its CRC intact.
func TestSerialModbusRelay(t *testing.T) {
	t.Parallel()
	a, b, _ := ptyPair(t)
	r := sockittest.Start(t, "relay", "tcp://127.0.0.1:0", "serial://"+a+"?baud=9600&data=8&parity=none&stop=1")
	addr := r.Addr()

	req := []byte{0x01, 0x03, 0x00, 0x00, 0x00, 0x02} // read 2 holding registers from unit 1
	resp := append([]byte{0x01, 0x03, 0x04, 0x00, 0x0a, 0x01, 0x02}, 0)
	resp = resp[:7]
	resp = append(resp, crc16Modbus(resp)...)
	dev := device(t, b)
	got := make(chan []byte, 1)
	go func() {
		frame := make([]byte, 8)
		if _, err := io.ReadFull(dev, frame); err != nil {
			got <- nil
			return
		}
		got <- frame
		dev.Write(resp)
	}()
	out, errOut, code := sockittest.Run(t, nil, 60*time.Second, "send", addr, "--send-hex", "01 03 00 00 00 02",
		"--checksum", "crc16-modbus", "--verify-checksum", "--wait", "2s")
	frame := <-got
	if want := append(append([]byte{}, req...), crc16Modbus(req)...); !bytes.Equal(frame, want) {
		t.Fatalf("the device got % x, want % x (request and CRC)", frame, want)
	}
	if code != 0 || out != string(resp) {
		t.Fatalf("send through relay to serial: exit %d, reply % x, want % x; stderr:\n%s", code, out, resp, errOut)
	}
	if strings.Contains(errOut, "mismatch") {
		t.Errorf("the reply's CRC was flagged: %s", errOut)
	}
}

// TestSerialByteExactBauds: 64 KiB of random bytes out and back through a
// serial line at several settings, with the device echoing: connect in
// pipe mode, stdin to the port and the port to stdout.
func TestSerialByteExactBauds(t *testing.T) {
	t.Parallel()
	data := make([]byte, 64<<10)
	rand.Read(data)
	for _, mode := range []string{"baud=9600", "baud=115200&parity=even&data=7&stop=2", "baud=460800&stop=1&parity=odd"} {
		a, b, _ := ptyPair(t)
		dev := device(t, b)
		go echo(dev)
		c := sockittest.Start(t, "connect", "serial://"+a+"?"+mode)
		go c.Stdin.Write(data)
		deadline := time.Now().Add(sockittest.Patience)
		for len(c.Stdout()) < len(data) && time.Now().Before(deadline) {
			select {
			case <-c.Done():
				t.Fatalf("%s: connect ended early; stderr:\n%s", mode, c.Stderr())
			case <-time.After(10 * time.Millisecond):
			}
		}
		if got := c.Stdout(); got != string(data) {
			t.Errorf("%s: %d of %d bytes back, intact %v; stderr:\n%s", mode, len(got), len(data), sum([]byte(got)) == sum(data), c.Stderr())
		}
		c.Interrupt()
		c.Wait(30 * time.Second)
	}
}

// TestSerialDeviceDisappears: the device goes away mid-session (socat,
// which holds both ends, is killed): connect exits 6 with one line saying
// so and what to try.
func TestSerialDeviceDisappears(t *testing.T) {
	t.Parallel()
	a, b, socat := ptyPair(t)
	c := sockittest.Start(t, "connect", "serial://"+a+"?baud=115200")
	dev := device(t, b)
	deadline := time.Now().Add(sockittest.Patience)
	for !strings.Contains(c.Stdout(), "ready") && time.Now().Before(deadline) {
		// The port may not be in raw mode until sockit has opened it:
		// say it again until it arrives.
		dev.Write([]byte("ready\n"))
		select {
		case <-time.After(50 * time.Millisecond):
		case <-c.Done():
			t.Fatalf("connect ended early: %s", c.Stderr())
		}
	}
	socat.Cmd.Process.Kill()
	code := c.Wait(30 * time.Second)
	lines := strings.Split(strings.TrimSpace(c.Stderr()), "\n")
	if code != exitcode.Reset || !strings.Contains(c.Stderr(), "went away") || len(lines) > 2 {
		t.Fatalf("device gone: exit %d, want %d, and a line that says so; stderr:\n%s", code, exitcode.Reset, c.Stderr())
	}
}

// TestSerialBadEndpoints: malformed serial:// endpoints are usage errors
// with the accepted form; a missing port is not found (3) with a hint.
func TestSerialBadEndpoints(t *testing.T) {
	t.Parallel()
	for _, ep := range []string{"serial://", "serial:///dev/ttyS0?baud=fast", "serial:///dev/ttyS0?parity=x", "serial:///dev/ttyS0?flow=rtscts"} {
		_, errOut, code := sockittest.Run(t, nil, 30*time.Second, "connect", ep)
		if code != exitcode.Usage || !strings.Contains(errOut, "serial:") || strings.Count(strings.TrimSpace(errOut), "\n") != 1 {
			t.Errorf("connect %q: exit %d; stderr:\n%s", ep, code, errOut)
		}
	}
	_, errOut, code := sockittest.Run(t, nil, 30*time.Second, "send", "serial:///dev/sockit-no-such-port", "x")
	if code != exitcode.Unreachable || !strings.Contains(errOut, "sockit ports") {
		t.Errorf("missing port: exit %d; stderr:\n%s", code, errOut)
	}
	a, _, _ := ptyPair(t)
	_, errOut, code = sockittest.Run(t, nil, 30*time.Second, "send", "serial://"+a+"?stop=1.5", "x")
	if code != exitcode.Usage || !strings.Contains(errOut, "1.5 stop bits") {
		t.Errorf("stop=1.5 on Linux: exit %d; stderr:\n%s", code, errOut)
	}
	out, errOut, code := sockittest.Run(t, nil, 30*time.Second, "ports", "--json")
	if code != 0 || !strings.HasPrefix(out, "[") {
		t.Errorf("ports --json: exit %d, %q; stderr:\n%s", code, out, errOut)
	}
}

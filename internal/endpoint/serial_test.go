//go:build linux

package endpoint

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/sockit/sockit/internal/exitcode"
)

// ptyPair opens a pseudo-terminal: the returned master is the "device"
// side the test drives, path the terminal sockit opens as a serial port.
func ptyPair(t *testing.T) (master *os.File, path string) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	path = s.Name()
	s.Close() // sockit opens it by name; the pair lives while master is open
	t.Cleanup(func() { m.Close() })
	return m, path
}

func dialSerial(t *testing.T, path string, baud int) net.Conn {
	t.Helper()
	ep, err := Parse("serial://"+path+"?baud="+strconv.Itoa(baud)+"&data=8&parity=none&stop=1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := (&Dialer{}).Dial(context.Background(), ep)
	if err != nil {
		t.Fatalf("open %s: %v", ep, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestSerialBothWaysByteExact moves 256 KiB of random bytes each way
// through a pseudo-terminal opened as a serial port, at several speeds.
func TestSerialBothWaysByteExact(t *testing.T) {
	for _, baud := range []int{1200, 9600, 115200, 921600, 250000} {
		t.Run(strconv.Itoa(baud), func(t *testing.T) {
			master, path := ptyPair(t)
			c := dialSerial(t, path, baud)
			deadline := time.Now().Add(60 * time.Second)
			master.SetDeadline(deadline)
			c.SetReadDeadline(deadline)

			want := make([]byte, 256<<10)
			rand.Read(want)
			// sockit → device
			errc := make(chan error, 1)
			go func() { _, err := c.Write(want); errc <- err }()
			got := make([]byte, len(want))
			if _, err := io.ReadFull(master, got); err != nil {
				t.Fatalf("device read: %v", err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("serial write: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatal("bytes written to the serial port arrived changed")
			}
			// device → sockit
			go func() { _, err := master.Write(want); errc <- err }()
			got = make([]byte, len(want))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatalf("serial read: %v", err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("device write: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatal("bytes from the device arrived changed")
			}
		})
	}
}

// TestSerialReadDeadline: a read deadline ends a read that waits, and a
// later read still works.
func TestSerialReadDeadline(t *testing.T) {
	master, path := ptyPair(t)
	c := dialSerial(t, path, 9600)
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v, want a deadline error", err)
	}
	c.SetReadDeadline(time.Time{})
	master.Write([]byte("x"))
	b := make([]byte, 1)
	if _, err := c.Read(b); err != nil || b[0] != 'x' {
		t.Fatalf("read after the deadline was cleared: %q, %v", b, err)
	}
}

// TestSerialDeviceGone: when the device goes away mid-session (the other
// end of the terminal closes), the read fails with an error that says so
// and counts as broken by the peer (exit 6).
func TestSerialDeviceGone(t *testing.T) {
	master, path := ptyPair(t)
	c := dialSerial(t, path, 115200)
	master.Write([]byte("hi"))
	b := make([]byte, 2)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	master.Close()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err := c.Read(b)
	var se *SerialError
	if !errors.As(err, &se) || exitcode.Code(err) != exitcode.Reset {
		t.Fatalf("read after the device went away: %v (exit %d), want a SerialError, exit 6", err, exitcode.Code(err))
	}
	if exitcode.Hint(err) == "" {
		t.Errorf("no what-to-try line for %v", err)
	}
}

// TestSerialOpenErrors: a missing port and a file that is no serial port
// fail at open with a clear error and a what-to-try line.
func TestSerialOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/dev/sockit-no-such-port", exitcode.Unreachable},
		{"/dev/null", exitcode.Unreachable},
	} {
		ep, _ := Parse("serial://"+tc.path, Options{})
		_, err := (&Dialer{}).Dial(context.Background(), ep)
		if err == nil {
			t.Fatalf("open %s: no error", tc.path)
		}
		if exitcode.Code(err) != tc.code || exitcode.Hint(err) == "" {
			t.Errorf("open %s: %v (exit %d, hint %q), want exit %d and a hint", tc.path, err, exitcode.Code(err), exitcode.Hint(err), tc.code)
		}
	}
}

// TestSerialListen: a serial port as a server is opened once per
// conversation, one at a time.
func TestSerialListen(t *testing.T) {
	master, path := ptyPair(t)
	ep, _ := Parse("serial://"+path+"?baud=19200", Options{Listen: true})
	ln, err := (&ListenConfig{}).Listen(context.Background(), ep)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	second := make(chan net.Conn, 1)
	go func() {
		c2, err := ln.Accept()
		if err == nil {
			second <- c2
		}
		close(second)
	}()
	select {
	case <-second:
		t.Fatal("a second conversation opened while the first holds the port")
	case <-time.After(50 * time.Millisecond):
	}
	master.Write([]byte("ok"))
	b := make([]byte, 2)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "ok" {
		t.Fatalf("read %q, %v", b, err)
	}
	c.Close()
	select {
	case c2 := <-second:
		if c2 == nil {
			t.Fatal("Accept failed after the first conversation ended")
		}
		c2.Close()
	case <-time.After(30 * time.Second):
		t.Fatal("no second conversation after the first ended")
	}
	ln.Close()
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v", err)
	}
}

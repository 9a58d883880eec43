package sockittest

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestListening: a listening socket's port is seen, from a port with four
// hex digits and one with three (below 4096, which /proc/net/tcp pads
// with a zero); a connected socket's port and a closed listener's are not.
func TestListening(t *testing.T) {
	for _, low := range []bool{false, true} {
		var ln net.Listener
		var err error
		if low {
			// The first free port of 1024–4095 (0x400–0xFFF).
			for p := 1024; p < 4096 && ln == nil; p++ {
				ln, _ = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			}
			if ln == nil {
				t.Fatal("no free TCP port below 4096 on 127.0.0.1")
			}
		} else if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		WaitListening(t, port)
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if p := c.LocalAddr().(*net.TCPAddr).Port; Listening(p) {
			t.Errorf("port %d of a connected socket counts as listening", p)
		}
		c.Close()
		ln.Close()
		if Listening(port) {
			t.Errorf("port %d still counts as listening once its listener closed", port)
		}
	}
}

// TestWaitStdoutFailsTheWaitingTest: WaitStdout called in a subtest on a
// process its parent started fails that subtest, cleanly. When it
// reported on the process's own test, it called the parent's FailNow on
// the subtest's goroutine, which the testing package reports as a
// Goexit ("subtest may have called FailNow on a parent test"). The test
// runs itself as a child process to see how the child fails.
func TestWaitStdoutFailsTheWaitingTest(t *testing.T) {
	if os.Getenv("SOCKITTEST_CHILD") == "1" {
		p := StartCmd(t, exec.Command(Need(t, "sh"), "-c", "echo nope"))
		t.Run("sub", func(t *testing.T) {
			p.WaitStdout(t, "yes", func(s string) bool { return strings.Contains(s, "yes") })
		})
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestWaitStdoutFailsTheWaitingTest$", "-test.v")
	cmd.Env = append(os.Environ(), "SOCKITTEST_CHILD=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("the child test binary: %v, want exit status 1 (a failed test); output:\n%s", err, out)
	}
	for _, want := range []string{"--- FAIL: TestWaitStdoutFailsTheWaitingTest/sub", "the process exited before its stdout showed yes"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the child's output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "panic") || strings.Contains(string(out), "FailNow on a parent") {
		t.Errorf("the child failed its parent test from the subtest:\n%s", out)
	}
}

// TestServeOne: serve gets the connection and its result arrives; a
// serve still reading when its test ends is unblocked (its connection
// closed) and awaited, not left running.
func TestServeOne(t *testing.T) {
	addr, res := ServeOne(t, func(c *net.TCPConn) error {
		_, err := c.Write([]byte("hi"))
		return err
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if b, err := io.ReadAll(c); string(b) != "hi" || err != nil {
		t.Fatalf("read %q, %v", b, err)
	}
	if err := <-res; err != nil {
		t.Fatalf("serve: %v", err)
	}

	started, returned := make(chan struct{}), make(chan error, 1)
	var client net.Conn
	defer func() {
		if client != nil {
			client.Close()
		}
	}()
	t.Run("still-reading", func(t *testing.T) {
		addr, _ := ServeOne(t, func(c *net.TCPConn) error {
			close(started)
			_, err := io.ReadAll(c) // its client closes only after the subtest
			returned <- err
			return err
		})
		var err error
		if client, err = net.Dial("tcp", addr); err != nil {
			t.Fatal(err)
		}
		select {
		case <-started:
		case <-time.After(Patience):
			t.Fatalf("serve did not start within %s", Patience)
		}
	})
	select {
	case err := <-returned:
		if err == nil {
			t.Error("serve's read ended without an error, though its client never closed")
		}
	default:
		t.Fatal("serve was still running after its test ended")
	}
}

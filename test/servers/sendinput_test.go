package servers

import (
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// TestSendOutputFile: send -o FILE wrote an empty file, TCP and UDP alike
// (issue 10); it gets the reply, as stdout does.
func TestSendOutputFile(t *testing.T) {
	t.Parallel()
	_, udp := python(t, pyUDPRecorder) // answers "ack"
	tcp := sockittest.EchoTCP(t)
	for _, ep := range []string{"udp://" + udp, tcp} {
		out := filepath.Join(t.TempDir(), "reply.bin")
		stdout, stderr, code := runSockit(t, "send", "-o", out, "--expect", "ack", ep, "ack")
		if code != 0 {
			t.Fatalf("%s: exit %d %q", ep, code, stderr)
		}
		if b, err := os.ReadFile(out); err != nil || string(b) != "ack" || stdout != "ack" {
			t.Errorf("%s: -o has %q (%v), stdout %q; want the reply in both", ep, b, err, stdout)
		}
	}
}

// TestSendLineEnd: DATA, --file and stdin go as they are; --eol (-C) ends
// every line with that line end, the last one too; --frame line frames
// each line (issue 10: help said --eol lf was the default, send added
// none).
func TestSendLineEnd(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "lines.txt", "a\nb")
	hexFile := writeFile(t, "hex.txt", "48 69\n0a\n")
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"data-verbatim", "", []string{"PING"}, "PING"},
		{"data-verbatim-newline", "", []string{"PING\n"}, "PING\n"},
		{"data-C", "", []string{"-C", "PING"}, "PING\r\n"},
		{"data-eol-lf", "", []string{"--eol", "lf", "PING"}, "PING\n"},
		{"data-eol-cr-two-lines", "", []string{"--eol", "cr", "a\nb"}, "a\rb\r"},
		{"data-frame-line", "", []string{"--frame", "line", "PING"}, "PING\n"},
		{"data-hex-C", "", []string{"--send-hex", "-C", "48 69"}, "Hi\r\n"},
		{"stdin-verbatim", "a\nb", nil, "a\nb"},
		{"stdin-C", "a\nb", []string{"-C"}, "a\r\nb\r\n"},
		{"stdin-C-already-ended", "a\r\nb\n", []string{"-C"}, "a\r\nb\r\n"},
		{"file-verbatim", "", []string{"--file", file}, "a\nb"},
		{"file-eol-lf", "", []string{"--file", file, "--eol", "lf"}, "a\nb\n"},
		{"file-hex", "", []string{"--file", hexFile, "--send-hex"}, "Hi\n"},
		{"file-template-per-line", "", []string{"--file", file, "--template", "--count", "2", "--eol", "lf"}, "a\nb\na\nb\n"},
		{"count-stdin", "x\n", []string{"--count", "3"}, "x\nx\nx\n"},
		{"encoding-utf16-C", "", []string{"--send-encoding", "utf-16le", "-C", "hi"}, "h\x00i\x00\r\x00\n\x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			py, addr := python(t, pyTCPRecorder)
			args := append([]string{"send", "--shutdown", "--wait", "0", addr}, tc.args...)
			_, stderr, code := sockittestRun(t, tc.stdin, args...)
			if code != 0 {
				t.Fatalf("exit %d %q", code, stderr)
			}
			got := py.WaitStdout(t, "what was sent", func(s string) bool { return strings.Count(s, "\n") >= 2 })
			if h := hexLines(got)[0]; unhex(t, h) != tc.want {
				t.Errorf("sent %q, want %q", unhex(t, h), tc.want)
			}
		})
	}
}

// TestSendBadInputBeforeConnecting: DATA is checked whole and a stream's
// first line before any socket opens (exit 2 with nothing listening, not
// 3); a bad line further on ends the send with exit 2, naming the line.
func TestSendBadInputBeforeConnecting(t *testing.T) {
	t.Parallel()
	closed := "127.0.0.1:" + strconv.Itoa(sockittest.FreePort(t, false))
	bad := writeFile(t, "bad.hex", "zz\n48\n")
	huge := writeFile(t, "huge.tmpl", strings.Repeat("{{rand:65536}}", 300)+"\n")
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"data-second-line", "", []string{"--send-hex", closed, "48\nzz"}, "hex"},
		{"file-first-line", "", []string{"--send-hex", "--file", bad, closed}, "hex"},
		{"stdin-first-line", "zz\n48\n", []string{"--send-hex", closed}, "hex"},
		{"template-over-max-message", "", []string{"--template", "--file", huge, closed}, "--max-message"},
		{"udp-input-over-max-message", strings.Repeat("x", 2048), []string{"--max-message", "1K", "udp://" + closed}, "--max-message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, stderr, code := sockittestRun(t, tc.stdin, append([]string{"send"}, tc.args...)...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and a line about %s", code, stderr, tc.want)
			}
		})
	}
	t.Run("later-line", func(t *testing.T) {
		t.Parallel()
		py, addr := python(t, pyTCPRecorder)
		_, stderr, code := sockittestRun(t, "48 69\nzz\n", "send", "--send-hex", "--wait", "0", addr)
		if code != 2 || !strings.Contains(stderr, "input line 2") {
			t.Errorf("exit %d, stderr %q; want 2 naming input line 2", code, stderr)
		}
		got := py.WaitStdout(t, "what was sent", func(s string) bool { return strings.Count(s, "\n") >= 2 })
		if h := hexLines(got)[0]; unhex(t, h) != "Hi" {
			t.Errorf("sent %q before the bad line, want %q", unhex(t, h), "Hi")
		}
	})
}

// TestListenHubStdinLineBounded: listen -u (and -k with composing) reads
// stdin a line at a time; a line with no end in sight is refused at
// 16 MiB instead of growing in memory as long as stdin goes on.
func TestListenHubStdinLineBounded(t *testing.T) {
	t.Parallel()
	srv, addr := listen(t, "-u")
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello\n")) // now a peer
	srv.WaitStdout(t, "the datagram", func(s string) bool { return s == "hello\n" })
	go func() {
		srv.Stdin.Write(bytes.Repeat([]byte("x"), 17<<20))
		srv.Stdin.Close()
	}()
	srv.WaitStderr("input line longer than 16.0 MiB", 30*time.Second)
}

// TestSendPeerClosesFirst: send streams its input, so the peer may close
// while it still sends. Its FIN ends only its sending: what input is
// there still goes; input not there yet is not waited for; a peer that
// closes completely ends the send with exit 0 and a note of what went
// unsent (the rule of connect and listen, README "Pipe mode and the end of input", "Servers").
func TestSendPeerClosesFirst(t *testing.T) {
	t.Parallel()
	t.Run("idle-stdin", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			b := make([]byte, 6)
			io.ReadFull(c, b)
			c.Write([]byte("bye\n"))
		}()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		cmd := exec.Command(sockittest.Binary(t), "send", ln.Addr().String())
		cmd.Stdin = r
		p := sockittest.StartCmd(t, cmd)
		r.Close()
		w.Write([]byte("hello\n")) // and then nothing, the writer still there
		if code := p.Wait(20 * time.Second); code != 0 || p.Stdout() != "bye\n" || !strings.Contains(p.Stderr(), "peer closed first, before the input ended") {
			t.Errorf("exit %d, stdout %q, stderr %q", code, p.Stdout(), p.Stderr())
		}
	})
	t.Run("peer-gone", func(t *testing.T) {
		t.Parallel()
		_, addr := python(t, `
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()
print(s.getsockname()[1])
c, _ = s.accept()
c.recv(1)
c.shutdown(socket.SHUT_WR)  # done talking: the FIN
time.sleep(0.5)
c.close()                   # and gone, with data unread: a reset
time.sleep(30)
`)
		file := filepath.Join(t.TempDir(), "big.bin")
		f, _ := os.Create(file)
		f.Truncate(64 << 20)
		f.Close()
		_, stderr, code := runSockit(t, "send", "--file", file, addr)
		if code != 0 || !regexp.MustCompile(`note: tcp://\S+: peer closed before all the input was sent: [0-9.]+ MiB of the input unsent`).MatchString(stderr) {
			t.Errorf("exit %d, stderr %q; want 0 and a note of what went unsent", code, stderr)
		}
	})
}

//go:build unix

package server

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/console"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/session"
	"github.com/sockit/sockit/internal/sockittest"
)

func readAll(t *testing.T, c net.Conn) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read to EOF: %v (after %d bytes)", err, len(b))
	}
	return b
}

// /bin/cat as the process: a megabyte in, the same megabyte out, and the
// client's FIN ends it.
func TestExecCatRoundTrip(t *testing.T) {
	t.Parallel()
	x := &Exec{Command: "cat"}
	addr := serveTCP(t, &Server{Handler: x.Handle}, "tcp")
	c := dial(t, addr)
	data := make([]byte, 1<<20)
	rand.Read(data)
	go func() {
		c.Write(data)
		c.CloseWrite()
	}()
	got := readAll(t, c)
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("got %d bytes back, not the %d sent", len(got), len(data))
	}
}

// Output the process writes after its stdin closed, and output still in
// the pipe when it exits, reach the client before the server's FIN.
func TestExecDrainsOutputAfterEOF(t *testing.T) {
	t.Parallel()
	x := &Exec{Command: `n=$(wc -c); sleep 0.2; echo "got $n bytes"; head -c 300000 /dev/zero`}
	var ev events
	addr := serveTCP(t, &Server{Handler: x.Handle, Conn: session.Options{Sink: ev.sink}}, "tcp")
	c := dial(t, addr)
	c.Write([]byte("12345"))
	c.CloseWrite()
	got := readAll(t, c)
	want := "got 5 bytes\n"
	if !strings.HasPrefix(string(got), want) || len(got) != len(want)+300000 {
		t.Fatalf("got %d bytes starting %q, want %q and 300000 zeros", len(got), got[:min(len(got), 20)], want)
	}
	e := ev.wait(t, "close", func(e event.Event) bool { return e.Kind == event.Close })
	if e.Reason != "command exited" || e.Err != "" {
		t.Errorf("close event %+v", e)
	}
}

// The process ends first: the client gets everything, then EOF, while its
// own side stays open until it closes.
func TestExecProcessEndsFirst(t *testing.T) {
	t.Parallel()
	var ev events
	x := &Exec{Command: "echo hello; exit 3"}
	addr := serveTCP(t, &Server{Handler: x.Handle, Conn: session.Options{Sink: ev.sink}}, "tcp")
	c := dial(t, addr)
	if got := readAll(t, c); string(got) != "hello\n" {
		t.Fatalf("got %q", got)
	}
	c.Close()
	e := ev.wait(t, "close", func(e event.Event) bool { return e.Kind == event.Close })
	if e.Reason != "command exited with status 3" {
		t.Errorf("reason %q", e.Reason)
	}
}

func TestExecEnvAndStderr(t *testing.T) {
	t.Parallel()
	var stderr syncBuf
	x := &Exec{Command: `echo "$SOCKIT_PROTO $SOCKIT_REMOTE_ADDR:$SOCKIT_REMOTE_PORT $SOCKIT_LOCAL_PORT"; echo oops >&2`, Stderr: &stderr}
	addr := serveTCP(t, &Server{Handler: x.Handle, Conn: session.Options{Proto: "tcp"}}, "tcp")
	c := dial(t, addr)
	_, port, _ := net.SplitHostPort(addr)
	want := "tcp " + c.LocalAddr().String() + " " + port + "\n"
	if got := readAll(t, c); string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	sockittest.Eventually(t, `the process's stderr, "oops\n"`, func() bool { return stderr.String() == "oops\n" })
}

// With --frame the process speaks lines: len16 messages in, lines to the
// process, its lines back out as len16 messages.
func TestExecFramed(t *testing.T) {
	t.Parallel()
	spec := frame.Spec{Kind: frame.Len16}
	x := &Exec{Command: `while read -r l; do echo "<$l>"; done; echo end`}
	addr := serveTCP(t, &Server{Handler: x.Handle, Conn: session.Options{Frame: spec}}, "tcp")
	c := dial(t, addr)
	var out []byte
	for _, m := range []string{"one", "two words", ""} {
		out, _ = spec.Append(out, []byte(m))
	}
	c.Write(out)
	c.CloseWrite()
	got := readAll(t, c)
	var want []byte
	for _, m := range []string{"<one>", "<two words>", "<>", "end"} {
		want, _ = spec.Append(want, []byte(m))
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// Line framing passes the stream through unchanged, "\r" and all.
func TestExecLineFramingKeepsBytes(t *testing.T) {
	t.Parallel()
	x := &Exec{Command: "cat"}
	addr := serveTCP(t, &Server{Handler: x.Handle, Conn: session.Options{Frame: frame.Spec{Kind: frame.Line}}}, "tcp")
	c := dial(t, addr)
	c.Write([]byte("a\r\nb\n\nlast"))
	c.CloseWrite()
	if got := readAll(t, c); string(got) != "a\r\nb\n\nlast\n" {
		t.Fatalf("got %q", got)
	}
}

// A client that resets the connection ends a process that would run on.
func TestExecPeerResetKillsProcess(t *testing.T) {
	t.Parallel()
	var ev events
	pidFile := t.TempDir() + "/pid"
	x := &Exec{Command: "echo $$ > " + pidFile + "; exec sleep 60", Grace: 200 * time.Millisecond}
	addr := serveTCP(t, &Server{Handler: x.Handle, Conn: session.Options{Sink: ev.sink}}, "tcp")
	c := dial(t, addr)
	c.Write([]byte("x"))
	waitFile(t, pidFile)
	c.SetLinger(0)
	c.Close()
	e := ev.wait(t, "close", func(e event.Event) bool { return e.Kind == event.Close })
	if !strings.Contains(e.Reason, "killed") {
		t.Errorf("close event %+v", e)
	}
}

// Shutting the server down ends the processes.
func TestExecShutdownKillsProcess(t *testing.T) {
	var ev events
	pidFile := t.TempDir() + "/pid"
	x := &Exec{Command: "echo $$ > " + pidFile + "; trap '' TERM; sleep 60 & wait", Grace: 200 * time.Millisecond}
	s := &Server{Handler: x.Handle, Conn: session.Options{Sink: ev.sink}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithCancel()
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	c := dial(t, ln.Addr().String())
	c.Write([]byte("x"))
	pid := waitFile(t, pidFile)
	cancel()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Serve did not return after shutdown")
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("process %d still runs after shutdown", pid)
	}
}

// UDP: a process per peer, each datagram to its stdin, each read of its
// stdout a datagram back to that peer only.
func TestExecUDPPerPeer(t *testing.T) {
	t.Parallel()
	var ev events
	x := &Exec{Command: `while read -r l; do echo "$SOCKIT_REMOTE_PORT:$l"; done`}
	addr := serveUDP(t, &Server{Handler: x.Handle, Conn: session.Options{IdleTimeout: 300 * time.Millisecond, Sink: ev.sink}})
	ua, _ := net.ResolveUDPAddr("udp", addr)
	var peers []*net.UDPConn
	for range 3 {
		pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		peers = append(peers, pc)
	}
	for round := range 2 {
		for i, pc := range peers {
			pc.WriteTo([]byte{byte('a' + i), byte('0' + round), '\n'}, ua)
		}
		for i, pc := range peers {
			pc.SetReadDeadline(time.Now().Add(10 * time.Second))
			b := make([]byte, 100)
			n, _, err := pc.ReadFrom(b)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.TrimPrefix(pc.LocalAddr().String(), "127.0.0.1:") + ":" + string([]byte{byte('a' + i), byte('0' + round)}) + "\n"
			if string(b[:n]) != want {
				t.Errorf("peer %d got %q, want %q", i, b[:n], want)
			}
		}
	}
	// Idle peers expire: their processes get EOF and exit.
	for range peers {
		ev.wait(t, "close", func(e event.Event) bool { return e.Kind == event.Close && e.Reason == "command exited" })
	}
}

func waitFile(t *testing.T, path string) int {
	t.Helper()
	var pid int
	sockittest.Eventually(t, path+" written", func() bool {
		b, err := os.ReadFile(path)
		if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
			return false
		}
		for _, ch := range bytes.TrimSpace(b) {
			pid = pid*10 + int(ch-'0')
		}
		return true
	})
	return pid
}

// A framed conversation whose process writes a line too long to be a
// message drops the rest of the output, and says so in the close event
// rather than end as if the process had said everything.
func TestExecLongLineIsReported(t *testing.T) {
	t.Parallel()
	x := &Exec{Command: `echo first; head -c 17000000 /dev/zero | tr '\0' x; echo; echo after`}
	var ev events
	addr := serveTCP(t, &Server{Handler: x.Handle, Conn: session.Options{Frame: frame.Spec{Kind: frame.Line}, Sink: ev.sink, NoData: true}}, "tcp")
	c := dial(t, addr)
	c.CloseWrite()
	if got := string(readAll(t, c)); got != "first\n" {
		t.Fatalf("got %.40q", got)
	}
	e := ev.wait(t, "close", func(e event.Event) bool { return e.Kind == event.Close })
	if !strings.Contains(e.Reason, "command exited; its output after a line that is not a message was dropped (message of 16777217 bytes exceeds the maximum message size (16777216 bytes))") || e.Option != "max-message" {
		t.Errorf("close reason %q, option %q", e.Reason, e.Option)
	}
}

// A command that cannot be started ends the conversation with an error
// that names the command, not a flag: the close event carries the option
// (exec), which the command line writes as --exec and the web UI by its
// own name. (A NUL byte in the command line is what the system refuses
// here, before any shell runs.)
func TestExecStartFailureNamesTheOption(t *testing.T) {
	t.Parallel()
	x := &Exec{Command: "cat\x00"}
	var ev events
	addr := serveTCP(t, &Server{Handler: x.Handle, Sink: ev.sink, Conn: session.Options{Sink: ev.sink}}, "tcp")
	c := dial(t, addr)
	readAll(t, c)
	e := ev.wait(t, "close", func(e event.Event) bool { return e.Kind == event.Close })
	if !strings.HasPrefix(e.Err, `command "cat\x00": `) || e.Option != "exec" || strings.Contains(e.Err, "--") {
		t.Fatalf("close event error %q, option %q; want the command named and the option exec", e.Err, e.Option)
	}
	var out bytes.Buffer
	p := &console.Printer{W: &out, Server: true, Option: func(o string) string { return exitcode.Flag(fail.Option(o)) }}
	p.Print(&e)
	if !strings.Contains(out.String(), `closed: command "cat\x00": `) || !strings.Contains(out.String(), "(see --exec)") {
		t.Errorf("the command line's log line is %q, want it to point at --exec", out.String())
	}
}

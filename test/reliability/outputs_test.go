package reliability

import (
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/sockittest"
)

// TestOutputWriteFailures: a write to stdout, -o FILE, --record FILE or
// --json that fails (here /dev/full: ENOSPC at every write) ends connect,
// listen and send with exit 7 and one line naming the output, never exit
// 0 in silence.
func TestOutputWriteFailures(t *testing.T) {
	t.Parallel()
	echo := sockittest.Start(t, "listen", "-k", "--echo", "127.0.0.1:0")
	echoAddr := echo.Addr()

	outputs := []struct {
		name  string
		args  []string // what to add to the command
		full  bool     // stdout is /dev/full
		names string   // the output the error line names
	}{
		{"stdout", nil, true, "cannot write stdout: no space left on device"},
		{"json", []string{"--json"}, true, "cannot write stdout: no space left on device"},
		{"o", []string{"-o", "/dev/full"}, false, "cannot write -o /dev/full: no space left on device"},
		{"record", []string{"--record", "/dev/full"}, false, "cannot write --record /dev/full: no space left on device"},
	}
	for _, out := range outputs {
		for _, command := range []string{"connect", "listen", "send"} {
			t.Run(command+"/"+out.name, func(t *testing.T) {
				t.Parallel()
				var args []string
				switch command {
				case "connect":
					args = []string{"connect", echoAddr}
				case "send":
					args = []string{"send", echoAddr, "hello"}
				case "listen":
					args = []string{"listen", "127.0.0.1:0"}
				}
				args = append(args, out.args...)
				cmd := exec.Command(sockittest.Binary(t), args...)
				if out.full {
					cmd.Stdout = mustOpenFile(t, "/dev/full", os.O_WRONLY)
				} else {
					cmd.Stdout = io.Discard
				}
				if command != "listen" {
					cmd.Stdin = strings.NewReader("hello\n")
				}
				p := sockittest.StartCmd(t, cmd)
				if command == "listen" {
					// A client that sends something, once the server says
					// where it listens (--json may end it before that).
					if addr := listeningAddr(t, p); addr != "" {
						if c, err := net.Dial("tcp", addr); err == nil {
							c.Write([]byte("hello\n"))
							c.Close()
						}
					}
				}
				if code := p.Wait(30 * time.Second); code != 7 {
					t.Fatalf("exit %d, want 7; stderr:\n%s", code, p.Stderr())
				}
				oneErrorLine(t, withoutLog(p.Stderr()), out.names)
			})
		}
	}
}

// TestOutputWriteFailuresOtherCommands: the same for the commands whose
// stdout is a report (help, scan, ping) or events (relay --json).
func TestOutputWriteFailuresOtherCommands(t *testing.T) {
	t.Parallel()
	echo := sockittest.Start(t, "listen", "-k", "--echo", "127.0.0.1:0")
	addr := echo.Addr()
	for _, args := range [][]string{
		{"--help"},
		{"version"},
		{"scan", "127.0.0.1", portOf(t, addr)},
		{"ping", "-c", "1", addr},
		{"relay", "--json", "127.0.0.1:0", addr},
	} {
		t.Run(args[0], func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(sockittest.Binary(t), args...)
			cmd.Stdout = mustOpenFile(t, "/dev/full", os.O_WRONLY)
			p := sockittest.StartCmd(t, cmd)
			if code := p.Wait(30 * time.Second); code != 7 {
				t.Fatalf("exit %d, want 7; stderr:\n%s", code, p.Stderr())
			}
			oneErrorLine(t, withoutLog(p.Stderr()), "cannot write stdout: no space left on device")
		})
	}
}

// listeningAddr waits for a server's "listening on" line and returns its
// address, or "" when the process ended first.
func listeningAddr(t *testing.T, p *sockittest.Proc) string {
	t.Helper()
	re := regexp.MustCompile(`listening on (\S+) \(`)
	deadline := time.After(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(p.Stderr()); m != nil {
			return m[1]
		}
		select {
		case <-p.Done():
			return ""
		case <-deadline:
			t.Fatalf("no 'listening on' line within 30s:\n%s", p.Stderr())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func mustOpenFile(t *testing.T, path string, flag int) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestRecordWholeOnSignal: SIGHUP or SIGTERM to a connect --record in the
// middle of a transfer flushes the transcript and writes the close event:
// every line whole, the data events adding up to the close event's count,
// and sockit replay plays it back byte for byte.
func TestRecordWholeOnSignal(t *testing.T) {
	t.Parallel()
	source := sockittest.Start(t, "listen", "-k", "--source", "127.0.0.1:0")
	addr := source.Addr()
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			rec := filepath.Join(t.TempDir(), "t.jsonl")
			cmd := exec.Command(sockittest.Binary(t), "connect", addr, "--record", rec)
			cmd.Stdout = io.Discard
			p := sockittest.StartCmd(t, cmd) // stdin stays open: only the signal ends it
			waitFileSize(t, rec, 256<<10)
			p.Cmd.Process.Signal(sig)
			if code := p.Wait(30 * time.Second); code != 130 {
				t.Fatalf("exit %d after %s, want 130; stderr:\n%s", code, sig, p.Stderr())
			}
			b, err := os.ReadFile(rec)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) == 0 || b[len(b)-1] != '\n' {
				t.Fatalf("the transcript (%d bytes) ends in a cut-off line: …%q", len(b), tail(b, 80))
			}
			recs, err := event.ReadAll(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("the transcript does not read back: %v", err)
			}
			last := recs[len(recs)-1]
			if last.Event != event.Close || last.Reason != "interrupted" {
				t.Fatalf("last event %s (conn %d, reason %q), want a close event (interrupted)", last.Event, last.Conn, last.Reason)
			}
			var want []byte
			for _, r := range recs {
				if r.Event == event.Data {
					d, _ := r.Bytes()
					want = append(want, d...)
				}
			}
			if int64(len(want)) != last.BytesIn || len(want) == 0 {
				t.Fatalf("data events carry %d bytes, the close event counts %d", len(want), last.BytesIn)
			}
			t.Logf("%s: %d events, %d bytes of data", sig, len(recs), len(want))

			// sockit replay accepts it, and plays the server's side back
			// to a client exactly.
			rp := sockittest.Start(t, "replay", rec, "127.0.0.1:0", "--as", "server")
			c, err := net.Dial("tcp", rp.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			got, err := io.ReadAll(c)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("replay sent %d bytes (%v), want the %d recorded", len(got), err, len(want))
			}
			c.Close()
			if code := rp.Wait(30 * time.Second); code != 0 {
				t.Fatalf("replay exit %d; stderr:\n%s", code, rp.Stderr())
			}
		})
	}
}

// waitFileSize waits until the file at path holds at least n bytes.
func waitFileSize(t *testing.T, path string, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(path); err == nil && fi.Size() >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s did not reach %d bytes within 30s", path, n)
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// TestStdoutClosedByReader: a reader that closes stdout early (sockit … |
// head -c 10) is normal in a pipeline: sockit ends quietly with exit 0,
// as nc does, and --record still gets the close event, whole.
func TestStdoutClosedByReader(t *testing.T) {
	t.Parallel()
	source := sockittest.Start(t, "listen", "-k", "--source", "127.0.0.1:0")
	rec := filepath.Join(t.TempDir(), "t.jsonl")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sockittest.Binary(t), "connect", source.Addr(), "--record", rec)
	cmd.Stdout = w
	p := sockittest.StartCmd(t, cmd)
	w.Close()
	head := make([]byte, 10)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	r.Close() // as head does after 10 bytes
	if code := p.Wait(30 * time.Second); code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, p.Stderr())
	}
	if s := strings.TrimSpace(p.Stderr()); s != "" {
		t.Errorf("stderr %q, want nothing", s)
	}
	b, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := event.ReadAll(bytes.NewReader(b))
	if err != nil || len(recs) == 0 {
		t.Fatalf("the transcript does not read back: %v", err)
	}
	if last := recs[len(recs)-1]; last.Event != event.Close {
		t.Fatalf("last event %s (conn %d, %d bytes), want close", last.Event, last.Conn, last.Len)
	}
}

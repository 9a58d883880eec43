package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/sockittest"
)

// gatedReader holds its first Read until Ready is asked, which a Sender
// does only once it has been told the peer closed: it makes "the FIN
// came before the input was read" certain rather than likely.
type gatedReader struct {
	r    io.Reader
	gate chan struct{}
	once sync.Once
}

func newGated(data []byte) *gatedReader {
	return &gatedReader{r: bytes.NewReader(data), gate: make(chan struct{})}
}

func (g *gatedReader) Read(p []byte) (int, error) {
	<-g.gate
	return g.r.Read(p)
}

func (g *gatedReader) Ready() bool {
	g.once.Do(func() { close(g.gate) })
	return true
}

// TestPipePeerClosesFirstSendsReadyInput: a peer's FIN ends only the
// peer's sending (SPEC §2.4). A server whose client half-closes before
// the server's input went out still sends all of it, then closes.
func TestPipePeerClosesFirstSendsReadyInput(t *testing.T) {
	big := make([]byte, 4<<20)
	rand.Read(big)
	for _, tc := range []struct {
		name     string
		data     []byte
		observed bool
	}{
		{"greeting/fast", []byte("SSH-2.0-Fake\n"), false},
		{"greeting/observed", []byte("SSH-2.0-Fake\n"), true},
		{"4MiB/fast", big, false},
		{"4MiB/observed", big, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := sockittest.Pair(t)
			var cl closes
			opt := Options{Proto: "tcp"}
			if tc.observed {
				opt.Sink = cl.sink
			}
			c := New(server, opt)
			done := runPipe(t, &Pipe{In: newGated(tc.data), Out: io.Discard, QuietKeepsOpen: true}, c)
			client.CloseWrite() // the client has nothing to say
			got := make(chan []byte, 1)
			go func() {
				client.SetReadDeadline(time.Now().Add(20 * time.Second))
				b, _ := io.ReadAll(client)
				got <- b
			}()
			if err := wait(t, done); err != nil {
				t.Fatal(err)
			}
			if b := <-got; !bytes.Equal(b, tc.data) {
				t.Fatalf("client got %d bytes, want the %d the server had to send", len(b), len(tc.data))
			}
			if _, out := c.Stats(); out != int64(len(tc.data)) {
				t.Errorf("sent %d bytes by the counters, want %d", out, len(tc.data))
			}
			if tc.observed && !strings.Contains(cl.reason(), "the rest of the input was sent") {
				t.Errorf("close reason %q", cl.reason())
			}
		})
	}
}

// TestPipePeerClosesFirstOSPipe is the flow at the engine level:
// stdin is a pipe whose writer has written the greeting and closed; the
// client half-closes at once. The greeting must arrive every time.
func TestPipePeerClosesFirstOSPipe(t *testing.T) {
	skipWithoutReadiness(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w.Write([]byte("SSH-2.0-Fake\n"))
	w.Close()
	client, server := sockittest.Pair(t)
	client.CloseWrite()
	c := New(server, Options{Proto: "tcp"})
	done := runPipe(t, &Pipe{In: r, Out: io.Discard, QuietKeepsOpen: true}, c)
	client.SetReadDeadline(time.Now().Add(20 * time.Second))
	b, _ := io.ReadAll(client)
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	if string(b) != "SSH-2.0-Fake\n" {
		t.Fatalf("client got %q", b)
	}
}

// TestPipePeerClosesFirstIdlePipe: what is in the pipe goes out, then
// the conversation ends at once although the pipe's writer is still
// there (it would wait for a person, or forever).
func TestPipePeerClosesFirstIdlePipe(t *testing.T) {
	skipWithoutReadiness(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	w.Write([]byte("already there\n"))
	client, server := sockittest.Pair(t)
	var cl closes
	c := New(server, Options{Proto: "tcp", Sink: cl.sink})
	client.CloseWrite()
	done := runPipe(t, &Pipe{In: r, Out: io.Discard}, c)
	client.SetReadDeadline(time.Now().Add(20 * time.Second))
	b, _ := io.ReadAll(client)
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	if string(b) != "already there\n" {
		t.Fatalf("client got %q", b)
	}
	if r := cl.reason(); !strings.Contains(r, "before the input ended") {
		t.Errorf("close reason %q", r)
	}
}

// TestPipePeerGoneWhileSending: the peer closed completely (its FIN, then
// a reset for what arrived after): not a fault; the close reason says how
// much of the input did not go out.
func TestPipePeerGoneWhileSending(t *testing.T) {
	for _, observed := range []bool{false, true} {
		client, server := sockittest.Pair(t)
		var cl closes
		c := New(server, Options{Proto: "tcp", Sink: cl.sink, NoData: !observed})
		data := make([]byte, 32<<20)
		done := runPipe(t, &Pipe{In: newGated(data), Out: io.Discard}, c)
		client.Close() // FIN; what arrives after it is answered with a reset
		if err := wait(t, done); err != nil {
			t.Fatalf("observed=%v: Run = %v, want nil (the peer closing is not a fault)", observed, err)
		}
		if r := cl.reason(); !strings.HasSuffix(r, " unsent") || !strings.HasPrefix(r, "peer closed before all the input was sent: ") {
			t.Errorf("observed=%v: close reason %q", observed, r)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 31 << 20: "31.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestSenderUnsent(t *testing.T) {
	s := &Sender{In: strings.NewReader(strings.Repeat("x", 3000))}
	s.once.Do(s.prepare)
	s.sent.Store(1000)
	if got := s.Unsent(); got != "2.0 KiB of the input unsent" {
		t.Errorf("Unsent = %q", got)
	}
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	s = &Sender{In: r}
	s.once.Do(s.prepare)
	s.sent.Store(2048)
	if got := s.Unsent(); got != "the input after its first 2.0 KiB unsent" {
		t.Errorf("Unsent = %q", got)
	}
}

func TestReady(t *testing.T) {
	skipWithoutReadiness(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if Ready(r) {
		t.Error("an empty pipe with its writer open is ready")
	}
	w.Write([]byte("x"))
	if !Ready(r) {
		t.Error("a pipe with a byte in it is not ready")
	}
	r.Read(make([]byte, 1))
	w.Close()
	if !Ready(r) {
		t.Error("a pipe whose writer closed (EOF) is not ready")
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !Ready(f) {
		t.Error("/dev/null is not ready")
	}
	if !Ready(strings.NewReader("")) {
		t.Error("an in-memory reader is not ready")
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	if Ready(pr) {
		t.Error("an io.Pipe, which cannot say, is taken as ready")
	}
}

// TestTapGetsWhatIsDelivered: with framing, the tap and the received
// count get each message as it arrived (prefix or delimiter included)
// when it is delivered; a refused message reaches neither (issue 9).
func TestTapGetsWhatIsDelivered(t *testing.T) {
	for _, tc := range []struct {
		spec       string
		wire, want string // sent by the peer; tapped
	}{
		{"line", "ok\n" + strings.Repeat("x", 11) + "\n", "ok\n"},
		{"len8", "\x02ok\x0b" + strings.Repeat("x", 11), "\x02ok"},
		{"line", "ok\nlast", "ok\nlast"}, // an unterminated last line is delivered
		{"raw", "ok\n" + strings.Repeat("x", 11), "ok\n" + strings.Repeat("x", 11)},
	} {
		spec, err := frame.Parse(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		client, server := sockittest.Pair(t)
		var tap syncBuf
		c := New(server, Options{Proto: "tcp", Frame: spec, MaxMessage: 10, Tap: &tap})
		client.Write([]byte(tc.wire))
		client.CloseWrite()
		for {
			if _, err := c.Read(); err != nil {
				break
			}
		}
		if tap.String() != tc.want {
			t.Errorf("%s: tapped %q, want %q", tc.spec, tap.String(), tc.want)
		}
		if in, _ := c.Stats(); in != int64(len(tc.want)) {
			t.Errorf("%s: counted %d bytes received, want %d", tc.spec, in, len(tc.want))
		}
		c.Close(nil)
	}
}

// TestSenderLineTooLong: a line past MaxLine ends the send with an error
// and none of it is sent (it was sent, then the error).
func TestSenderLineTooLong(t *testing.T) {
	client, server := sockittest.Pair(t)
	c := New(client, Options{Proto: "tcp"})
	s := &Sender{In: strings.NewReader("ok\n" + strings.Repeat("x", 100) + "\nnever\n"), Lines: true, MaxLine: 10}
	err := s.Run(c)
	var tooLong *LineTooLongError
	if !errors.As(err, &tooLong) || err.Error() != "input line longer than 10 B" {
		t.Fatalf("Run = %v, want the line refused", err)
	}
	c.Close(nil)
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, _ := io.ReadAll(server); string(b) != "ok\n" {
		t.Fatalf("peer got %q, want only the line before", b)
	}
}

// TestSenderFinishStopped: a run stopped while Finish still sends what is
// ready (the CLI cancels with the output that failed as the cause) says
// why in the close reason, as Pipe.Run does, not "interrupted".
func TestSenderFinishStopped(t *testing.T) {
	client, server := sockittest.Pair(t)
	c := New(server, Options{Proto: "tcp"})
	defer c.Close(nil)
	// Ready input that cannot all go out: the peer half-closed and does
	// not read, so Run is still writing when Finish looks.
	s := &Sender{In: bytes.NewReader(make([]byte, 64<<20))}
	done := make(chan error, 1)
	go func() { done <- s.Run(c) }()
	client.CloseWrite()
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("cannot write stdout: broken pipe"))
	if err := s.Finish(ctx, c, done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Finish = %v, want the cancellation", err)
	}
	if r := c.Reason(); r != "stopped: cannot write stdout: broken pipe" {
		t.Errorf("close reason %q", r)
	}
}

// skipWithoutReadiness skips tests of fileReady where it always says
// "waits" (Windows: see ready_other.go).
func skipWithoutReadiness(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("no zero-timeout readiness check for pipes on Windows")
	}
}

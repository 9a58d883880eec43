package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/impair"
	"github.com/sockit/sockit/internal/platform"
)

// TestMain fails the package's tests if a conversation leaves a goroutine
// behind (a pump still reading after Run returned).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-ch
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestPipePeerReset: the peer sends, then resets (through impair's
// reset-after). Run returns an error that says recv on the peer's
// endpoint and unwraps to ECONNRESET, on the splice path (Out is a file)
// and on the read path (Out is a buffer, or an idle timeout is set), and
// what came out is what was sent before the reset.
func TestPipePeerReset(t *testing.T) {
	for _, tc := range []struct {
		name string
		file bool
		idle time.Duration
	}{{"splice", true, 0}, {"buffer", false, 0}, {"idle", true, time.Minute}} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tcpPair(t)
			peer := impair.Conn(b, impair.Spec{ResetAfter: 300000}, nil)
			data := make([]byte, 300000)
			rand.Read(data)
			go peer.Write(append(data, make([]byte, 1000)...))

			var out io.Writer
			var buf bytes.Buffer
			path := filepath.Join(t.TempDir(), "out")
			if tc.file {
				f, err := os.Create(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				out = f
			} else {
				out = &buf
			}
			c := New(a, Options{Proto: "tcp", IdleTimeout: tc.idle})
			pr, pw := io.Pipe() // stdin that never ends
			defer pw.Close()
			err := (&Pipe{In: pr, Out: out, Quit: -1}).Run(context.Background(), c)
			if !errors.Is(err, syscall.ECONNRESET) || !strings.HasPrefix(err.Error(), "recv tcp://") {
				t.Fatalf("Run = %v; want 'recv tcp://…: connection reset by peer'", err)
			}
			got := buf.Bytes()
			if tc.file {
				got, _ = os.ReadFile(path)
			}
			if !bytes.Equal(got, data[:len(got)]) {
				t.Errorf("output is not a prefix of what was sent before the reset")
			}
		})
	}
}

// TestPipeIdleOnFastPath: an idle timeout applies even when nothing
// observes the data (the fast path once ignored it and waited forever).
func TestPipeIdleOnFastPath(t *testing.T) {
	a, _ := tcpPair(t)
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := New(a, Options{Proto: "tcp", IdleTimeout: 200 * time.Millisecond})
	pr, pw := io.Pipe()
	defer pw.Close()
	start := time.Now()
	errc := make(chan error, 1)
	go func() { errc <- (&Pipe{In: pr, Out: f, Quit: -1}).Run(context.Background(), c) }()
	select {
	case err := <-errc:
		var idle *IdleError
		if !errors.As(err, &idle) {
			t.Errorf("Run = %v, want an idle timeout", err)
		}
		if took := time.Since(start); took < 200*time.Millisecond {
			t.Errorf("idle after %s", took)
		}
	case <-time.After(10 * time.Second):
		pw.Close()
		a.Close()
		<-errc
		t.Fatal("a 200ms idle timeout did not fire within 10s")
	}
}

// TestFramedReadUnderChunking: messages arrive whole whatever segments the
// stream is cut into (1 to 3 bytes, delayed), for every framing.
func TestFramedReadUnderChunking(t *testing.T) {
	for _, spec := range []string{"line", "len8", "len16", "len32le", "delim:0d0a", "fixed:5"} {
		t.Run(spec, func(t *testing.T) {
			fs, err := frame.Parse(spec)
			if err != nil {
				t.Fatal(err)
			}
			a, b := tcpPair(t)
			w := impair.Conn(b, impair.Spec{ChunkMin: 1, ChunkMax: 3, Delay: 100 * time.Microsecond, Seed: 5}, nil)
			var msgs [][]byte
			var wire []byte
			for i := range 200 {
				m := bytes.Repeat([]byte{'a' + byte(i%26)}, 1+i%37)
				if spec == "fixed:5" {
					m = m[:1]
					m = append(m, "four"...)
				}
				msgs = append(msgs, m)
				if wire, err = fs.Append(wire, m); err != nil {
					t.Fatal(err)
				}
			}
			go func() {
				w.Write(wire)
				w.(interface{ CloseWrite() error }).CloseWrite()
			}()
			c := New(a, Options{Proto: "tcp", Frame: fs})
			defer c.Close(nil)
			for i, want := range msgs {
				got, err := c.Read()
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if fs.Kind == frame.Line || fs.Kind == frame.Delim {
					got = bytes.TrimRight(got, "\r\n")
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("message %d = %q, want %q", i, got, want)
				}
			}
			if _, err := c.Read(); !errors.Is(err, io.EOF) {
				t.Errorf("after the last message: %v, want EOF", err)
			}
			w.Close()
		})
	}
}

// TestPipeInterruptWithStalledPeer: cancelling the context ends Run at
// once even when the peer neither reads nor writes and stdin is full.
func TestPipeInterruptWithStalledPeer(t *testing.T) {
	a, _ := tcpPair(t) // the server side never reads
	c := New(a, Options{Proto: "tcp"})
	in := bytes.NewReader(make([]byte, 64<<20))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- (&Pipe{In: in, Out: io.Discard, Quit: -1}).Run(ctx, c) }()
	time.Sleep(100 * time.Millisecond) // let the send side block on a full socket
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return within 60s of the interrupt")
	}
}

// TestPipeResetTakenBySend: the kernel reports a reset once, to whichever
// call asks first. When the send side took it, the read side sees a plain
// EOF; Run must still end with the reset, not as if the peer had closed
// cleanly (which exited 0 with most of the input never delivered).
func TestPipeResetTakenBySend(t *testing.T) {
	if !platform.Fast {
		t.Skip("only Linux can tell this reset from a close (the TCP state, see resetByPeer)")
	}
	a, b := tcpPair(t)
	b.(*net.TCPConn).SetLinger(0)
	b.Close() // RST
	// Take the reset's error, as a concurrent send would.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := a.Write([]byte("x"))
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the reset never arrived")
		}
		time.Sleep(time.Millisecond)
	}
	c := New(a, Options{Proto: "tcp"})
	pr, pw := io.Pipe() // input still open: the send side is busy
	defer pw.Close()
	err := (&Pipe{In: pr, Out: io.Discard, Quit: -1}).Run(context.Background(), c)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Run = %v, want the reset", err)
	}
}

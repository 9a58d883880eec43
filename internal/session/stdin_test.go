package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/sockittest"
)

// TestPipeStdinPathsSameBytes sends the same data through Pipe from a
// pipe (large copies), a regular file (sendfile), a plain reader (copied) and
// with an observer (read and written by sockit), and checks the peer got
// exactly it each time.
func TestPipeStdinPathsSameBytes(t *testing.T) {
	data := make([]byte, 3<<20+17)
	rand.Read(data)
	file := t.TempDir() + "/in.bin"
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	inputs := map[string]func(t *testing.T) io.Reader{
		"pipe": func(t *testing.T) io.Reader {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			go func() { w.Write(data); w.Close() }()
			t.Cleanup(func() { r.Close() })
			return r
		},
		"file": func(t *testing.T) io.Reader {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f
		},
		"reader": func(t *testing.T) io.Reader { return bytes.NewReader(data) },
	}
	for name, in := range inputs {
		for _, observed := range []bool{false, true} {
			t.Run(name+map[bool]string{true: "/observed", false: "/fast"}[observed], func(t *testing.T) {
				client, server := sockittest.Pair(t)
				opt := Options{Proto: "tcp"}
				if observed {
					opt.Sink = func(*event.Event) {}
				}
				c := New(client, opt)
				var progress []int64
				p := &Pipe{In: in(t), Out: io.Discard}
				if name == "file" && !observed {
					p.Progress = func(n int64) { progress = append(progress, n) }
				}
				got := make(chan []byte, 1)
				go func() {
					server.SetReadDeadline(time.Now().Add(20 * time.Second))
					b, _ := io.ReadAll(server)
					got <- b
					server.Close()
				}()
				if err := p.Run(context.Background(), c); err != nil {
					t.Fatal(err)
				}
				if b := <-got; !bytes.Equal(b, data) {
					t.Fatalf("peer got %d bytes, want the %d sent", len(b), len(data))
				}
				if _, out := c.Stats(); out != int64(len(data)) {
					t.Fatalf("stats say %d bytes sent", out)
				}
				if p.Progress != nil && (len(progress) == 0 || progress[len(progress)-1] != int64(len(data))) {
					t.Fatalf("progress %v", progress)
				}
			})
		}
	}
}

// TestPipeReceivePathsSameBytes: what arrives reaches Out byte for byte,
// fast or observed.
func TestPipeReceivePathsSameBytes(t *testing.T) {
	data := make([]byte, 2<<20+3)
	rand.Read(data)
	for _, observed := range []bool{false, true} {
		client, server := sockittest.Pair(t)
		opt := Options{Proto: "tcp"}
		if observed {
			opt.Sink = func(*event.Event) {}
		}
		c := New(client, opt)
		var out bytes.Buffer
		p := &Pipe{Out: &out}
		go func() { server.Write(data); server.Close() }()
		if err := p.Run(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("observed=%v: Out got %d bytes, want %d", observed, out.Len(), len(data))
		}
	}
}

// TestPipeIdleStdinDoesNotHoldSocket: a server whose stdin is a pipe that
// never sends nor closes must still end when its peer closes (a read
// waiting for stdin must not keep the socket open).
func TestPipeIdleStdinDoesNotHoldSocket(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	defer r.Close()
	client, server := sockittest.Pair(t)
	c := New(server, Options{Proto: "tcp"})
	p := &Pipe{In: r, Out: io.Discard, QuietKeepsOpen: true}
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background(), c) }()
	client.Write([]byte("bye"))
	client.CloseWrite()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not end after the peer closed")
	}
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := client.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("peer read %v, want EOF (connection closed)", err)
	}
}

package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/impair"
	"github.com/sockit/sockit/internal/session"
)

// TestEchoUnderClientFaults serves echo (fast and framed paths) to clients
// that misbehave through impair wrappers: one sends in 1–7 byte segments
// with jittered delays, one resets mid-stream, one stalls while the
// server writes to it. The well-behaved data comes back whole; the server
// outlives the others and, when its context ends, stops at once despite
// the stalled client (and goleak, in TestMain, checks nothing is left).
func TestEchoUnderClientFaults(t *testing.T) {
	for _, framed := range []bool{false, true} {
		name := "fast"
		opt := session.Options{}
		if framed {
			name = "framed"
			opt.Frame, _ = frame.Parse("len16")
		}
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			s := &Server{Handler: Echo, Conn: opt}
			done := make(chan error, 1)
			go func() { done <- s.Serve(ctx, ln) }()
			addr := ln.Addr().String()

			dial := func(spec string, seed uint64) net.Conn {
				sp, err := impair.Parse(spec)
				if err != nil {
					t.Fatal(err)
				}
				sp.Seed = seed
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				return impair.Conn(c, sp, nil)
			}

			// A stalled client: it sends, then neither reads nor writes.
			stalled := dial("stall-after=256k", 1)
			defer stalled.Close()
			go stalled.Write(make([]byte, 1<<20))

			// A client that resets after 100 kB.
			rst := dial("reset-after=100000", 2)
			_, err = rst.Write(make([]byte, 1<<20))
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("reset client: %v", err)
			}
			rst.Close()

			// A chunked, jittered client gets its data back whole.
			data := make([]byte, 256<<10)
			rand.Read(data)
			var msg []byte
			if framed {
				for off := 0; off < len(data); off += 1000 {
					msg, _ = opt.Frame.Append(msg, data[off:min(off+1000, len(data))])
				}
			} else {
				msg = data
			}
			c := dial("chunk=1-7,delay=1ms,jitter=1ms", 3)
			go func() {
				c.Write(msg)
				c.(interface{ CloseWrite() error }).CloseWrite()
			}()
			c.SetReadDeadline(time.Now().Add(60 * time.Second))
			got, err := io.ReadAll(c)
			if err != nil || !bytes.Equal(got, msg) {
				t.Errorf("chunked client: got %d of %d bytes back (%v)", len(got), len(msg), err)
			}
			c.Close()

			// Shutdown closes every conversation at once: a Serve that
			// waited for the stalled client would wait for ever.
			start := time.Now()
			cancel()
			select {
			case <-done:
				t.Logf("shutdown took %s", time.Since(start))
			case <-time.After(60 * time.Second):
				t.Fatal("Serve did not return within 60s of its context ending, with a stalled client")
			}
		})
	}
}

// TestUDPEchoUnderDatagramFaults: the UDP server answers every datagram
// a lossy, duplicating, reordering sender gets through, one answer per
// datagram, nothing merged or split.
func TestUDPEchoUnderDatagramFaults(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bigBuffer(pc.(*net.UDPConn), 8<<20)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &Server{Handler: Echo, Conn: session.Options{IdleTimeout: time.Minute}}
	done := make(chan error, 1)
	go func() { done <- s.ServePacket(ctx, pc) }()
	defer func() { cancel(); <-done }()

	raw, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	bigBuffer(raw.(*net.UDPConn), 8<<20)
	ct := &impair.Counters{}
	c := impair.Conn(raw, impair.Spec{Loss: 0.1, Dup: 0.1, Reorder: 0.1, Seed: 11, Counters: ct}, nil)
	defer c.Close()
	const n = 500
	// The answers to expect are known once everything is written (the
	// wrapper decides loss and duplication as it writes): wait for that
	// many however late they come, then briefly for one too many.
	want := make(chan int, 1)
	got := make(chan int, 1)
	go func() {
		buf := make([]byte, 2048)
		total, w := 0, -1
		last := time.Now()
		for {
			if w < 0 {
				select {
				case w = <-want:
				default:
				}
			}
			wait := 50 * time.Millisecond
			if w >= 0 && total >= w {
				wait = 100 * time.Millisecond
			}
			c.SetReadDeadline(time.Now().Add(wait))
			m, err := c.Read(buf)
			if err != nil {
				if w >= 0 && total >= w || time.Since(last) > 30*time.Second {
					got <- total
					return
				}
				continue
			}
			last = time.Now()
			if m != 100 {
				t.Errorf("a %d-byte answer to 100-byte datagrams", m)
			}
			total++
		}
	}()
	for i := range n {
		msg := bytes.Repeat([]byte{byte(i)}, 100)
		c.Write(msg)
		if i%50 == 49 {
			time.Sleep(time.Millisecond) // pacing, so loopback drops nothing
		}
	}
	let := n - int(ct.Lost.Load()) + int(ct.Duplicated.Load())
	want <- let
	if total := <-got; total != let {
		t.Errorf("%d answers; the wrapper let through %d (%d lost, %d duplicated)", total, let, ct.Lost.Load(), ct.Duplicated.Load())
	}
}

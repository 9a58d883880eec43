package replay

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/session"
	"github.com/sockit/sockit/internal/sockittest"
)

func TestLoad(t *testing.T) {
	text := func(s string) *string { return &s }
	t0 := time.Unix(100, 0)
	recs := []event.Record{
		{Event: event.Listen, Local: "127.0.0.1:1"},
		{Event: event.Connect, Conn: 1, Proto: "tcp", Frame: "line"},
		{Event: event.Connect, Conn: 2, Proto: "tcp"},
		{Event: event.Data, Conn: 2, Dir: event.In, Text: text("other"), T: t0},
		{Event: event.Data, Conn: 1, Dir: event.In, Text: text("PING"), T: t0},
		{Event: event.Data, Conn: 1, Dir: event.Out, Data: "UE9ORw==", T: t0.Add(time.Second)},
	}
	s, err := Load(recs, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The first conversation with data is conn 2.
	if s.Conn != 2 || s.Recorded != Server || len(s.Steps) != 1 {
		t.Fatalf("%+v", s)
	}
	s, err = Load(recs, 1)
	if err != nil {
		t.Fatal(err)
	}
	if s.Frame != "line" || s.Proto != "tcp" || len(s.Steps) != 2 || s.Steps[0].Send || !s.Steps[1].Send || string(s.Steps[1].Data) != "PONG" {
		t.Fatalf("%+v", s)
	}
	if steps := s.As(Server); steps[0].Send || !steps[1].Send {
		t.Errorf("as the recording side: %+v", steps)
	}
	if steps := s.As(Client); !steps[0].Send || steps[1].Send || string(steps[0].Data) != "PING" {
		t.Errorf("as the other side: %+v", steps)
	}
	if sends, expects := Counts(s.As(Client)); sends != 1 || expects != 1 {
		t.Errorf("counts %d %d", sends, expects)
	}
	for _, bad := range []struct {
		recs []event.Record
		conn uint64
		want string
	}{
		{recs[:3], 0, "no data events"},
		{recs, 9, "no conversation 9"},
		{[]event.Record{{Event: event.Data, Conn: 1, Dir: event.In, Hex: "zz"}}, 0, "conversation 1"},
	} {
		_, err := Load(bad.recs, bad.conn)
		if _, ok := err.(*exitcode.UsageError); !ok || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Load: %v, want a usage error with %q", err, bad.want)
		}
	}
}

// peer runs fn on the far end of a loopback connection and returns our
// end as a session.
func peer(t *testing.T, spec frame.Spec, fn func(c *net.TCPConn)) *session.Conn {
	t.Helper()
	ours, theirs := sockittest.Pair(t)
	done := make(chan struct{})
	go func() { defer close(done); fn(theirs) }()
	t.Cleanup(func() { theirs.Close(); <-done })
	return session.New(ours, session.Options{Frame: spec, Proto: "tcp"})
}

// answer reads n bytes at a time and writes the answer, until EOF.
func answer(n int, reply ...string) func(c *net.TCPConn) {
	return func(c *net.TCPConn) {
		buf := make([]byte, n)
		for _, r := range reply {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			c.Write([]byte(r))
		}
		io.Copy(io.Discard, c)
		c.Close()
	}
}

func steps(pairs ...string) []Step {
	var out []Step
	t := time.Unix(0, 0)
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, Step{Send: pairs[i] == ">", Data: []byte(pairs[i+1]), At: t})
		t = t.Add(100 * time.Millisecond)
	}
	return out
}

func TestPlayStream(t *testing.T) {
	t.Parallel()
	script := steps(">", "PING\r\n", "<", "PONG\r\n", ">", "PING\r\n", "<", "PO", "<", "NG\r\n")
	p := &Player{Expect: true, Wait: 5 * time.Second}
	// The answers arrive in other pieces than were recorded: a stream is
	// compared as a stream.
	c := peer(t, frame.Spec{}, func(c *net.TCPConn) {
		buf := make([]byte, 6)
		io.ReadFull(c, buf)
		c.Write([]byte("PON"))
		time.Sleep(20 * time.Millisecond)
		c.Write([]byte("G\r\n"))
		io.ReadFull(c, buf)
		c.Write([]byte("PONG\r\n"))
		io.Copy(io.Discard, c)
		c.Close()
	})
	if err := p.Play(context.Background(), c, script); err != nil {
		t.Fatal(err)
	}
}

func TestPlayMismatch(t *testing.T) {
	t.Parallel()
	script := steps(">", "A\n", "<", "OK\n", ">", "B\n", "<", "OK\n", ">", "C\n", "<", "PONG\r\n")
	p := &Player{Expect: true, Wait: 5 * time.Second}
	c := peer(t, frame.Spec{}, answer(2, "OK\n", "OK\n", "ERR\r\n"))
	err := p.Play(context.Background(), c, script)
	var m *exitcode.MismatchError
	if !errors.As(err, &m) || err.Error() != `message 3: expected "PONG\r\n", got "ERR\r\n"` {
		t.Fatalf("err = %v", err)
	}
}

func TestPlayNothingAndEnd(t *testing.T) {
	t.Parallel()
	p := &Player{Expect: true, Wait: 200 * time.Millisecond}
	c := peer(t, frame.Spec{}, func(c *net.TCPConn) { io.Copy(io.Discard, c) })
	err := p.Play(context.Background(), c, steps(">", "x", "<", "PONG"))
	if err == nil || err.Error() != `message 1: expected "PONG", got nothing within 200ms` {
		t.Fatalf("err = %v", err)
	}
	c = peer(t, frame.Spec{}, func(c *net.TCPConn) { c.Write([]byte("PO")); c.Close() })
	err = p.Play(context.Background(), c, steps("<", "PONG"))
	if err == nil || err.Error() != `message 1: expected "PONG", got "PO" and then the end of the connection` {
		t.Fatalf("err = %v", err)
	}
	// Without --expect, a missing answer only delays.
	p.Expect = false
	c = peer(t, frame.Spec{}, func(c *net.TCPConn) { io.Copy(io.Discard, c); c.Close() })
	if err := p.Play(context.Background(), c, steps("<", "PONG", ">", "x")); err != nil {
		t.Fatal(err)
	}
}

func TestPlayFramedPerMessage(t *testing.T) {
	t.Parallel()
	spec := frame.Spec{Kind: frame.Len16}
	frames := func(msgs ...string) []byte {
		var b []byte
		for _, m := range msgs {
			b, _ = spec.Append(b, []byte(m))
		}
		return b
	}
	script := steps(">", "req", "<", "a", "<", "bc")
	p := &Player{Expect: true, PerMessage: true, Wait: 5 * time.Second}
	c := peer(t, spec, func(c *net.TCPConn) {
		answer(5, string(frames("a", "bc")))(c)
	})
	if err := p.Play(context.Background(), c, script); err != nil {
		t.Fatal(err)
	}
	// Same bytes, other boundaries: per message, that is a difference.
	c = peer(t, spec, func(c *net.TCPConn) {
		answer(5, string(frames("ab", "c")))(c)
	})
	err := p.Play(context.Background(), c, script)
	if err == nil || err.Error() != `message 1: expected "a", got "ab"` {
		t.Fatalf("err = %v", err)
	}
}

func TestPlayTiming(t *testing.T) {
	t.Parallel()
	script := steps(">", "1", ">", "2", ">", "3") // 100ms apart
	p := &Player{Timing: true, Wait: time.Second}
	c := peer(t, frame.Spec{}, func(c *net.TCPConn) { io.Copy(io.Discard, c); c.Close() })
	start := time.Now()
	if err := p.Play(context.Background(), c, script); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("played in %s, want the recorded 200ms of gaps", d)
	}
}

func TestQuoteLong(t *testing.T) {
	want := strings.Repeat("a", 100) + "X" + strings.Repeat("b", 100)
	got := strings.Repeat("a", 100) + "Y" + strings.Repeat("b", 100)
	err := mismatch(2, []byte(want), []byte(got), "")
	if s := err.Error(); !strings.Contains(s, "first difference at byte 100") || !strings.Contains(s, "X") || !strings.Contains(s, "Y") || len(s) > 250 {
		t.Errorf("%s", s)
	}
}

// TestPlayerHoldsLittleOfAFlood: a peer that sends far more than the
// recording does not make the player hold it (the receiver kept every
// byte that arrived until the player took it). The player stops reading,
// the peer's writes stall, and the mismatch is still reported.
func TestPlayerHoldsLittleOfAFlood(t *testing.T) {
	client, server := sockittest.Pair(t)
	const flood = 64 << 20
	var written atomic.Int64
	go func() {
		chunk := make([]byte, 256<<10)
		for written.Load() < flood {
			n, err := server.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	c := session.New(client, session.Options{Proto: "tcp"})
	p := &Player{Expect: true, Wait: 20 * time.Second, Settle: 10 * time.Millisecond}
	steps := []Step{{Send: false, Data: []byte("PONG")}, {Send: false, Data: []byte(strings.Repeat("x", 100))}}
	r := newReceiver(c)
	defer r.stop()
	// Let the receiver read what it will: the writer stalls once it stops.
	last, still := int64(-1), 0
	for deadline := time.Now().Add(20 * time.Second); still < 50; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) || written.Load() >= flood {
			t.Fatalf("the peer wrote %d bytes: the receiver read a flood the player never asked for", written.Load())
		}
		if n := written.Load(); n == last {
			still++
		} else {
			last, still = n, 0
		}
	}
	// 1 MiB queued, the rest in the two sockets' buffers.
	if n := written.Load(); n > 16<<20 {
		t.Fatalf("the peer wrote %d MiB before it stalled: the receiver read far more than the player asked for", n>>20)
	}
	got, end, err := p.receive(context.Background(), r, steps[0].Data, p.Wait)
	if err != nil || end != "" || string(got) != "\x00\x00\x00\x00" {
		t.Fatalf("receive = %q, %q, %v", got, end, err)
	}
	if e := mismatch(1, steps[0].Data, got, end); exitcode.Code(e) != exitcode.NoMatch {
		t.Errorf("mismatch = %v", e)
	}
	server.Close()
}

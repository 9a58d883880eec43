package server

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/session"
	"github.com/sockit/sockit/internal/sockittest"
)

func TestChatLinesGoToTheOthers(t *testing.T) {
	t.Parallel()
	var ev events
	ch := &Chat{}
	addr := serveTCP(t, &Server{Handler: ch.Handle, Conn: session.Options{Sink: ev.sink}}, "tcp")
	a, b, c := dial(t, addr), dial(t, addr), dial(t, addr)
	waitMembers(t, ch, 3)

	// A line in pieces, and two lines in one write, are each one message.
	a.Write([]byte("hel"))
	time.Sleep(20 * time.Millisecond) // let the first piece be read on its own
	a.Write([]byte("lo\nsecond\nthi"))
	a.Write([]byte("rd\n"))
	prefix := "[" + a.LocalAddr().String() + "] "
	want := prefix + "hello\n" + prefix + "second\n" + prefix + "third\n"
	for _, r := range []net.Conn{b, c} {
		if got := readN(t, r, len(want)); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	expectQuiet(t, a, 100*time.Millisecond) // the sender does not get its own lines

	// The end of a stream without a newline is still a message.
	c.Write([]byte("bye"))
	c.CloseWrite()
	want = "[" + c.LocalAddr().String() + "] bye"
	for _, r := range []net.Conn{a, b} {
		if got := readN(t, r, len(want)); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

func TestChatFramed(t *testing.T) {
	t.Parallel()
	ch := &Chat{}
	spec := frame.Spec{Kind: frame.Len16}
	addr := serveTCP(t, &Server{Handler: ch.Handle, Conn: session.Options{Frame: spec}}, "tcp")
	a, b := dial(t, addr), dial(t, addr)
	waitMembers(t, ch, 2)
	msg, _ := spec.Append(nil, []byte("here"))
	b.Write(msg)
	wantB := "[" + b.LocalAddr().String() + "] here"
	if got := readN(t, a, 2+len(wantB)); got[2:] != wantB {
		t.Fatalf("got %q", got)
	}
	// Two messages, the second split mid-prefix.
	m1, _ := spec.Append(nil, []byte("one"))
	m2, _ := spec.Append(nil, []byte("two"))
	all := append(m1, m2...)
	a.Write(all[:len(m1)+1])
	time.Sleep(20 * time.Millisecond)
	a.Write(all[len(m1)+1:])
	p := "[" + a.LocalAddr().String() + "] "
	w1, _ := spec.Append(nil, []byte(p+"one"))
	w2, _ := spec.Append(nil, []byte(p+"two"))
	want := string(append(w1, w2...))
	if got := readN(t, b, len(want)); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestChatUDP(t *testing.T) {
	t.Parallel()
	ch := &Chat{}
	addr := serveUDP(t, &Server{Handler: ch.Handle, Conn: session.Options{IdleTimeout: 10 * time.Second}})
	ua, _ := net.ResolveUDPAddr("udp", addr)
	var peers []net.PacketConn
	for range 3 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		pc.WriteTo([]byte("join\n"), ua) // a UDP peer exists once it has sent
		peers = append(peers, pc)
	}
	// Joining is asynchronous: say "hi all" until both others have heard
	// it (ignoring the joins they may hear first).
	want := "[" + peers[1].LocalAddr().String() + "] hi all"
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			peers[1].WriteTo([]byte("hi all"), ua)
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	for _, i := range []int{0, 2} {
		peers[i].SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			b := make([]byte, 200)
			n, _, err := peers[i].ReadFrom(b)
			if err != nil {
				t.Fatalf("peer %d: %v", i, err)
			}
			if string(b[:n]) == want {
				break
			}
			if !strings.HasSuffix(string(b[:n]), "] join\n") {
				t.Fatalf("peer %d got %q", i, b[:n])
			}
		}
	}
}

// A client that never reads is dropped once its queue is full; the others
// keep chatting.
func TestChatDropsSlowReader(t *testing.T) {
	t.Parallel()
	var ev events
	ch := &Chat{Queue: 4, Stall: time.Second}
	addr := serveTCP(t, &Server{Handler: ch.Handle, Conn: session.Options{Sink: ev.sink}}, "tcp")
	slow := dial(t, addr)
	slow.SetReadBuffer(4 << 10)
	talker := dial(t, addr)
	reader := dial(t, addr)
	waitMembers(t, ch, 3)
	want := "[" + talker.LocalAddr().String() + "] still here\n"
	heard := make(chan error, 1)
	go func() {
		br := bufio.NewReaderSize(reader, 1<<20)
		reader.SetReadDeadline(time.Now().Add(60 * time.Second))
		for {
			s, err := br.ReadString('\n')
			if err != nil {
				heard <- err
				return
			}
			if s == want {
				heard <- nil
				return
			}
		}
	}()
	line := append(bytes.Repeat([]byte("x"), 64<<10-1), '\n')
	for i := 0; i < 400; i++ {
		if _, err := talker.Write(line); err != nil {
			t.Fatal(err)
		}
		if i%20 == 0 {
			// Stop as soon as the slow client is dropped.
			ev.mu.Lock()
			dropped := false
			for _, e := range ev.all {
				dropped = dropped || e.Kind == event.Close && strings.Contains(e.Reason, "too slow")
			}
			ev.mu.Unlock()
			if dropped {
				break
			}
		}
	}
	e := ev.wait(t, "close of the slow client", func(e event.Event) bool {
		return e.Kind == event.Close && strings.Contains(e.Reason, "too slow")
	})
	if e.Peer != slow.LocalAddr().String() {
		t.Fatalf("dropped %s, want the slow client %s", e.Peer, slow.LocalAddr())
	}
	// The reader still gets what is said after that.
	talker.Write([]byte("still here\n"))
	if err := <-heard; err != nil {
		t.Fatalf("reader: %v", err)
	}
}

// waitMembers waits until n clients have joined the chat (joining follows
// the accept on the conversation's own goroutine).
func waitMembers(t *testing.T, ch *Chat, n int) {
	t.Helper()
	sockittest.Eventually(t, fmt.Sprintf("%d clients join", n), func() bool {
		ch.mu.Lock()
		defer ch.mu.Unlock()
		return len(ch.members) == n
	})
}

package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/session"
	"github.com/sockit/sockit/internal/sockittest"
)

// TestHubDropsSlowReader: a client that stops reading holds up a
// broadcast for the write timeout at most, is then dropped (its close
// says why), and the others keep getting every message.
func TestHubDropsSlowReader(t *testing.T) {
	var mu sync.Mutex
	reasons := map[string]string{} // peer → close reason
	joined := make(chan struct{}, 2)
	srv := &Server{Handler: Drain, Conn: session.Options{Sink: func(e *event.Event) {
		switch e.Kind {
		case event.Connect:
			joined <- struct{}{}
		case event.Close:
			mu.Lock()
			reasons[e.Peer] = e.Reason
			mu.Unlock()
		}
	}, NoData: true}}
	addr := serveFast(t, srv)
	slow, err := net.Dial("tcp", addr) // never reads
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	<-joined
	fast, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	<-joined

	got := make(chan []byte, 1)
	go func() {
		fast.SetReadDeadline(time.Now().Add(60 * time.Second))
		b, _ := io.ReadAll(fast)
		got <- b
	}()
	// Long enough for the reading client on a loaded machine (-race,
	// other tests), short for a test.
	hub := &Hub{Server: srv, WriteTimeout: time.Second}
	msg := bytes.Repeat([]byte("x"), 256<<10)
	var sent int
	var failed error
	start := time.Now()
	// Enough to fill the slow client's buffers many times over; bounded.
	for i := 0; i < 400 && failed == nil; i++ {
		if err := hub.Write(msg); err != nil {
			failed = err
			break
		}
		sent += len(msg)
	}
	if failed == nil || !strings.Contains(failed.Error(), slow.LocalAddr().String()) {
		t.Fatalf("the broadcast never met the slow reader: %v", failed)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the broadcast took %s", d)
	}
	// The slow client is gone; the next sends reach the fast one alone.
	for i := 0; i < 4; i++ {
		if err := hub.Write(msg); err != nil {
			t.Fatalf("send after the drop: %v", err)
		}
		sent += len(msg)
	}
	sockittest.Eventually(t, "the slow client is dropped", func() bool { return len(srv.Conns()) <= 1 })
	conns := srv.Conns()
	if len(conns) != 1 || conns[0].Peer() != fast.LocalAddr().String() {
		t.Fatalf("conversations left: %d, want the reading client's", len(conns))
	}
	fast.(*net.TCPConn).CloseWrite()
	conns[0].NetConn().Close()
	b := <-got
	// What the fast client got: every message before the failed one, the
	// failed one (written to it first or not), and the four after.
	if len(b) != sent && len(b) != sent+len(msg) {
		t.Errorf("the fast client got %d bytes, want %d (or one message more)", len(b), sent)
	}
	var why string
	sockittest.Eventually(t, "the slow reader's close event", func() bool {
		mu.Lock()
		defer mu.Unlock()
		why = reasons[slow.LocalAddr().String()]
		return why != ""
	})
	if !strings.Contains(why, "not reading: a write waited 1s") {
		t.Errorf("the slow reader's close reason %q", why)
	}
}

// TestHubTargets: one peer by address or #ID, every peer, and the errors
// for none and for a peer that is gone.
func TestHubTargets(t *testing.T) {
	joined := make(chan struct{}, 2)
	srv := &Server{Handler: Drain, Conn: session.Options{Sink: func(e *event.Event) {
		if e.Kind == event.Connect {
			joined <- struct{}{}
		}
	}, NoData: true}}
	addr := serveFast(t, srv)
	hub := &Hub{Server: srv}
	if err := hub.Write([]byte("x")); !errors.Is(err, ErrNoPeers) {
		t.Errorf("no peers: %v", err)
	}
	var cs []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		<-joined
		cs = append(cs, c)
	}
	read := func(c net.Conn, want string) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		b := make([]byte, len(want))
		if _, err := io.ReadFull(c, b); err != nil || string(b) != want {
			t.Fatalf("read %q, %v; want %q", b, err, want)
		}
	}
	if err := hub.Write([]byte("all")); err != nil {
		t.Fatal(err)
	}
	read(cs[0], "all")
	read(cs[1], "all")
	if err := hub.SetTarget("#2"); err != nil {
		t.Fatal(err)
	}
	if hub.Target() != cs[1].LocalAddr().String() {
		t.Errorf("target %q, want the second client's address %s", hub.Target(), cs[1].LocalAddr())
	}
	hub.Write([]byte("two"))
	read(cs[1], "two")
	if err := hub.WriteTo(cs[0].LocalAddr().String(), []byte("one"), true); err != nil {
		t.Fatal(err)
	}
	read(cs[0], "one")
	var gone *GoneError
	if err := hub.SetTarget("#9"); !errors.As(err, &gone) || gone.Peer != "#9" {
		t.Errorf("SetTarget of no one: %v", err)
	}
	if err := hub.WriteTo("127.0.0.1:1", []byte("x"), false); !errors.As(err, &gone) || err.Error() != "peer 127.0.0.1:1 is gone: nothing sent" {
		t.Errorf("WriteTo a peer that is gone: %v", err)
	}
	hub.SetTarget("")
	if hub.Target() != "" {
		t.Error("SetTarget(\"\") kept a target")
	}
}

// TestHubHoldsUntilOpen: what Send is given while no client is connected
// is held, and the first client gets it before it reads anything, even
// one that shuts down its write side at once (it is closed at that EOF);
// a send given up with its context is not held for the next client.
func TestHubHoldsUntilOpen(t *testing.T) {
	holding := make(chan string, 4)
	srv := &Server{Handler: Drain, Sink: func(e *event.Event) {
		if e.Kind == event.Info && strings.HasPrefix(e.Msg, "holding ") {
			holding <- e.Msg
		}
	}, Conn: session.Options{Sink: func(*event.Event) {}, NoData: true}}
	hub := &Hub{Server: srv}
	srv.OnOpen = hub.Open
	addr := serveFast(t, srv)

	// halfClose connects, shuts down its write side, and reads to the end.
	halfClose := func() string {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(60 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("read to the end: %v (got %q)", err, b)
		}
		return string(b)
	}

	sent := make(chan error, 1)
	go func() { sent <- hub.Send(context.Background(), []byte("banner\n"), true) }()
	if msg := <-holding; msg != "holding 7 B of input until a client connects" {
		t.Errorf("the holding note: %q", msg)
	}
	if got := halfClose(); got != "banner\n" {
		t.Errorf("the first client, half-closed at once, got %q, want the banner", got)
	}
	if err := <-sent; err != nil {
		t.Errorf("Send: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	go func() { sent <- hub.Send(ctx, []byte("late\n"), true) }()
	<-holding
	cancel()
	if err := <-sent; !errors.Is(err, context.Canceled) {
		t.Errorf("Send given up: %v, want context.Canceled", err)
	}
	if got := halfClose(); got != "" {
		t.Errorf("a client after the send was given up got %q", got)
	}
}

package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/session"
	"github.com/sockit/sockit/internal/sockittest"
)

// Listen for one TLS client: idle connections that never start a
// handshake do not hold up the real client (each used to cost it the 10s
// handshake timeout, one after another); the first handshake to complete
// is the client, and the others are refused and closed at once.
func TestOnceTLSHandshakesConcurrently(t *testing.T) {
	t.Parallel()
	cfg, _, err := endpoint.TLSOptions{}.Server()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var ev events
	s := &Server{Handler: Echo, Once: true, Sink: ev.sink, Conn: session.Options{Sink: ev.sink, NoData: true}}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), tls.NewListener(raw, cfg)) }()
	addr := raw.Addr().String()

	// Seven: one after another, they would hold the client up for 70s,
	// past its dial timeout.
	var idle []net.Conn
	for i := 0; i < 7; i++ {
		c := dial(t, addr)
		idle = append(idle, c)
	}
	// Accepted: the server has begun their handshakes.
	sockittest.Eventually(t, "7 handshakes in progress", func() bool { return s.handshaking.Load() >= 7 })
	client, err := tls.DialWithDialer(&net.Dialer{Timeout: 60 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	client.Write([]byte("hi"))
	if got := readN(t, client, 2); got != "hi" {
		t.Fatalf("echo %q", got)
	}
	// The idle ones are refused with a reset, as any refused client is,
	// not closed (with a FIN) at their handshake timeout, and logged so.
	for i, c := range idle {
		c.SetReadDeadline(time.Now().Add(60 * time.Second))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("idle connection %d: %v; want it reset once the client got through", i, err)
		}
	}
	refused := 0
	sockittest.Until(func() bool {
		refused = 0
		ev.mu.Lock()
		defer ev.mu.Unlock()
		for _, e := range ev.all {
			if e.Kind == event.Refused && e.Reason == "serving one client only" && e.Option == "keep-open" {
				refused++
			}
		}
		return refused >= 7
	})
	ev.mu.Lock()
	for _, e := range ev.all {
		if e.Kind == event.Error {
			t.Errorf("error event %+v", e)
		}
	}
	ev.mu.Unlock()
	if refused != 7 {
		t.Errorf("%d refused events, want 7", refused)
	}
	// One client only: the listener is closed.
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("the listener still accepts")
	}
	client.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Serve did not return after its one client left")
	}
	if n := s.handshaking.Load(); n != 0 {
		t.Errorf("%d handshakes still counted", n)
	}
}

// Handshakes in progress count toward --max-conns, so a flood of clients
// that never finish one cannot get past the cap.
func TestHandshakesCountTowardMaxConns(t *testing.T) {
	t.Parallel()
	cfg, _, err := endpoint.TLSOptions{}.Server()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var ev events
	s := &Server{Handler: Echo, MaxConns: 2, Sink: ev.sink}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, tls.NewListener(raw, cfg)) }()
	defer func() { cancel(); <-done }()
	dial(t, raw.Addr().String())
	dial(t, raw.Addr().String())
	refusedWithReset(t, raw.Addr().String())
	e := ev.wait(t, "refused", func(e event.Event) bool { return e.Kind == event.Refused })
	if e.Reason != "connection limit (2) reached" || e.Option != "max-conns" {
		t.Errorf("refused %+v", e)
	}
}

// A flood of refusals is not a flood of log lines: refusedBurst a second,
// the rest counted in the next line and in the summary.
func TestRefusalLogIsRateLimited(t *testing.T) {
	var ev events
	s := &Server{Sink: ev.sink}
	for i := 0; i < 100; i++ {
		s.refused("127.0.0.1:1", refusal{OptDeny, "denied by the deny list"})
	}
	s.refusedSummary()
	lines, summary := ev.refusals()
	if s.Refused() != 100 {
		t.Errorf("Refused() = %d, want 100", s.Refused())
	}
	// Normally all 100 land in one second; on a slow machine a second
	// window may open and log a few more, each saying what it skipped.
	if lines < refusedBurst || lines >= 100 {
		t.Errorf("%d refusal lines for 100 refusals", lines)
	}
	if lines < 100 && !strings.HasPrefix(summary, "100 peers refused in all, ") {
		t.Errorf("summary %q", summary)
	}
}

// The datagrams waiting for handlers are bounded in bytes across peers,
// and a peer that ends gives its waiting bytes back.
func TestPacketQueueIsBoundedInBytes(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	s := &Server{
		Handler: func(ctx context.Context, c *session.Conn) error {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		},
		Conn:        session.Options{IdleTimeout: time.Minute},
		queueBudget: 256 << 10,
	}
	addr := serveUDP(t, s)
	msg := make([]byte, 16<<10)
	for p := 0; p < 4; p++ {
		c, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for i := 0; i < 16; i++ {
			// One at a time, each seen (queued or dropped) before the
			// next, so that the kernel's own buffer drops none.
			seen := s.queued.Load() + s.Dropped()*int64(len(msg))
			c.Write(msg)
			sockittest.Eventually(t, fmt.Sprintf("peer %d datagram %d reaches the server", p, i), func() bool {
				return s.queued.Load()+s.Dropped()*int64(len(msg)) != seen
			})
			if q := s.queued.Load(); q > 256<<10 {
				t.Fatalf("%d bytes waiting, budget 256 KiB", q)
			}
		}
	}
	// 1 MiB sent to handlers that do not read, 256 KiB may wait: 16
	// datagrams; the other 48 are dropped.
	if q, d := s.queued.Load(), s.Dropped(); q != 256<<10 || d != 48 {
		t.Fatalf("%d bytes waiting and %d datagrams dropped; want 256 KiB and 48", q, d)
	}
	close(release) // the handlers end without reading: their queues go
	sockittest.Eventually(t, "nothing counted as waiting once every peer ended", func() bool {
		return s.queued.Load() == 0 && s.Active() == 0
	})
}

// Listen without -k is done with its listener once it has its client:
// by the time the client is announced ("connected"), a second client is
// refused by the kernel, as with nc -l, not taken into a backlog nobody
// accepts from. The sink dials at the announcement, so the order of
// closing and announcing decides the result every time.
func TestOnceClosesListenerBeforeAnnouncing(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	second := make(chan error, 1)
	sink := func(e *event.Event) {
		if e.Kind != event.Connect {
			return
		}
		c, err := net.DialTimeout("tcp", addr, 30*time.Second)
		if err == nil {
			c.Close()
		}
		second <- err
	}
	s := &Server{Handler: Echo, Once: true, Sink: sink, Conn: session.Options{Sink: sink, NoData: true}}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), ln) }()
	c := dial(t, addr)
	if err := <-second; !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("a second client, once the first was announced: %v; want connection refused", err)
	}
	c.Close()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Serve did not return within 60s of its one client leaving")
	}
}

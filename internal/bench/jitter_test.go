package bench

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/bench/wire"
)

// TestOneWayUDPJitter: between bench and the bench server, a relay holds
// every odd-numbered datagram back 10 ms. The transit time alternates
// between d and d+10 ms, so RFC 3550's interarrival jitter, which
// follows |D| = 10 ms with a gain of 1/16, is about 10 ms after 50
// datagrams: the receiver's figure, not a hard-coded or a sender's one.
func TestOneWayUDPJitter(t *testing.T) {
	addr, _ := benchUDP(t, 0)
	relay := newDelayer(t, addr, 10*time.Millisecond)
	// 50 datagrams a second: 20 ms apart, so a datagram held 10 ms is
	// not overtaken by the next one.
	r, err := Run(context.Background(), Config{Mode: UDP, Size: 64, Rate: 50, Duration: 1500 * time.Millisecond, Dial: dial("udp", relay)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Receiver == nil || r.Receiver.UDP == nil {
		t.Fatalf("no receiver count: %+v", r)
	}
	u := r.Receiver.UDP
	t.Logf("sent %d; receiver %+v", r.Ops, u)
	if u.Received < 40 {
		t.Fatalf("the receiver counted %d datagrams of %d", u.Received, r.Ops)
	}
	// About 9.5 ms from the relay alone; a busy machine's scheduling adds
	// some either way (late timers: reordering), and cannot take it below
	// half. The upper bound catches a unit gone wrong.
	if u.JitterUS < 5000 || u.JitterUS > 250000 {
		t.Fatalf("receiver jitter %.0f µs; the path alternates 0 and 10 ms of delay", u.JitterUS)
	}
}

// newDelayer forwards datagrams between one client and a server, holding
// data datagrams with an odd sequence number back by hold; control
// messages and the server's answers pass at once.
func newDelayer(t *testing.T, to string, hold time.Duration) string {
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	raddr, _ := net.ResolveUDPAddr("udp", to)
	back, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		client net.Addr
		held   sync.WaitGroup
		wg     sync.WaitGroup
	)
	wg.Add(2)
	go func() { // client → server
		defer wg.Done()
		buf := make([]byte, 65536)
		for {
			n, from, err := front.ReadFrom(buf)
			if err != nil {
				return
			}
			mu.Lock()
			client = from
			mu.Unlock()
			b := append([]byte(nil), buf[:n]...)
			if _, seq, _, ok := wire.ParseHeader(b); ok && !wire.IsControl(b) && seq%2 == 1 {
				held.Add(1)
				time.AfterFunc(hold, func() { defer held.Done(); back.Write(b) })
				continue
			}
			back.Write(b)
		}
	}()
	go func() { // server → client
		defer wg.Done()
		buf := make([]byte, 65536)
		for {
			n, err := back.Read(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue // an ICMP error from the server's side
			}
			mu.Lock()
			c := client
			mu.Unlock()
			if c != nil {
				front.WriteTo(buf[:n], c)
			}
		}
	}()
	t.Cleanup(func() { held.Wait(); front.Close(); back.Close(); wg.Wait() })
	return front.LocalAddr().String()
}

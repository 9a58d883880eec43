package endpoint

import (
	"net"
	"testing"
	"time"
)

// TestDrops: a UDP socket that does not read, with a small receive
// buffer, drops what overflows it; Drops counts exactly what did not
// arrive.
func TestDrops(t *testing.T) {
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pc.SetReadBuffer(4096)
	if n, ok := Drops(pc); !ok || n != 0 {
		t.Fatalf("a new socket: %d drops, ok %v", n, ok)
	}
	c, err := net.DialUDP("udp4", nil, pc.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const sent = 200
	for i := 0; i < sent; i++ {
		c.Write(make([]byte, 512))
	}
	drops, ok := Drops(pc)
	if !ok || drops == 0 {
		t.Fatalf("%d drops after %d datagrams into a 4 KiB buffer, ok %v", drops, sent, ok)
	}
	got := 0
	buf := make([]byte, 1024)
	for {
		pc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, _, err := pc.ReadFrom(buf); err != nil {
			break
		}
		got++
	}
	if uint64(got)+drops != sent {
		t.Errorf("received %d + dropped %d != sent %d", got, drops, sent)
	}
}

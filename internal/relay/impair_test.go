package relay

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/impair"
)

func loopback(t *testing.T) (a, b net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); ch <- c }()
	a, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b = <-ch
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// TestJoinThroughImpair: Join between two connections wrapped as relay
// --impair wraps them (delay, jitter, tiny chunks) keeps each direction's
// bytes whole and its half-close: the client's FIN reaches the server
// after all its data, while the server's answer still flows back.
func TestJoinThroughImpair(t *testing.T) {
	client, relayIn := loopback(t)
	relayOut, server := loopback(t)
	sp, _ := impair.Parse("delay=2ms,jitter=2ms,chunk=1-512")
	errc := make(chan error, 1)
	go func() {
		_, _, err := Join(impair.Conn(relayIn, sp, sp.Rand(1)), impair.Conn(relayOut, sp, sp.Rand(2)))
		errc <- err
	}()
	up := make([]byte, 1<<20)
	down := make([]byte, 1<<20)
	rand.Read(up)
	rand.Read(down)
	go func() {
		client.Write(up)
		client.(*net.TCPConn).CloseWrite()
	}()
	server.SetDeadline(time.Now().Add(60 * time.Second))
	got, err := io.ReadAll(server) // ends at the client's FIN, relayed
	if err != nil || !bytes.Equal(got, up) {
		t.Fatalf("server got %d of %d bytes (%v)", len(got), len(up), err)
	}
	go func() {
		server.Write(down)
		server.Close()
	}()
	client.SetDeadline(time.Now().Add(60 * time.Second))
	back, err := io.ReadAll(client)
	if err != nil || !bytes.Equal(back, down) {
		t.Fatalf("client got %d of %d bytes after its half-close (%v)", len(back), len(down), err)
	}
	if err := <-errc; err != nil {
		t.Errorf("Join: %v", err)
	}
}

// TestRelayImpair: Impair wraps both sides of a stream relay, and the
// listening socket too of a datagram one, and refuses faults that do not
// apply to the relay's kind.
func TestRelayImpair(t *testing.T) {
	stream := &Relay{From: mustParse(t, "127.0.0.1:0", true), To: mustParse(t, "127.0.0.1:9", false)}
	sp, _ := impair.Parse("delay=1ms,chunk=1-16")
	if err := stream.Impair(sp); err != nil || stream.WrapClient == nil || stream.WrapUpstream == nil || stream.WrapPacket != nil {
		t.Errorf("stream relay: %v; wraps client %v upstream %v packet %v", err, stream.WrapClient != nil, stream.WrapUpstream != nil, stream.WrapPacket != nil)
	}
	loss, _ := impair.Parse("loss=2%")
	if err := (&Relay{From: stream.From, To: stream.To}).Impair(loss); err == nil {
		t.Error("loss on a stream relay was taken")
	}
	packet := &Relay{From: mustParse(t, "udp://127.0.0.1:0", true), To: mustParse(t, "udp://127.0.0.1:9", false)}
	if err := packet.Impair(loss); err != nil || packet.WrapPacket == nil {
		t.Errorf("datagram relay: %v; wraps packet %v", err, packet.WrapPacket != nil)
	}
	if err := packet.Impair(sp); err == nil {
		t.Error("chunk on a datagram relay was taken")
	}
}

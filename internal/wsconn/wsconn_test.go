package wsconn

import (
	"context"
	"net"
	"testing"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
	"golang.org/x/net/nettest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pipe is a WebSocket between a client Conn and a Conn accepted by a
// Listener, over loopback.
func pipe() (c1, c2 net.Conn, stop func(), err error) {
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, nil, err
	}
	ln := Serve(tl, ListenOptions{})
	ws, _, err := websocket.Dial(context.Background(), "ws://"+tl.Addr().String()+"/", nil)
	if err != nil {
		ln.Close()
		return nil, nil, nil, err
	}
	client := New(ws, nil, tl.Addr(), Options{})
	server, err := ln.Accept()
	if err != nil {
		client.Close()
		ln.Close()
		return nil, nil, nil, err
	}
	return client, server, func() {
		client.Close()
		server.Close()
		ln.Close()
	}, nil
}

// TestConn: a WebSocket Conn behaves as net.Conn says (deadlines,
// concurrent use, close), whole messages or not.
func TestConn(t *testing.T) {
	nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) { return pipe() })
}

// TestMessageBoundaries: each Write is one Read on the other side, even
// when several are sent before any is read; a message larger than the
// buffer comes in pieces, with MessageRemaining telling the rest.
func TestMessageBoundaries(t *testing.T) {
	a, b, stop, err := pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for _, m := range []string{"one", "two", "", "three"} {
		if _, err := a.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 64)
	for _, want := range []string{"one", "two", "", "three"} {
		n, err := b.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("read %q, %v; want %q", buf[:n], err, want)
		}
	}
	a.Write([]byte("0123456789"))
	n, _ := b.Read(buf[:4])
	if string(buf[:n]) != "0123" || b.(*Conn).MessageRemaining() != 6 {
		t.Fatalf("first piece %q, %d remaining", buf[:n], b.(*Conn).MessageRemaining())
	}
	n, _ = b.Read(buf)
	if string(buf[:n]) != "456789" {
		t.Fatalf("rest %q", buf[:n])
	}
}

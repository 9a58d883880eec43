package tcpsock

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/sockit/sockit/internal/sockittest"
)

func TestInfo(t *testing.T) {
	a, b := sockittest.Pair(t)
	go io.Copy(io.Discard, b)
	a.Write(make([]byte, 1<<20))
	ti, ok := Info(a)
	if !Supported {
		if ok {
			t.Fatal("TCP_INFO where it is not supported")
		}
		return
	}
	if !ok || ti.RTTUS <= 0 || ti.CwndBytes <= 0 || ti.MSS <= 0 {
		t.Fatalf("%+v %v", ti, ok)
	}
	if _, ok := Info(nil); ok {
		t.Fatal("Info of no connection")
	}
	u, _ := net.Pipe()
	if _, ok := Info(u); ok {
		t.Fatal("Info of a pipe")
	}
}

func TestCongestion(t *testing.T) {
	if !Supported {
		if err := CheckCongestion("cubic"); err == nil {
			t.Fatal("congestion control where it is not supported")
		}
		return
	}
	err := CheckCongestion("no-such-algorithm")
	if err == nil || !strings.Contains(err.Error(), "available: ") {
		t.Fatalf("%v", err)
	}
	if CheckCongestion("reno") != nil {
		t.Skip("no reno here")
	}
	a, _ := sockittest.Pair(t)
	if err := SetCongestion(a, "reno"); err != nil {
		t.Fatal(err)
	}
	if got := Congestion(a); got != "reno" {
		t.Fatalf("Congestion = %q after setting reno", got)
	}
	if err := SetMaxPacingRate(a, 1e6); err != nil {
		t.Fatal(err)
	}
}

// wrapper hides its connection: it has no NetConn.
type wrapper struct{ net.Conn }

type exposer struct{ net.Conn }

func (e exposer) NetConn() net.Conn { return e.Conn }

// loop is a wrapper whose NetConn leads back to itself.
type loop struct{ net.Conn }

func (l *loop) NetConn() net.Conn { return l }

func TestConn(t *testing.T) {
	a, _ := sockittest.Pair(t)
	// A TLS connection shows what it wraps before any handshake.
	tc := tls.Client(a, &tls.Config{})
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	for _, c := range []struct {
		name string
		c    net.Conn
		want *net.TCPConn
	}{
		{"bare", a, a},
		{"TLS", tc, a},
		{"TLS in a wrapper with NetConn", exposer{tc}, a},
		{"a wrapper without NetConn", wrapper{a}, nil},
		{"UDP", u, nil},
		{"nil", nil, nil},
		{"a loop of wrappers", &loop{}, nil},
	} {
		if got := Conn(c.c); got != c.want {
			t.Errorf("Conn(%s) = %v, want %v", c.name, got, c.want)
		}
	}
}

package tcpsock

import (
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

package probe

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

func TestParsePorts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		err  string
	}{
		{"22", []int{22}, ""},
		{"80,22,80", []int{22, 80}, ""},
		{"8000-8003,1", []int{1, 8000, 8001, 8002, 8003}, ""},
		{" 22 , 23 ", []int{22, 23}, ""},
		{"65535", []int{65535}, ""},
		{"0", nil, "out of range"},
		{"65536", nil, "out of range"},
		{"10-5", nil, "backwards"},
		{"", nil, "no ports"},
		{"22,,23", nil, "empty item"},
		{"1-", nil, "not a port"},
		{"nosuchservice-xyz", nil, "not a port"},
	} {
		got, err := ParsePorts(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParsePorts(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParsePorts(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"22", "1-1024,8080", "http", "0", "65535-1", ",", "1-65535"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ports, err := ParsePorts(s)
		if err != nil {
			return
		}
		if len(ports) == 0 {
			t.Fatalf("%q: no ports and no error", s)
		}
		for i, p := range ports {
			if p < 1 || p > 65535 || i > 0 && ports[i-1] >= p {
				t.Fatalf("%q: bad or unsorted port list %v", s, ports)
			}
		}
	})
}

func closedTCPPort(t *testing.T) int { return sockittest.FreePort(t, false) }

func TestScanTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	open := ln.Addr().(*net.TCPAddr).Port
	closed := closedTCPPort(t)
	s := &Scan{Host: netip.MustParseAddr("127.0.0.1"), Ports: []int{closed, open}, Timeout: 2 * time.Second}
	res := s.Run(context.Background())
	if len(res) != 2 {
		t.Fatalf("results %+v", res)
	}
	got := map[int]string{res[0].Port: res[0].State, res[1].Port: res[1].State}
	if got[open] != Open || got[closed] != Closed {
		t.Fatalf("states %v: want %d open, %d closed", got, open, closed)
	}
	if res[0].Port > res[1].Port {
		t.Fatal("results not sorted by port")
	}
}

func TestScanTCPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	res := (&Scan{Host: netip.MustParseAddr("::1"), Ports: []int{port}}).Run(context.Background())
	if len(res) != 1 || res[0].State != Open {
		t.Fatalf("%+v", res)
	}
}

func TestScanUDP(t *testing.T) {
	echo := sockittest.EchoUDP(t)
	open := netip.MustParseAddrPort(echo).Port()
	closed := sockittest.FreePort(t, true)
	// A bound socket that never answers: open|filtered.
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	quiet := silent.LocalAddr().(*net.UDPAddr).Port
	s := &Scan{Host: netip.MustParseAddr("127.0.0.1"), Ports: []int{int(open), closed, quiet}, UDP: true, Timeout: 400 * time.Millisecond}
	got := map[int]string{}
	for _, r := range s.Run(context.Background()) {
		got[r.Port] = r.State
		if r.Proto != "udp" {
			t.Errorf("proto %q", r.Proto)
		}
	}
	if got[int(open)] != Open || got[closed] != Closed || got[quiet] != OpenFiltered {
		t.Fatalf("states %v: want %d open, %d closed, %d open|filtered", got, open, closed, quiet)
	}
}

func TestServicesNames(t *testing.T) {
	m := loadServices("/etc/services")
	if len(m) == 0 {
		t.Skip("no /etc/services")
	}
	if m["tcp/22"] != "ssh" {
		t.Errorf("tcp/22 = %q, want ssh", m["tcp/22"])
	}
}

func dialer(network, addr string) func(context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

func TestPingConnect(t *testing.T) {
	echo := sockittest.EchoTCP(t)
	var probes []Result
	p := &Ping{Dial: dialer("tcp", echo), Count: 3, Interval: 10 * time.Millisecond, Probe: func(r Result) { probes = append(probes, r) }}
	sum := p.Run(context.Background())
	if sum.Sent != 3 || sum.Received != 3 || len(probes) != 3 {
		t.Fatalf("summary %+v, %d probes", sum, len(probes))
	}
	if !(sum.Min > 0 && sum.Min <= sum.Avg && sum.Avg <= sum.Max) || sum.LossPercent() != 0 {
		t.Fatalf("inconsistent summary %+v", sum)
	}
	for i, r := range probes {
		if r.Seq != i+1 || r.Err != nil || r.RTT <= 0 {
			t.Fatalf("probe %d: %+v", i, r)
		}
	}
}

func TestPingEchoTCPAndUDP(t *testing.T) {
	for _, tc := range []struct {
		network, addr string
		udp           bool
	}{
		{"tcp", sockittest.EchoTCP(t), false},
		{"udp", sockittest.EchoUDP(t), true},
	} {
		p := &Ping{Dial: dialer(tc.network, tc.addr), Echo: true, UDP: tc.udp, Count: 3, Interval: 10 * time.Millisecond, Size: 100}
		var sizes []int
		p.Probe = func(r Result) { sizes = append(sizes, r.Size) }
		sum := p.Run(context.Background())
		if sum.Received != 3 || sum.Mdev < 0 {
			t.Fatalf("%s: %+v", tc.network, sum)
		}
		for _, s := range sizes {
			if s != 100 {
				t.Fatalf("%s: echoed %d bytes, want 100", tc.network, s)
			}
		}
	}
}

func TestPingRefused(t *testing.T) {
	port := closedTCPPort(t)
	p := &Ping{Dial: dialer("tcp", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)).String()), Count: 2, Interval: 10 * time.Millisecond}
	sum := p.Run(context.Background())
	if sum.Sent != 2 || sum.Received != 0 || sum.LossPercent() != 100 || !errors.Is(sum.LastErr, syscall.ECONNREFUSED) {
		t.Fatalf("%+v", sum)
	}
}

func TestPingUDPNoAnswer(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	p := &Ping{Dial: dialer("udp", silent.LocalAddr().String()), UDP: true, Count: 2, Interval: 10 * time.Millisecond, Timeout: 100 * time.Millisecond}
	sum := p.Run(context.Background())
	if sum.Received != 0 || !IsTimeout(sum.LastErr) {
		t.Fatalf("%+v", sum)
	}
}

// TestResolve: an address is itself (IPv4-mapped ones unmapped); a name
// is resolved in the family asked for.
func TestResolve(t *testing.T) {
	ctx := context.Background()
	for in, want := range map[string]string{"127.0.0.1": "127.0.0.1", "::1": "::1", "::ffff:127.0.0.1": "127.0.0.1"} {
		if a, err := Resolve(ctx, in, 0); err != nil || a.String() != want {
			t.Errorf("Resolve(%q) = %v, %v; want %s", in, a, err, want)
		}
	}
	if a, err := Resolve(ctx, "localhost", 4); err != nil || !a.Is4() || !a.IsLoopback() {
		t.Errorf("Resolve(localhost, 4) = %v, %v", a, err)
	}
}

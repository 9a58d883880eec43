package sockittest

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// RebindablePort returns a TCP (or UDP) port of 127.0.0.1 that is free
// and outside the kernel's range of ephemeral ports, for a test that
// stops a server and starts one again on the same port: no socket bound
// to port 0 (another test's client, a reconnecting sockit) can take it
// in between, as one can a port FreePort returns.
func RebindablePort(t testing.TB, udp bool) int {
	t.Helper()
	lo := 32768 // Linux's default start of the range
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				lo = n
			}
		}
	}
	const first = 10000
	if lo <= first+100 {
		return FreePort(t, udp)
	}
	for range 200 {
		port := first + rand.IntN(lo-first)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if udp {
			c, err := net.ListenPacket("udp", addr)
			if err == nil {
				c.Close()
				return port
			}
			continue
		}
		l, err := net.Listen("tcp", addr)
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatalf("no free port between %d and %d", first, lo)
	return 0
}

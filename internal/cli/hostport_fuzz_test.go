package cli

import (
	"net"
	"testing"
)

// FuzzHostPortSlip: whatever the arguments, a suggested HOST:PORT is one
// endpoint whose host and port are the two arguments given.
func FuzzHostPortSlip(f *testing.F) {
	for _, s := range [][2]string{{"127.0.0.1", "8888"}, {"::1", "9"}, {"localhost", "80"}, {"8888", "9999"}, {"[::1]", "1"}, {"a:1", "2"}, {"", "1"}, {"x", "+1"}, {"x", "65536"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, host, port string) {
		ep := hostPortSlip([]string{host, port})
		if ep == "" {
			return
		}
		h, p, err := net.SplitHostPort(ep)
		if err != nil || h != host || p != port {
			t.Fatalf("hostPortSlip(%q, %q) = %q: splits into %q, %q, %v", host, port, ep, h, p, err)
		}
	})
}

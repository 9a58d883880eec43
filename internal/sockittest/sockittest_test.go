package sockittest

import (
	"net"
	"strconv"
	"testing"
)

// TestListening: a listening socket's port is seen, from a port with four
// hex digits and one with three (below 4096, which /proc/net/tcp pads
// with a zero); a connected socket's port and a closed listener's are not.
func TestListening(t *testing.T) {
	for _, low := range []bool{false, true} {
		var ln net.Listener
		var err error
		if low {
			// The first free port of 1024–4095 (0x400–0xFFF).
			for p := 1024; p < 4096 && ln == nil; p++ {
				ln, _ = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			}
			if ln == nil {
				t.Fatal("no free TCP port below 4096 on 127.0.0.1")
			}
		} else if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		WaitListening(t, port)
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if p := c.LocalAddr().(*net.TCPAddr).Port; Listening(p) {
			t.Errorf("port %d of a connected socket counts as listening", p)
		}
		c.Close()
		ln.Close()
		if Listening(port) {
			t.Errorf("port %d still counts as listening once its listener closed", port)
		}
	}
}

package servers

import (
	"crypto/tls"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// A client that a server refuses (--max-conns reached, or --deny) meets
// the same thing every time: a reset before any byte (the server's
// choice, README "Server flags (listen)"), which it reports in the same line
// with the same exit code (3), whether it sent nothing (connect
// </dev/null), sent data (connect with stdin, send) or began a TLS
// handshake. Each case runs 50 times.
func TestRefusedClientsEndTheSameWay(t *testing.T) {
	t.Parallel()
	type server struct {
		name   string
		scheme string
		args   []string
	}
	servers := []server{
		{"max-conns", "tcp", []string{"-k", "--echo", "--max-conns", "1"}},
		{"deny", "tcp", []string{"-k", "--echo", "--deny", "127.0.0.0/8"}},
		{"max-conns", "tls", []string{"-k", "--echo", "--max-conns", "1"}},
		{"deny", "tls", []string{"-k", "--echo", "--deny", "127.0.0.1"}},
	}
	clients := map[string][]struct {
		name  string
		stdin string
		args  func(ep string) []string
	}{
		"tcp": {
			{"connect </dev/null", "", func(ep string) []string { return []string{"connect", ep} }},
			{"connect with data", "hello\n", func(ep string) []string { return []string{"connect", ep} }},
			{"send", "", func(ep string) []string { return []string{"send", ep, "hello"} }},
		},
		"tls": {
			{"tls connect </dev/null", "", func(ep string) []string { return []string{"connect", "--insecure", ep} }},
			{"tls connect with data", "hello\n", func(ep string) []string { return []string{"connect", "--insecure", ep} }},
			{"tls send", "", func(ep string) []string { return []string{"send", "--insecure", ep, "hello"} }},
		},
	}
	for _, srv := range servers {
		t.Run(srv.scheme+" "+srv.name, func(t *testing.T) {
			t.Parallel()
			p, addr := listen(t, append(srv.args, srv.scheme+"://127.0.0.1:0")...)
			if srv.name == "max-conns" {
				holdSlot(t, p, srv.scheme, addr)
			}
			ep := srv.scheme + "://" + addr
			want := "sockit: connect " + ep + ": the server closed the connection at once: it may be full or refusing this address\n" +
				"Note that a server refuses clients beyond its connection limit or outside its address lists; its log says which (sockit: --max-conns, --allow, --deny).\n"
			for _, cl := range clients[srv.scheme] {
				t.Run(cl.name, func(t *testing.T) {
					outcomes := map[string]int{}
					for i := 0; i < sockittest.Repeats(); i++ {
						stdout, stderr, code := sockittest.Run(t, []byte(cl.stdin), 30*time.Second, cl.args(ep)...)
						if code != 3 || stderr != want || stdout != "" {
							outcomes["exit "+strconv.Itoa(code)+": "+stderr+stdout]++
						} else {
							outcomes["ok"]++
						}
					}
					if len(outcomes) != 1 || outcomes["ok"] == 0 {
						t.Errorf("outcomes over %d runs (want every one exit 3 with %q):", sockittest.Repeats(), want)
						for o, n := range outcomes {
							t.Errorf("  %d× %q", n, o)
						}
					}
				})
			}
			if !strings.Contains(p.Stderr(), "refused: ") {
				t.Errorf("the server logged no refusal:\n%s", p.Stderr())
			}
		})
	}
}

// holdSlot connects one client that the server serves, so that every
// later client is beyond --max-conns 1.
func holdSlot(t *testing.T, p *sockittest.Proc, scheme, addr string) {
	t.Helper()
	var c net.Conn
	var err error
	if scheme == "tls" {
		c, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.Write([]byte("x"))
	c.SetReadDeadline(time.Now().Add(15 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatalf("the first client was not served: %v", err)
	}
	p.WaitStderr("connected (#1", 10*time.Second)
}

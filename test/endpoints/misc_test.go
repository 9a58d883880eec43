//go:build linux

package endpoints

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
	"github.com/sockit/sockit/internal/testpki"
)

// TestAbstractUnixWithSocat: unix://@name both ways against socat's
// ABSTRACT-LISTEN and ABSTRACT-CONNECT.
func TestAbstractUnixWithSocat(t *testing.T) {
	t.Parallel()
	socat := sockittest.Need(t, "socat")
	name := "sockit-test-" + randID()

	// sockit listens, socat connects.
	srv := sockittest.Start(t, "listen", "unix://@"+name, "--echo", "-k")
	srv.Addr()
	cmd := exec.Command(socat, "-t", "5", "-", "ABSTRACT-CONNECT:"+name)
	cmd.Stdin = strings.NewReader("hello abstract\n")
	out, err := cmd.Output()
	if err != nil || string(out) != "hello abstract\n" {
		t.Fatalf("socat to sockit's abstract socket: %q, %v", out, err)
	}

	// socat listens (an echo), sockit connects.
	name2 := name + "-2"
	s := sockittest.StartCmd(t, exec.Command(socat, "-d", "-d", "ABSTRACT-LISTEN:"+name2+",fork", "EXEC:cat"))
	s.WaitStderr("listening on", 30*time.Second)
	got, errOut, code := sockittest.Run(t, []byte("back again\n"), 30*time.Second, "connect", "unix://@"+name2)
	if code != 0 || got != "back again\n" {
		t.Fatalf("sockit to socat's abstract socket: exit %d, %q; stderr:\n%s", code, got, errOut)
	}
}

// TestRetryWaitsForTheServer: send --retry keeps trying a refused connect
// with a growing pause, saying so, and gets through once a server is up.
func TestRetryWaitsForTheServer(t *testing.T) {
	t.Parallel()
	port := sockittest.RebindablePort(t, false)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	c := sockittest.Start(t, "send", addr, "hello", "--retry", "20", "--retry-delay", "50ms", "--wait", "2s")
	c.WaitStderr("trying again in 50ms (retry 1 of 20)", 30*time.Second)
	c.WaitStderr("trying again in 100ms (retry 2 of 20)", 30*time.Second)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(sockittest.Patience))
	b := make([]byte, 5)
	if _, err := conn.Read(b); err != nil || string(b) != "hello" {
		t.Fatalf("server read %q, %v", b, err)
	}
	conn.Write([]byte("world"))
	conn.Close()
	if code := c.Wait(30 * time.Second); code != 0 || c.Stdout() != "world" {
		t.Fatalf("send --retry: exit %d, stdout %q; stderr:\n%s", code, c.Stdout(), c.Stderr())
	}
}

// TestVerbosePeerCertificate: -v shows the server certificate's subject,
// issuer and the fingerprint --pin takes, for tls://, wss:// and dtls://.
func TestVerbosePeerCertificate(t *testing.T) {
	t.Parallel()
	cf := testpki.Standard(t)
	fp := fingerprint(t, cf.Cert)
	for _, scheme := range []string{"tls", "wss", "dtls"} {
		path := ""
		if scheme == "wss" {
			path = "/"
		}
		srv := sockittest.Start(t, "listen", scheme+"://127.0.0.1:0"+path, "--echo", "-k", "--cert", cf.Cert, "--key", cf.Key)
		_, errOut, code := sockittest.Run(t, nil, 30*time.Second, "send", scheme+"://"+srv.Addr()+path, "x", "--ca", cf.CA, "-v", "--wait", "1s")
		var colons []string
		for i := 0; i < len(fp); i += 2 {
			colons = append(colons, fp[i:i+2])
		}
		if code != 0 || !strings.Contains(errOut, `subject "CN=sockit test server"`) || !strings.Contains(errOut, `issuer "CN=sockit test CA"`) ||
			!strings.Contains(errOut, strings.Join(colons, ":")) {
			t.Errorf("%s -v: exit %d; stderr:\n%s", scheme, code, errOut)
		}
	}
}

// TestShutNull: connect udp:// --shut-null sends one empty datagram when
// stdin ends, after the data (Python's socket module receives both).
func TestShutNull(t *testing.T) {
	t.Parallel()
	py := sockittest.Need(t, "python3")
	srv := sockittest.StartCmd(t, exec.Command(py, "-u", "-c", `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
for _ in range(2):
    d, a = s.recvfrom(65535)
    print(repr(d), flush=True)
`))
	port := srv.FirstLine(t)
	_, errOut, code := sockittest.Run(t, []byte("data"), 30*time.Second, "connect", "udp://127.0.0.1:"+port, "--shut-null", "--wait", "0")
	if code != 0 {
		t.Fatalf("connect --shut-null: exit %d; stderr:\n%s", code, errOut)
	}
	select {
	case <-srv.Done():
	case <-time.After(sockittest.Patience):
		t.Fatalf("python did not get two datagrams; stdout:\n%s", srv.Stdout())
	}
	if lines := strings.Split(strings.TrimSpace(srv.Stdout()), "\n"); len(lines) != 3 || lines[1] != "b'data'" || lines[2] != "b''" {
		t.Errorf("python got %q, want b'data' then b''", lines)
	}
}

// TestBrokerWithNcat: listen --broker between two ncat clients passes
// the bytes unchanged (ncat --broker's behaviour, sockit as the broker).
func TestBrokerWithNcat(t *testing.T) {
	t.Parallel()
	ncat := sockittest.Need(t, "ncat")
	srv := sockittest.Start(t, "listen", "127.0.0.1:0", "--broker", "-k", "-v")
	host, port, _ := net.SplitHostPort(srv.Addr())
	a := sockittest.StartCmd(t, exec.Command(ncat, host, port))
	srv.WaitStderr("connected (#1", 30*time.Second)
	b := sockittest.StartCmd(t, exec.Command(ncat, host, port))
	srv.WaitStderr("connected (#2", 30*time.Second)
	msg := "raw \x1b[1mbytes\x00 from a\r\n"
	a.Stdin.Write([]byte(msg))
	sockittest.Until(func() bool { return len(b.Stdout()) >= len(msg) }) // all of it, or more than was sent
	if b.Stdout() != msg {
		t.Fatalf("b got %q, want %q", b.Stdout(), msg)
	}
	if a.Stdout() != "" {
		t.Errorf("the sender got %q back", a.Stdout())
	}
}

// TestRelayRetriesItsTarget: relay --retry tries a refused TO again for
// each client, and the client's data gets through once TO is up.
func TestRelayRetriesItsTarget(t *testing.T) {
	t.Parallel()
	port := sockittest.RebindablePort(t, false)
	to := "127.0.0.1:" + strconv.Itoa(port)
	r := sockittest.Start(t, "relay", "tcp://127.0.0.1:0", "tcp://"+to, "--retry", "20", "--retry-delay", "50ms")
	c, err := net.Dial("tcp", r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(sockittest.Patience))
	c.Write([]byte("early"))
	r.WaitStderr("trying again", 30*time.Second)
	ln, err := net.Listen("tcp", to)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	up, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	up.SetDeadline(time.Now().Add(sockittest.Patience))
	b := make([]byte, 5)
	if _, err := up.Read(b); err != nil || string(b) != "early" {
		t.Fatalf("upstream read %q, %v", b, err)
	}
	up.Write([]byte("late"))
	if _, err := c.Read(b[:4]); err != nil || string(b[:4]) != "late" {
		t.Fatalf("client read %q, %v", b[:4], err)
	}
}

//go:build linux

package reliability

import (
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
	"github.com/sockit/sockit/internal/testpki"
)

func haveIPv6(t *testing.T) {
	t.Helper()
	c, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback on this machine")
	}
	c.Close()
}

// admitted reports whether an echo server at addr, reached from src (""
// for the default), answers: a refused connection is closed at once.
func admitted(t *testing.T, network, src, addr string) bool {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if src != "" {
		ip := net.ParseIP(src)
		if network == "udp" {
			d.LocalAddr = &net.UDPAddr{IP: ip}
		} else {
			d.LocalAddr = &net.TCPAddr{IP: ip}
		}
	}
	c, err := d.Dial(network, addr)
	if network == "tcp" && errors.Is(err, syscall.ECONNRESET) {
		return false // refused: the server's reset beat connect
	}
	if err != nil {
		t.Fatalf("dial %s from %q: %v", addr, src, err)
	}
	defer c.Close()
	c.Write([]byte("ping\n"))
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 16)
	n, _ := io.ReadAtLeast(c, buf, 5)
	return string(buf[:n]) == "ping\n"
}

// TestACL: --allow and --deny hold for IPv4, IPv6 and IPv4-mapped IPv6.
// A dual-stack listener on [::] sees 127.0.0.1 as ::ffff:127.0.0.1, which
// must still match 127.0.0.0/8 rules, for TCP and for UDP.
func TestACL(t *testing.T) {
	t.Parallel()
	haveIPv6(t)
	allowFile := filepath.Join(t.TempDir(), "allow.txt")
	os.WriteFile(allowFile, []byte("# loopback only\n127.0.0.0/8\n"), 0o600)
	type probe struct {
		src, dst string // dst: "v4" dials 127.0.0.1, "v6" dials ::1
		want     bool
	}
	tests := []struct {
		listen string
		flags  []string
		probes []probe
	}{
		{"[::]", []string{"--allow", "127.0.0.0/8"}, []probe{{"", "v4", true}, {"", "v6", false}}},
		{"[::]", []string{"--deny", "127.0.0.0/8"}, []probe{{"", "v4", false}, {"", "v6", true}}},
		{"[::]", []string{"--deny", "::ffff:127.0.0.1"}, []probe{{"", "v4", false}, {"127.0.0.2", "v4", true}, {"", "v6", true}}},
		{"[::]", []string{"--deny", "::ffff:127.0.0.0/104"}, []probe{{"127.0.0.3", "v4", false}, {"", "v6", true}}},
		{"[::]", []string{"--allow", "::1"}, []probe{{"", "v6", true}, {"", "v4", false}}},
		{"[::]", []string{"--deny", "::1/128"}, []probe{{"", "v6", false}, {"", "v4", true}}},
		{"[::]", []string{"--allow", "@" + allowFile}, []probe{{"", "v4", true}, {"", "v6", false}}},
		{"[::]", []string{"--allow", "127.0.0.0/8,::1", "--deny", "127.0.0.2"}, []probe{{"", "v4", true}, {"127.0.0.2", "v4", false}, {"", "v6", true}}},
		{"127.0.0.1", []string{"--allow", "127.0.0.2/32"}, []probe{{"", "v4", false}, {"127.0.0.2", "v4", true}}},
		{"127.0.0.1", []string{"--allow", "10.0.0.0/8"}, []probe{{"", "v4", false}}},
		{"127.0.0.1", []string{"--deny", "0.0.0.0/0"}, []probe{{"", "v4", false}}},
		{"[::1]", []string{"--deny", "::/0"}, []probe{{"", "v6", false}}},
	}
	for _, proto := range []string{"tcp", "udp"} {
		for _, tc := range tests {
			name := proto + "/" + tc.listen + "/" + strings.Join(tc.flags, "_")
			t.Run(strings.ReplaceAll(name, "/", "|"), func(t *testing.T) {
				t.Parallel()
				args := append([]string{"listen", "-k", "--echo", proto + "://" + tc.listen + ":0"}, tc.flags...)
				p := sockittest.Start(t, args...)
				port := portOf(t, p.Addr())
				refusals := 0
				for _, pr := range tc.probes {
					host := "127.0.0.1"
					if pr.dst == "v6" {
						host = "::1"
					}
					got := admitted(t, proto, pr.src, net.JoinHostPort(host, port))
					if got != pr.want {
						t.Errorf("from %q to %s: admitted=%v, want %v", pr.src, host, got, pr.want)
					}
					if !pr.want {
						refusals++
					}
				}
				if refusals > 0 && proto == "tcp" {
					// Refusals are logged on stderr (UDP logs the peer once).
					p.WaitStderr("refused", 5*time.Second)
				}
			})
		}
	}
}

// TestExecNeverRunsUnasked: whatever a client sends, sockit's servers
// start no process unless --exec was given.
func TestExecNeverRunsUnasked(t *testing.T) {
	t.Parallel()
	marker := filepath.Join(t.TempDir(), "pwned")
	payload := "id\n$(touch " + marker + ")\n`touch " + marker + "`\n; touch " + marker + "\n| touch " + marker + "\n"
	for _, args := range [][]string{
		{"listen", "-k", "--echo", "127.0.0.1:0"},
		{"listen", "-k", "--discard", "127.0.0.1:0"},
		{"listen", "-k", "127.0.0.1:0"},
		{"listen", "127.0.0.1:0"},
		{"listen", "-u", "127.0.0.1:0"},
		{"listen", "-u", "--echo", "127.0.0.1:0"},
	} {
		t.Run(strings.Join(args[1:], "_"), func(t *testing.T) {
			p := sockittest.Start(t, args...)
			network := "tcp"
			if args[1] == "-u" {
				network = "udp"
			}
			c, err := net.Dial(network, p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			echo, discard := slices.Contains(args, "--echo"), slices.Contains(args, "--discard")
			// acted waits until the server has acted on round n's payload:
			// sent it back, or shown it on stdout (--discard shows nothing:
			// its client's close, below, says when it has read it all).
			acted := func(n int) {
				t.Helper()
				switch {
				case echo:
					c.SetReadDeadline(time.Now().Add(sockittest.Patience))
					buf := make([]byte, len(payload))
					if network == "udp" {
						_, err = c.Read(buf)
					} else {
						_, err = io.ReadFull(c, buf)
					}
					if err != nil {
						t.Fatalf("round %d: no echo: %v", n, err)
					}
				case !discard:
					sockittest.Eventually(t, "the payload on stdout", func() bool {
						return strings.Count(p.Stdout(), payload) >= n
					})
				}
			}
			check := func() {
				t.Helper()
				if kids := children(p.Cmd.Process.Pid); len(kids) > 0 {
					t.Fatalf("sockit %s started processes %v without --exec", strings.Join(args, " "), kids)
				}
			}
			for n := 1; n <= 3; n++ {
				c.Write([]byte(payload))
				acted(n)
				check()
			}
			if discard {
				c.(*net.TCPConn).CloseWrite()
				p.WaitStderr(c.LocalAddr().String()+" closed", sockittest.Patience)
				check()
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatalf("a shell ran the client's text")
			}
		})
	}
	t.Run("control", func(t *testing.T) {
		// The check above can see a child: sockit under a shell wrapper has one.
		sh := exec.Command("/bin/sh", "-c", sockittest.Binary(t)+" listen -k --echo 127.0.0.1:0; true")
		sh.WaitDelay = 5 * time.Second
		p := sockittest.StartCmd(t, sh)
		p.Addr()
		kids := children(p.Cmd.Process.Pid)
		for _, k := range kids {
			syscall.Kill(k, syscall.SIGKILL) // the sockit this test started
		}
		if len(kids) != 1 {
			t.Fatalf("children of the shell: %v, want the one sockit", kids)
		}
		p.Wait(10 * time.Second)
	})
	if out, _, _ := sockittest.Run(t, nil, 10*time.Second, "listen", "--help"); strings.Contains(out, "--exec") {
		t.Run("exec-when-asked", func(t *testing.T) {
			p := sockittest.Start(t, "listen", "--exec", "cat", "127.0.0.1:0")
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte("hi\n"))
			buf := make([]byte, 3)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hi\n" {
				t.Fatalf("--exec cat echoed %q, %v", buf, err)
			}
			if kids := children(p.Cmd.Process.Pid); len(kids) != 1 {
				t.Errorf("with --exec cat and one client: children %v, want one", kids)
			}
		})
	}
}

// testCert makes a CA and a server certificate for good.test (and no IP)
// signed by it, and returns the file names.
func testCert(t *testing.T) (caFile, certFile, keyFile string) {
	t.Helper()
	ca := testpki.New(t)
	certFile, keyFile = ca.Issue(t, testpki.Leaf{Name: "good.test", Usage: x509.ExtKeyUsageServerAuth, Hosts: []string{"good.test"}})
	return ca.File, certFile, keyFile
}

// TestTLSRejects: the server refuses TLS 1.1 and 1.0 (and 1.2 with
// --tls-min 1.3), as openssl sees it; the client refuses a TLS 1.1
// server, a certificate for another name and a certificate that does not
// match --pin, each with exit 5 and one line.
func TestTLSRejects(t *testing.T) {
	t.Parallel()
	openssl := sockittest.Need(t, "openssl")
	ca, cert, key := testCert(t)

	sClient := func(addr string, version string) (string, error) {
		cmd := exec.Command(openssl, "s_client", "-connect", addr, "-"+version, "-cipher", "DEFAULT@SECLEVEL=0", "-servername", "good.test")
		cmd.Stdin = strings.NewReader("")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Run("server-versions", func(t *testing.T) {
		p := sockittest.Start(t, "listen", "-k", "--echo", "tls://127.0.0.1:0")
		addr := p.Addr()
		for _, v := range []string{"tls1", "tls1_1"} {
			out, err := sClient(addr, v)
			if err == nil || !strings.Contains(out, "alert protocol version") {
				t.Errorf("openssl -%s: err %v; want the server's protocol version alert:\n%s", v, err, out)
			}
		}
		for _, v := range []string{"tls1_2", "tls1_3"} {
			if out, err := sClient(addr, v); err != nil || !strings.Contains(out, "Cipher is") {
				t.Errorf("openssl -%s (control) failed: %v\n%s", v, err, out)
			}
		}
	})
	t.Run("server-min-1.3", func(t *testing.T) {
		p := sockittest.Start(t, "listen", "-k", "--echo", "--tls-min", "1.3", "tls://127.0.0.1:0")
		if out, err := sClient(p.Addr(), "tls1_2"); err == nil || !strings.Contains(out, "alert protocol version") {
			t.Errorf("TLS 1.2 against --tls-min 1.3: %v\n%s", err, out)
		}
	})
	t.Run("client-refuses-tls1.1-server", func(t *testing.T) {
		port := sockittest.FreePort(t, false)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		for _, v := range []string{"tls1_1", "tls1_2"} {
			srv := exec.Command(openssl, "s_server", "-accept", addr, "-"+v, "-cipher", "DEFAULT@SECLEVEL=0", "-cert", cert, "-key", key, "-naccept", "1", "-quiet")
			sp := sockittest.StartCmd(t, srv)
			sockittest.WaitListening(t, port)
			_, errOut, code := sockittest.Run(t, nil, 20*time.Second, "send", "--wait", "0", "--ca", ca, "--sni", "good.test", "tls://"+addr, "hi")
			if v == "tls1_1" {
				if code != 5 {
					t.Errorf("against a TLS 1.1 server: exit %d, want 5; stderr: %s", code, errOut)
				}
				oneErrorLine(t, errOut, "tls")
			} else if code != 0 {
				t.Errorf("against a TLS 1.2 server (control): exit %d: %s", code, errOut)
			}
			sp.Cmd.Process.Kill()
			sp.Wait(10 * time.Second)
		}
	})
	t.Run("client-names-and-pins", func(t *testing.T) {
		p := sockittest.Start(t, "listen", "-k", "--echo", "--cert", cert, "--key", key, "tls://127.0.0.1:0")
		addr := "tls://" + p.Addr()
		goodPin := pinOf(t, cert)
		badPin := strings.Repeat("AB:", 31) + "AB"
		for _, tc := range []struct {
			args []string
			code int
			say  string
		}{
			{[]string{"--ca", ca, "--sni", "good.test"}, 0, ""},
			{[]string{"--ca", ca, "--sni", "evil.test"}, 5, "evil.test"},
			{[]string{"--ca", ca}, 5, "127.0.0.1"}, // the certificate names no IP
			{nil, 5, "certificate"},                // not signed by a system root
			{[]string{"--pin", goodPin}, 0, ""},
			{[]string{"--pin", badPin}, 5, "pin"},
		} {
			args := append(append([]string{"send", "--wait", "0"}, tc.args...), addr, "hi")
			_, errOut, code := sockittest.Run(t, nil, 20*time.Second, args...)
			if code != tc.code {
				t.Errorf("%v: exit %d, want %d; stderr: %s", tc.args, code, tc.code, errOut)
				continue
			}
			if tc.code != 0 {
				oneErrorLine(t, errOut, tc.say)
			}
		}
	})
}

func pinOf(t *testing.T, certFile string) string {
	t.Helper()
	out, err := exec.Command(sockittest.Need(t, "openssl"), "x509", "-in", certFile, "-noout", "-fingerprint", "-sha256").Output()
	if err != nil {
		t.Fatal(err)
	}
	_, fp, ok := strings.Cut(strings.TrimSpace(string(out)), "=")
	if !ok {
		t.Fatalf("openssl fingerprint: %q", out)
	}
	return fp
}

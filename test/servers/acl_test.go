package servers

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// aclServers are the four kinds of server that take --allow and --deny,
// each as the arguments that start it with the given list flags.
func aclServers(t *testing.T) map[string]func(flags ...string) []string {
	echoTCP, echoUDP := sockittest.EchoTCP(t), sockittest.EchoUDP(t)
	return map[string]func(...string) []string{
		"listen tcp": func(f ...string) []string {
			return append(append([]string{"listen", "-k", "--echo"}, f...), "127.0.0.1:0")
		},
		"listen udp": func(f ...string) []string {
			return append(append([]string{"listen", "-u", "--echo"}, f...), "udp://127.0.0.1:0")
		},
		"relay tcp": func(f ...string) []string {
			return append(append([]string{"relay"}, f...), "127.0.0.1:0", echoTCP)
		},
		"relay udp": func(f ...string) []string {
			return append(append([]string{"relay"}, f...), "udp://127.0.0.1:0", "udp://"+echoUDP)
		},
	}
}

// Every list that cannot be read in full is a usage error (exit 2) that
// says what and where, before any socket opens: never a server that
// admits everyone, or one that lost the entries after a bad line.
func TestACLBadListsAreUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	forms := []struct{ name, value, want string }{
		{"directory", "@" + dir, "is a directory"},
		{"missing file", "@" + filepath.Join(dir, "missing"), "no such file or directory"},
		{"bare @", "@", "no file name"},
		// 70 KiB of one line, then the entry that would have been lost.
		{"long line", "@" + file("long", "10.0.0.0/8\n"+strings.Repeat("1", 70<<10)+"\n127.0.0.1\n"), "line 2 is longer than 64 KiB"},
		{"bad entry on line 3", "@" + file("bad3", "# lab\n10.0.0.0/8\n10.0.0.0/33\n"), "bad3 line 3"},
		{"binary file", "@" + file("bin", "\x7fELF\x02\x01\x01\x00\x00"), "line 1 is not text"},
		{"host name", "localhost", `"localhost"`},
		// Nothing at all, as --allow="$EMPTY" gives: refused as every
		// empty flag value is (an empty list is written "," or a file).
		{"empty value", "", "needs a value, not an empty string"},
	}
	servers := aclServers(t)
	for kind, args := range servers {
		for _, form := range forms {
			for _, flag := range []string{"--allow", "--deny"} {
				t.Run(kind+"/"+flag+"/"+form.name, func(t *testing.T) {
					t.Parallel()
					_, stderr, code := runSockit(t, args(flag+"="+form.value)...)
					if code != 2 || !strings.Contains(stderr, flag) || !strings.Contains(stderr, form.want) {
						t.Fatalf("exit %d, stderr %q; want exit 2 naming %s and %q", code, stderr, flag, form.want)
					}
					if strings.Contains(stderr, "listening on") {
						t.Fatalf("the socket opened before the usage error: %q", stderr)
					}
					if n := strings.Count(strings.TrimSpace(stderr), "\n"); n > 1 {
						t.Fatalf("more than two lines: %q", stderr)
					}
				})
			}
		}
	}
}

// A list given empty (--allow ',', an empty or comments-only file) admits
// no one, and the server says so at start; a client from 127.0.0.1 is
// refused by every kind of server. (--allow= with nothing at all is a
// usage error: TestACLBadListsAreUsageErrors.)
func TestACLEmptyAllowAdmitsNoOne(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	comments := filepath.Join(dir, "comments")
	os.WriteFile(empty, nil, 0o644)
	os.WriteFile(comments, []byte("# nobody yet\n\n  # still nobody\n"), 0o644)
	servers := aclServers(t)
	for kind, args := range servers {
		for _, flags := range [][]string{{"--allow", ","}, {"--allow", " , "}, {"--allow", "@" + empty}, {"--allow", "@" + comments}} {
			t.Run(kind+"/"+strings.Join(flags, " "), func(t *testing.T) {
				t.Parallel()
				p := sockittest.Start(t, args(flags...)...)
				addr := p.Addr()
				if !strings.Contains(p.Stderr(), "--allow lists no address: every client will be refused") {
					t.Errorf("no note about the empty list on stderr:\n%s", p.Stderr())
				}
				if strings.HasPrefix(kind, "listen udp") || strings.HasPrefix(kind, "relay udp") {
					c, err := net.Dial("udp", strings.TrimPrefix(addr, "udp://"))
					if err != nil {
						t.Fatal(err)
					}
					defer c.Close()
					c.Write([]byte("hi"))
					p.WaitStderr("refused: not in the allow list (the list is empty) (see --allow)", 15*time.Second)
					c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
					if n, err := c.Read(make([]byte, 10)); err == nil {
						t.Fatalf("a refused UDP client got %d bytes back", n)
					}
					return
				}
				got, closed := dialRead(t, "tcp", addr, "hi")
				if got != "" || !closed {
					t.Fatalf("client from 127.0.0.1 got %q (closed %v); want refused", got, closed)
				}
				p.WaitStderr("refused: not in the allow list (the list is empty) (see --allow)", 15*time.Second)
			})
		}
	}
}

// A --deny entry after a long line is not silently dropped: the old
// parser stopped at the long line and served 127.0.0.1.
func TestACLDenyAfterLongLineIsNotLost(t *testing.T) {
	t.Parallel()
	f := writeFile(t, "deny", "10.0.0.0/8 # "+strings.Repeat("x", 70<<10)+"\n127.0.0.1\n")
	_, stderr, code := runSockit(t, "listen", "-k", "--echo", "--deny", "@"+f, "127.0.0.1:0")
	if code != 2 || !strings.Contains(stderr, "line 1 is longer than 64 KiB") {
		t.Fatalf("exit %d, %q", code, stderr)
	}
}

// --allow and --deny on a Unix socket would be ignored (its peers have no
// IP address): that is a usage error, not a server open to all.
func TestACLOnUnixSocketIsUsageError(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "s")
	for _, args := range [][]string{
		{"listen", "--allow", "127.0.0.1", "unix://" + sock},
		{"relay", "--deny", "10.0.0.0/8", "unix://" + sock, "127.0.0.1:9"},
	} {
		_, stderr, code := runSockit(t, args...)
		if code != 2 || !strings.Contains(stderr, "check IP addresses") {
			t.Errorf("%v: exit %d, %q", args, code, stderr)
		}
	}
}

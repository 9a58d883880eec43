package cli

import (
	"bufio"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// TestUICommand runs `sockit ui` as a user would: it prints the URL with
// the token on stdout, the page loads with it and not without it, and
// Ctrl-C stops it.
func TestUICommand(t *testing.T) {
	cmd := exec.Command(sockittest.Binary(t), "ui")
	cmd.Env = append(os.Environ(), "SOCKIT_CONFIG_DIR="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := sockittest.StartCmd(t, cmd)
	addr := p.Addr()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("no URL on stdout: %v", err)
	}
	url := strings.TrimSpace(line)
	if !strings.HasPrefix(url, "http://"+addr+"/?token=") || len(url) < len("http://"+addr+"/?token=")+32 {
		t.Fatalf("URL %q (listening on %s)", url, addr)
	}
	if strings.Contains(p.Stderr(), "warning") {
		t.Errorf("a warning for a loopback address: %s", p.Stderr())
	}

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	if resp, err := c.Get("http://" + addr + "/"); err != nil || resp.StatusCode != 401 {
		t.Errorf("without the token: %v %v, want 401", resp.Status, err)
	} else {
		resp.Body.Close()
	}
	resp, err := c.Get(url)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("with the token: %v %v", resp.Status, err)
	}
	resp.Body.Close()

	p.Interrupt()
	if code := p.Wait(10 * time.Second); code != 130 {
		t.Errorf("exit code %d after Ctrl-C, want 130", code)
	}
}

func TestUICommandBadAddr(t *testing.T) {
	for _, addr := range []string{"udp://127.0.0.1:0", "127.0.0.1:99999", "unix:///tmp/x"} {
		_, stderr, code := sockittest.Run(t, nil, 10*time.Second, "ui", "--addr", addr)
		if code != 2 || !strings.Contains(stderr, "sockit:") {
			t.Errorf("--addr %s: exit %d, stderr %q; want 2 and one line", addr, code, stderr)
		}
	}
}

// TestUICommandKeepsAddress: a second run on the same configuration
// serves on the same address with the same token (a tab left open
// reconnects), unless --addr says otherwise.
func TestUICommandKeepsAddress(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (string, *sockittest.Proc) {
		cmd := exec.Command(sockittest.Binary(t), append([]string{"ui"}, args...)...)
		cmd.Env = append(os.Environ(), "SOCKIT_CONFIG_DIR="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		p := sockittest.StartCmd(t, cmd)
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil {
			t.Fatalf("no URL on stdout: %v", err)
		}
		return strings.TrimSpace(line), p
	}
	first, p := run()
	p.Interrupt()
	p.Wait(10 * time.Second)
	second, p := run()
	if second != first {
		t.Errorf("second run prints %q, want the first run's %q", second, first)
	}
	p.Interrupt()
	p.Wait(10 * time.Second)
	if fi, err := os.Stat(dir + "/workspace.json"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("workspace.json: %v %v, want mode 0600", fi, err)
	}
	third, p := run("--addr", "127.0.0.1:0")
	defer func() { p.Interrupt(); p.Wait(10 * time.Second) }()
	if third == first || !strings.Contains(third, strings.SplitN(first, "?", 2)[1]) {
		t.Errorf("with --addr: %q (first %q): want another port, the same token", third, first)
	}
}

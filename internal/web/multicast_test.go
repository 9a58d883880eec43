package web

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sockit/sockit/internal/sockittest"
)

// TestBrowserBroadcast: a UDP session sends to the loopback broadcast
// address only with Broadcast ticked; without it the page says the
// system refused.
func TestBrowserBroadcast(t *testing.T) {
	rc, err := net.ListenPacket("udp4", "127.255.255.255:0")
	if err != nil {
		t.Skipf("cannot bind the loopback broadcast address: %v", err)
	}
	defer rc.Close()
	port := rc.LocalAddr().(*net.UDPAddr).Port
	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.run(chromedp.Navigate(u.url))
	remote := fmt.Sprintf("127.255.255.255:%d", port)
	p.open(kindUDP, map[string]string{"local": "127.0.0.1:0", "remote": remote})
	p.set(active(".send-text"), "to all")
	p.click(active(".send"))
	p.wait(has(active(".send-error"), "permission denied"))

	p.click("#new-session")
	p.click("#kind-udp")
	p.check("#new-broadcast", true)
	p.open(kindUDP, map[string]string{"local": "127.0.0.1:0", "remote": remote})
	p.set(active(".send-text"), "to all")
	p.click(active(".send"))
	rc.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 64)
	n, _, err := rc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "to all\n" {
		t.Fatalf("the broadcast receiver got %q, %v", buf[:n], err)
	}
}

// TestBrowserMulticast runs sockit ui inside a network namespace the test
// makes (loopback with multicast on), reached over a veth pair: one UDP
// session joins 239.1.2.3 on lo, another sends to the group with a TTL,
// and the first one's log shows the datagram. Root only (CI runs as root).
func TestBrowserMulticast(t *testing.T) {
	if os.Geteuid() != 0 {
		sockittest.Missing(t, "network namespace tests need root (CI runs as root)")
	}
	ipcmd := sockittest.Need(t, "ip")
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ipcmd, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	b := make([]byte, 3)
	rand.Read(b)
	id := hex.EncodeToString(b)
	ns := "sockit-uimc-" + id
	run("netns", "add", ns)
	t.Cleanup(func() { exec.Command(ipcmd, "netns", "del", ns).Run() })
	run("-n", ns, "link", "set", "lo", "up")
	run("-n", ns, "link", "set", "lo", "multicast", "on")
	run("-n", ns, "route", "add", "224.0.0.0/4", "dev", "lo")
	host, inner := "skui"+id+"h", "skui"+id+"n"
	pfx := fmt.Sprintf("10.%d.%d.", 150+int(b[0])%50, int(b[1])&0xfc)
	run("link", "add", host, "type", "veth", "peer", "name", inner, "netns", ns)
	t.Cleanup(func() { exec.Command(ipcmd, "link", "del", host).Run() })
	run("addr", "add", pfx+"1/30", "dev", host)
	run("link", "set", host, "up")
	run("-n", ns, "addr", "add", pfx+"2/30", "dev", inner)
	run("-n", ns, "link", "set", inner, "up")

	cmd := exec.Command(ipcmd, "netns", "exec", ns, sockittest.Binary(t), "ui", "--addr", pfx+"2:0")
	cmd.Env = append(os.Environ(), "SOCKIT_CONFIG_DIR="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	proc := sockittest.StartCmd(t, cmd)
	defer func() { proc.Interrupt(); proc.Wait(10 * time.Second) }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("no URL: %v %s", err, proc.Stderr())
	}
	p := newPage(t, 1280, 900)
	p.run(chromedp.Navigate(strings.TrimSpace(line)))
	p.wait(`window.sockit && window.sockit.connected`)

	// The receiver: :5000 joined to 239.1.2.3 on lo. It listens on every
	// address of the namespace, so the page asks first.
	p.click("#kind-udp")
	p.set("#new-local", ":5000")
	p.set("#new-remote", "")
	p.set("#new-group", "239.1.2.3")
	p.set("#new-iface", "lo")
	p.click("#new-open")
	p.wait(`document.querySelector('#confirm').open`)
	p.click("#confirm-yes")
	p.wait(`window.sockit.sessions.size === 1 && !!document.querySelector('.panel.active')`)
	p.wait(has(active(".status"), "joined 239.1.2.3"))

	// The sender: to the group, from lo, TTL 1.
	p.click("#new-session")
	p.click("#kind-udp")
	p.set("#new-group", "")
	p.set("#new-ttl", "1")
	p.open(kindUDP, map[string]string{"local": "127.0.0.1:0", "remote": "239.1.2.3:5000"})
	p.set(active(".send-text"), "hello group")
	p.click(active(".send"))
	p.wait(`window.sockit.sessions.get(1).items.some((e) => e.kind === 'data' && e.dir === 'in' && e.text.startsWith('hello group'))`)
}

// TestOpenGroupErrors: the group field wants a group and a port.
func TestOpenGroupErrors(t *testing.T) {
	u := startUI(t)
	w := dialWS(t, u)
	for _, c := range []struct{ local, group, want string }{
		{":5000", "10.0.0.1", "not a multicast group"},
		{"127.0.0.1:0", "239.1.2.3", "needs a port"},
		{":5000", "239.1.2.3:x", "not a multicast group"},
	} {
		m := w.do(map[string]any{"op": "open", "kind": "udp", "local": c.local, "group": c.group, "confirm": true})
		if m.Type != "error" || !strings.Contains(m.Error, c.want) {
			t.Errorf("group %q on %q: %+v, want %q", c.group, c.local, m, c.want)
		}
	}
	if m := w.do(map[string]any{"op": "open", "kind": "udp", "local": "127.0.0.1:0", "ttl": 300}); m.Type != "error" || !strings.Contains(m.Error, "ttl") {
		t.Errorf("ttl 300: %+v", m)
	}
}

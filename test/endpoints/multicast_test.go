//go:build linux

package endpoints

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/sockittest"
)

// netns is a network namespace the test makes and removes; with a veth
// pair to a second one when made by newVethPair.
type netns struct {
	t    *testing.T
	name string
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		sockittest.Missing(t, "network namespace tests need root (CI runs as root)")
	}
}

func newNetns(t *testing.T, id string) *netns {
	t.Helper()
	needRoot(t)
	n := &netns{t: t, name: "sockit-mc-" + id}
	run(t, "ip", "netns", "add", n.name)
	t.Cleanup(func() {
		if out, err := exec.Command(sockittest.Need(t, "ip"), "netns", "del", n.name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v %s", n.name, err, out)
		}
	})
	n.ip("link", "set", "lo", "up")
	return n
}

func randID() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func run(t *testing.T, prog string, args ...string) string {
	t.Helper()
	out, err := exec.Command(sockittest.Need(t, prog), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (n *netns) ip(args ...string) { run(n.t, "ip", append([]string{"-n", n.name}, args...)...) }

// sockit starts the sockit binary inside the namespace.
func (n *netns) sockit(args ...string) *sockittest.Proc {
	n.t.Helper()
	cmd := exec.Command(sockittest.Need(n.t, "ip"), append([]string{"netns", "exec", n.name, sockittest.Binary(n.t)}, args...)...)
	return sockittest.StartCmd(n.t, cmd)
}

// newVethPair makes two namespaces joined by a veth pair with a /29
// between them: A has .1, B has .2.
func newVethPair(t *testing.T) (a, b *netns, vethA, vethB, addrA, addrB, bcast string) {
	t.Helper()
	id := randID()
	a, b = newNetns(t, id+"a"), newNetns(t, id+"b")
	vethA, vethB = "skm"+id+"a", "skm"+id+"b"
	x, _ := rand.Int(rand.Reader, big.NewInt(100))
	y, _ := rand.Int(rand.Reader, big.NewInt(32))
	pfx := fmt.Sprintf("10.%d.%d.", 100+x.Int64(), y.Int64()*8)
	addrA, addrB, bcast = pfx+"1", pfx+"2", pfx+"7"
	run(t, "ip", "link", "add", vethA, "netns", a.name, "type", "veth", "peer", "name", vethB, "netns", b.name)
	a.ip("addr", "add", addrA+"/29", "broadcast", bcast, "dev", vethA)
	b.ip("addr", "add", addrB+"/29", "broadcast", bcast, "dev", vethB)
	// IPv6 too, with addresses that need no duplicate detection first.
	a.ip("-6", "addr", "add", "fd00:5c:"+id[:4]+"::1/64", "dev", vethA, "nodad")
	b.ip("-6", "addr", "add", "fd00:5c:"+id[:4]+"::2/64", "dev", vethB, "nodad")
	a.ip("link", "set", vethA, "up")
	b.ip("link", "set", vethB, "up")
	return
}

// received waits until the receiver's --json output shows every one of
// want as a data event, and fails if it does not within the patience.
func received(t *testing.T, name string, p *sockittest.Proc, want []string) {
	t.Helper()
	missing := len(want)
	arrived := sockittest.Until(func() bool {
		got := map[string]bool{}
		for _, line := range strings.Split(p.Stdout(), "\n") {
			var e struct {
				Event, Dir, Text string
			}
			if json.Unmarshal([]byte(line), &e) == nil && e.Event == "data" && e.Dir == "in" {
				got[e.Text] = true
			}
		}
		missing = 0
		for _, w := range want {
			if !got[w] {
				missing++
			}
		}
		if missing == 0 {
			return true
		}
		select {
		case <-p.Done():
			t.Fatalf("%s exited; stderr:\n%s", name, p.Stderr())
		default:
		}
		return false
	})
	if !arrived {
		t.Fatalf("%s: %d of %d datagrams never arrived; stdout:\n%s\nstderr:\n%s", name, missing, len(want), p.Stdout(), p.Stderr())
	}
}

func datagrams(n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, "datagram "+strconv.Itoa(i))
	}
	return out
}

// TestMulticastVeth: one sender in one namespace, three receivers of the
// group in another, across a veth pair: every datagram at every receiver,
// the three sharing the group's port on purpose.
func TestMulticastVeth(t *testing.T) {
	t.Parallel()
	a, b, vethA, vethB, addrA, _, _ := newVethPair(t)
	const group = "239.1.2.3"
	port := "5000"
	var rx []*sockittest.Proc
	for i := 0; i < 3; i++ {
		p := b.sockit("listen", "udp://"+group+":"+port, "--iface", vethB, "--json")
		p.Addr()
		rx = append(rx, p)
	}
	// A source-specific receiver, joined for the sender's address.
	ssm := b.sockit("listen", "udp://"+group+":"+port, "--iface", vethB, "--join-source", addrA, "--json")
	ssm.Addr()

	a.sockitRun(t, "send", "udp://"+group+":"+port, "datagram {{seq}}", "--template", "--count", "20", "--interval", "10ms",
		"--iface", vethA, "--ttl", "1", "--wait", "0")
	for i, p := range append(rx, ssm) {
		received(t, fmt.Sprintf("receiver %d", i+1), p, datagrams(20))
	}

	// IPv6 (IPV6_JOIN_GROUP): the same, to ff15::5c:1.
	const group6 = "[ff15::5c:1]:5002"
	var rx6 []*sockittest.Proc
	for i := 0; i < 3; i++ {
		p := b.sockit("listen", "udp://"+group6, "--iface", vethB, "--json")
		p.Addr()
		rx6 = append(rx6, p)
	}
	a.sockitRun(t, "send", "udp://"+group6, "datagram {{seq}}", "--template", "--count", "20", "--interval", "10ms",
		"--iface", vethA, "--ttl", "1", "--wait", "0")
	for i, p := range rx6 {
		received(t, fmt.Sprintf("IPv6 receiver %d", i+1), p, datagrams(20))
	}

	// Another group on the same port: its datagrams reach its receiver
	// and not the first group's, though every group receiver's socket is
	// bound to the wildcard address (IP_MULTICAST_ALL is off).
	other := b.sockit("listen", "udp://239.1.2.4:"+port, "--iface", vethB, "--json")
	other.Addr()
	a.sockitRun(t, "send", "udp://239.1.2.4:"+port, "other {{seq}}", "--template", "--count", "5", "--interval", "10ms",
		"--iface", vethA, "--ttl", "1", "--wait", "0")
	received(t, "the other group's receiver", other, []string{"other 1", "other 2", "other 3", "other 4", "other 5"})
	for i, p := range rx {
		if strings.Contains(p.Stdout(), "other ") {
			t.Errorf("receiver %d of %s got datagrams sent to 239.1.2.4", i+1, group)
		}
	}
}

// sockitRun runs sockit to completion inside the namespace.
func (n *netns) sockitRun(t *testing.T, args ...string) (string, string) {
	t.Helper()
	p := n.sockit(args...)
	if code := p.Wait(60 * time.Second); code != 0 {
		t.Fatalf("sockit %s: exit %d; stderr:\n%s", strings.Join(args, " "), code, p.Stderr())
	}
	return p.Stdout(), p.Stderr()
}

// TestMulticastLoopback: sender and three receivers in one namespace on
// its loopback interface with multicast turned on.
func TestMulticastLoopback(t *testing.T) {
	t.Parallel()
	n := newNetns(t, randID())
	n.ip("link", "set", "lo", "multicast", "on")
	n.ip("route", "add", "224.0.0.0/4", "dev", "lo")
	const ep = "udp://239.9.9.9:6000"
	var rx []*sockittest.Proc
	for i := 0; i < 3; i++ {
		p := n.sockit("listen", ep, "--iface", "lo", "--json")
		p.Addr()
		rx = append(rx, p)
	}
	n.sockitRun(t, "send", ep, "datagram {{seq}}", "--template", "--count", "10", "--interval", "10ms", "--iface", "127.0.0.1", "--wait", "0")
	for i, p := range rx {
		received(t, fmt.Sprintf("receiver %d", i+1), p, datagrams(10))
	}
}

// TestBroadcast: a datagram to the subnet's broadcast address needs
// --broadcast (SO_BROADCAST); with it, a receiver on the other side gets it.
func TestBroadcast(t *testing.T) {
	t.Parallel()
	a, b, _, _, _, _, bcast := newVethPair(t)
	rx := b.sockit("listen", "udp://0.0.0.0:7000", "--json")
	rx.Addr()

	p := a.sockit("send", "udp://"+bcast+":7000", "no flag", "--wait", "0")
	// The message names no flag (the web UI shows it too); the second
	// line names the one to give.
	code := p.Wait(60 * time.Second)
	msg, hint, _ := strings.Cut(strings.TrimSpace(p.Stderr()), "\n")
	if code != exitcode.Unreachable || !strings.HasSuffix(msg, "(sending to a broadcast address must be allowed first: SO_BROADCAST)") ||
		strings.Contains(msg, "--") || hint != "Note that --broadcast allows sending to broadcast addresses." {
		t.Errorf("broadcast without --broadcast: exit %d; stderr:\n%s", code, p.Stderr())
	}
	a.sockitRun(t, "send", "udp://"+bcast+":7000", "datagram {{seq}}", "--template", "--count", "5", "--interval", "10ms", "--broadcast", "--wait", "0")
	received(t, "broadcast receiver", rx, datagrams(5))
}

// TestMulticastJoinErrors: a join without a usable interface, and a bad
// --iface, say what to try.
func TestMulticastJoinErrors(t *testing.T) {
	t.Parallel()
	n := newNetns(t, randID()) // no multicast route, no --iface
	p := n.sockit("listen", "udp://239.1.1.1:5001")
	if code := p.Wait(60 * time.Second); code == 0 || !strings.Contains(p.Stderr(), "--iface") {
		t.Errorf("join with no route for multicast: exit %d; stderr:\n%s", code, p.Stderr())
	}
	_, errOut, code := sockittest.Run(t, nil, 30*time.Second, "listen", "udp://239.1.1.1:5001", "--iface", "nosuchif0")
	if code != exitcode.Usage || !strings.Contains(errOut, "interfaces here are") {
		t.Errorf("bad --iface: exit %d; stderr:\n%s", code, errOut)
	}
}

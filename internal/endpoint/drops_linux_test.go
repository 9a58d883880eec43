package endpoint

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// floodUnread floods pc, which does not read and has a receive buffer
// of a few KiB, with sent datagrams from a sender on loopback. Loopback
// delivers as the sender writes: when floodUnread returns, each datagram
// is either in pc's receive queue or counted as dropped.
func floodUnread(t *testing.T, pc *net.UDPConn, sent int) {
	t.Helper()
	c, err := net.DialUDP(pc.LocalAddr().Network(), nil, pc.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := make([]byte, 512)
	for i := 0; i < sent; i++ {
		if _, err := c.Write(p); err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
	}
}

// drain reads what is queued on pc without waiting, and says how many
// datagrams that was.
func drain(t *testing.T, pc *net.UDPConn) int {
	t.Helper()
	rc, err := pc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	var rerr error
	buf := make([]byte, 1024)
	err = rc.Read(func(fd uintptr) bool {
		for {
			_, _, err := unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
			if err == unix.EAGAIN {
				return true
			}
			if err != nil {
				rerr = err
				return true
			}
			n++
		}
	})
	if err != nil || rerr != nil {
		t.Fatalf("draining: %v %v", err, rerr)
	}
	return n
}

// listenSmall is a UDP socket on the loopback address of network with a
// receive buffer of 4 KiB (the kernel doubles it and keeps a minimum).
func listenSmall(t *testing.T, network string) *net.UDPConn {
	t.Helper()
	ip := net.IPv4(127, 0, 0, 1)
	if network == "udp6" {
		ip = net.IPv6loopback
	}
	pc, err := net.ListenUDP(network, &net.UDPAddr{IP: ip})
	if err != nil {
		t.Skipf("no %s loopback: %v", network, err)
	}
	t.Cleanup(func() { pc.Close() })
	if err := pc.SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	return pc
}

// procWitness is the drops of pc as /proc/net/udp (or udp6) lists them,
// found by pc's local port, not by its inode as Drops' fallback does.
func procWitness(t *testing.T, pc *net.UDPConn) uint64 {
	t.Helper()
	file := "/proc/net/udp"
	if pc.LocalAddr().(*net.UDPAddr).IP.To4() == nil {
		file = "/proc/net/udp6"
	}
	f, err := os.Open(file)
	if err != nil {
		t.Skipf("no witness: %v", err)
	}
	defer f.Close()
	port := fmt.Sprintf(":%04X", pc.LocalAddr().(*net.UDPAddr).Port)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 13 && strings.HasSuffix(fs[1], port) {
			n, err := strconv.ParseUint(fs[12], 10, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", file, sc.Text(), err)
			}
			return n
		}
	}
	t.Fatalf("%s does not list port %s", file, port)
	return 0
}

// pythonWitness is the drops of pc as Python's socket module reads them
// (getsockopt SO_MEMINFO, the ninth of its nine counters) on a copy of
// pc's descriptor.
func pythonWitness(t *testing.T, pc *net.UDPConn) uint64 {
	t.Helper()
	f, err := pc.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("/usr/bin/python3", "-c", `import socket, struct
s = socket.socket(fileno=3)
print(struct.unpack("9I", s.getsockopt(socket.SOL_SOCKET, 55, 36))[8])
s.detach()`)
	cmd.ExtraFiles = []*os.File{f}
	out, err := cmd.CombinedOutput()
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		t.Skipf("no python3: %v", err)
	}
	if err != nil {
		t.Fatalf("python3: %v: %s", err, out)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatalf("python3 said %q: %v", out, err)
	}
	return n
}

// checkDrops floods a fresh socket of network and checks that Drops
// says what the kernel counted, by its witnesses and by what arrived.
func checkDrops(t *testing.T, network string) {
	pc := listenSmall(t, network)
	if n, ok := Drops(pc); !ok || n != 0 {
		t.Fatalf("a new socket: %d drops, ok %v", n, ok)
	}
	const sent = 400
	floodUnread(t, pc, sent)
	drops, ok := Drops(pc)
	if !ok || drops == 0 {
		t.Fatalf("%d drops after %d datagrams into a 4 KiB buffer, ok %v", drops, sent, ok)
	}
	if w := procWitness(t, pc); w != drops {
		t.Errorf("Drops says %d, /proc says %d", drops, w)
	}
	if w := pythonWitness(t, pc); w != drops {
		t.Errorf("Drops says %d, Python's getsockopt says %d", drops, w)
	}
	if got := drain(t, pc); uint64(got)+drops != sent {
		t.Errorf("received %d + dropped %d != sent %d", got, drops, sent)
	}
	// Reading does not change the count; more overflow adds to it.
	floodUnread(t, pc, sent)
	more, ok := Drops(pc)
	if !ok || more <= drops || more != procWitness(t, pc) {
		t.Errorf("after a second flood: %d drops (ok %v), was %d, /proc says %d", more, ok, drops, procWitness(t, pc))
	}
}

// TestDrops: Drops (SO_MEMINFO) counts what the kernel dropped for an
// IPv4 and an IPv6 UDP socket, the same number /proc/net/udp{,6} and
// Python's getsockopt give, and exactly what did not arrive.
func TestDrops(t *testing.T) {
	for _, network := range []string{"udp4", "udp6"} {
		t.Run(network, func(t *testing.T) { checkDrops(t, network) })
	}
}

// TestDropsWithoutMeminfo: where the kernel knows no SO_MEMINFO (asked
// here for an option number no kernel has, which it refuses as it
// refuses SO_MEMINFO before 4.12), Drops reads /proc and gives the same.
func TestDropsWithoutMeminfo(t *testing.T) {
	soMeminfo = 0x7fff
	defer func() { soMeminfo = unix.SO_MEMINFO }()
	pc := listenSmall(t, "udp4")
	rc, _ := pc.SyscallConn()
	var old bool
	var err error
	rc.Control(func(fd uintptr) { _, _, old, err = meminfoDrops(int(fd)) })
	if err != nil || !old {
		t.Fatalf("option %#x: old %v, %v; want the kernel to refuse it (ENOPROTOOPT)", soMeminfo, old, err)
	}
	for _, network := range []string{"udp4", "udp6"} {
		t.Run(network, func(t *testing.T) { checkDrops(t, network) })
	}
}

// TestDropsNotUDP: a Unix datagram socket and a closed UDP socket have
// no drops Drops can know.
func TestDropsNotUDP(t *testing.T) {
	dir := t.TempDir()
	uc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: dir + "/s", Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	if n, ok := Drops(uc); ok {
		t.Errorf("a unixgram socket: %d drops, ok", n)
	}
	pc := listenSmall(t, "udp4")
	pc.Close()
	if n, ok := Drops(pc); ok {
		t.Errorf("a closed UDP socket: %d drops, ok", n)
	}
}

// TestDropsWhileSocketsChurn: Drops finds its socket every time while
// other UDP sockets open and close. The /proc scan it used before could
// not: the kernel writes the table a page at a time and finds where the
// next page starts by counting sockets, so a socket closed before ours
// between two pages moved ours into the page already read.
func TestDropsWhileSocketsChurn(t *testing.T) {
	// Sockets around ours, so that the table spans pages.
	var others []*net.UDPConn
	defer func() {
		for _, o := range others {
			o.Close()
		}
	}()
	open := func() *net.UDPConn {
		o, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	for i := 0; i < 150; i++ {
		others = append(others, open())
	}
	pc := listenSmall(t, "udp4")
	for i := 0; i < 150; i++ {
		others = append(others, open())
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // bounded: at most 200000 sockets, opened and closed in batches, and it stops with the test
		defer wg.Done()
		var batch []*net.UDPConn
		for i := 0; i < 200000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if o, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err == nil {
				batch = append(batch, o)
			}
			if len(batch) == 40 || i%97 == 0 {
				for _, o := range batch {
					o.Close()
				}
				batch = batch[:0]
			}
		}
		for _, o := range batch {
			o.Close()
		}
	}()
	const calls = 3000
	missed := 0
	for i := 0; i < calls; i++ {
		if _, ok := Drops(pc); !ok {
			missed++
		}
	}
	close(stop)
	wg.Wait()
	if missed > 0 {
		t.Errorf("Drops missed the socket %d times in %d calls while others came and went", missed, calls)
	}
}

// BenchmarkDrops is the cost of one Drops call on a UDP socket among
// 50 (the /proc fallback reads them all), by SO_MEMINFO and by /proc.
func BenchmarkDrops(b *testing.B) {
	for _, path := range []string{"meminfo", "proc"} {
		b.Run(path, func(b *testing.B) {
			if path == "proc" {
				soMeminfo = 0x7fff
				defer func() { soMeminfo = unix.SO_MEMINFO }()
			}
			var others []*net.UDPConn
			for i := 0; i < 50; i++ {
				o, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
				if err != nil {
					b.Fatal(err)
				}
				others = append(others, o)
			}
			defer func() {
				for _, o := range others {
					o.Close()
				}
			}()
			pc := others[25]
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, ok := Drops(pc); !ok {
					b.Fatal("not found")
				}
			}
		})
	}
}

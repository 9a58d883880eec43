package server

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/optfile"
	"github.com/sockit/sockit/internal/session"
	"github.com/sockit/sockit/internal/sockittest"
)

func TestACL(t *testing.T) {
	file := filepath.Join(t.TempDir(), "acl")
	os.WriteFile(file, []byte("# lab\n192.168.7.0/24\n\n2001:db8::/32 # docs\n"), 0o644)
	acl, err := ParseACL(OptAllow, "10.0.0.0/8, ::1,127.0.0.5,::ffff:172.16.0.0/108,@"+file)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"10.1.2.3", true},
		{"11.0.0.1", false},
		{"::1", true},
		{"::2", false},
		{"127.0.0.5", true},
		{"127.0.0.6", false},
		{"::ffff:10.9.9.9", true},    // IPv4-mapped matches the IPv4 rule
		{"::ffff:127.0.0.5", true},   // a dual-stack listener cannot slip past
		{"::ffff:11.0.0.1", false},   //
		{"172.16.200.1", true},       // the mapped prefix rule is an IPv4 rule
		{"192.168.7.200", true},      // from the file
		{"2001:db8:1::5", true},      //
		{"fe80::1%eth0", false},      //
		{"2001:db9::1", false},       //
		{"::ffff:192.168.7.1", true}, //
	} {
		if got := acl.Contains(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("Contains(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "1.2.3", "@/nonexistent", "::1/129"} {
		_, err := ParseACL(OptDeny, bad)
		if _, ok := sockittest.AsUsage(err); !ok {
			t.Errorf("ParseACL(%q) = %v, want a usage error", bad, err)
		}
	}
	var nilACL *ACL
	if !nilACL.Empty() || nilACL.Contains(netip.MustParseAddr("1.1.1.1")) {
		t.Error("a nil ACL is empty and matches nothing")
	}
}

func TestDenyAndAllowRefuseAtOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, network, allow, deny string
		refused                    bool
		why                        string
	}{
		{"deny v4", "tcp4", "", "127.0.0.0/8", true, "denied by the deny list"},
		{"deny v6", "tcp6", "", "::1", true, "denied by the deny list"},
		{"allow other v4", "tcp4", "10.0.0.0/8", "", true, "not in the allow list"},
		{"allow other v6", "tcp6", "2001:db8::/32", "", true, "not in the allow list"},
		{"allow v4", "tcp4", "127.0.0.1", "", false, ""},
		{"allow v6", "tcp6", "::1/128", "", false, ""},
		{"deny wins", "tcp4", "127.0.0.1", "127.0.0.1", true, "denied by the deny list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ev events
			s := &Server{Handler: Echo, Sink: ev.sink, Conn: session.Options{Sink: ev.sink}}
			if tc.allow != "" {
				s.Allow, _ = ParseACL(OptAllow, tc.allow)
			}
			if tc.deny != "" {
				s.Deny, _ = ParseACL(OptDeny, tc.deny)
			}
			addr := serveTCP(t, s, tc.network)
			if tc.refused {
				local := refusedWithReset(t, addr)
				e := ev.wait(t, "refused", func(e event.Event) bool { return e.Kind == event.Refused })
				if opt, _, _ := strings.Cut(tc.why, " list"); e.Reason != tc.why || !strings.HasSuffix(opt, e.Option) || e.Option == "" || (local != "" && e.Peer != local) {
					t.Errorf("refused event %+v", e)
				}
				return
			}
			c := dial(t, addr)
			c.Write([]byte("hi"))
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			b := make([]byte, 10)
			n, err := c.Read(b)
			if string(b[:n]) != "hi" {
				t.Fatalf("admitted client got %q, %v", b[:n], err)
			}
		})
	}
}

// A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; IPv4 rules
// still apply to them. (Tests listen on loopback only, so this calls the
// admission check with such an address rather than listening on [::].)
func TestAdmitIPv4Mapped(t *testing.T) {
	var ev events
	deny, _ := ParseACL(OptDeny, "127.0.0.1")
	allow, _ := ParseACL(OptAllow, "10.0.0.0/8")
	s := &Server{Sink: ev.sink, Deny: deny}
	mapped := &net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.1"), Port: 5}
	if s.admit(mapped) {
		t.Error("::ffff:127.0.0.1 got past --deny 127.0.0.1")
	}
	s = &Server{Sink: ev.sink, Allow: allow}
	if !s.admit(&net.UDPAddr{IP: net.ParseIP("::ffff:10.1.2.3"), Port: 5}) {
		t.Error("::ffff:10.1.2.3 is in --allow 10.0.0.0/8")
	}
	if s.admit(mapped) {
		t.Error("::ffff:127.0.0.1 is not in --allow 10.0.0.0/8")
	}
	e := ev.wait(t, "refused", func(e event.Event) bool { return e.Kind == event.Refused })
	if e.Reason != "denied by the deny list" || e.Option != "deny" || e.Peer != "127.0.0.1:5" {
		t.Errorf("refused event %+v", e)
	}
}

// The connection beyond --max-conns is closed at once and logged; when a
// slot frees, new clients get in again.
func TestMaxConns(t *testing.T) {
	t.Parallel()
	var ev events
	s := &Server{Handler: Echo, MaxConns: 2, Sink: ev.sink, Conn: session.Options{Sink: ev.sink}}
	addr := serveTCP(t, s, "tcp")
	a, b := dial(t, addr), dial(t, addr)
	for _, c := range []net.Conn{a, b} {
		c.Write([]byte("x"))
		if got := readN(t, c, 1); got != "x" {
			t.Fatal(got)
		}
	}
	local := refusedWithReset(t, addr)
	e := ev.wait(t, "refused", func(e event.Event) bool { return e.Kind == event.Refused })
	if e.Reason != "connection limit (2) reached" || e.Option != "max-conns" || (local != "" && e.Peer != local) {
		t.Errorf("refused event %+v", e)
	}
	a.Close()
	ev.wait(t, "close", func(e event.Event) bool { return e.Kind == event.Close && e.Peer == a.LocalAddr().String() })
	again := dial(t, addr)
	again.Write([]byte("y"))
	if got := readN(t, again, 1); got != "y" {
		t.Fatal(got)
	}
}

// On UDP --max-conns counts peers.
func TestMaxConnsUDP(t *testing.T) {
	t.Parallel()
	var ev events
	s := &Server{Handler: Echo, MaxConns: 1, Sink: ev.sink, Conn: session.Options{IdleTimeout: 10 * time.Second}}
	addr := serveUDP(t, s)
	ua, _ := net.ResolveUDPAddr("udp", addr)
	first, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	second, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer first.Close()
	defer second.Close()
	first.WriteTo([]byte("1"), ua)
	first.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := first.ReadFrom(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	second.WriteTo([]byte("2"), ua)
	e := ev.wait(t, "refused", func(e event.Event) bool { return e.Kind == event.Refused })
	if e.Peer != second.LocalAddr().String() {
		t.Errorf("refused %+v", e)
	}
	second.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, _, err := second.ReadFrom(make([]byte, 10)); err == nil {
		t.Errorf("refused peer got %d bytes", n)
	}
}

// -i: a silent client is closed after the idle timeout and the close says
// why; one that keeps talking stays.
func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	const idle = 500 * time.Millisecond
	var ev events
	s := &Server{Handler: Echo, Sink: ev.sink, Conn: session.Options{IdleTimeout: idle, Sink: ev.sink}}
	addr := serveTCP(t, s, "tcp")
	quiet, busy := dial(t, addr), dial(t, addr)
	start := time.Now()
	// busy exchanges a byte every 50ms until quiet has been closed; a
	// loaded machine may stall this goroutine for longer than the idle
	// timeout, and then busy was idle too: the longest gap between two
	// exchanges says whether busy's close would be a fault.
	quietClose := func() (event.Event, bool) {
		ev.mu.Lock()
		defer ev.mu.Unlock()
		for _, e := range ev.all {
			if e.Kind == event.Close && e.Peer == quiet.LocalAddr().String() {
				return e, true
			}
		}
		return event.Event{}, false
	}
	var gap time.Duration
	last := time.Now()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	hang := time.After(60 * time.Second)
	var e event.Event
	for closed := false; !closed; {
		select {
		case <-tick.C:
		case <-hang:
			t.Fatal("the quiet client was never closed")
		}
		busy.SetDeadline(time.Now().Add(30 * time.Second))
		_, werr := busy.Write([]byte("."))
		_, rerr := io.ReadFull(busy, make([]byte, 1))
		now := time.Now()
		if werr != nil || rerr != nil {
			if stall := now.Sub(last); stall >= idle-100*time.Millisecond {
				t.Skipf("the machine stalled the busy client for %s, past the idle timeout: not judged", stall)
			}
			t.Fatalf("busy client: write %v, read %v", werr, rerr)
		}
		gap = max(gap, now.Sub(last))
		last = now
		e, closed = quietClose()
	}
	if e.Reason != "idle timeout" {
		t.Errorf("close event %+v", e)
	}
	if elapsed := e.Time.Sub(start); elapsed < idle-50*time.Millisecond {
		t.Errorf("closed after %s, want about %s", elapsed, idle)
	}
	if gap >= idle-100*time.Millisecond {
		t.Logf("the busy client was stalled %s by the machine: not judged", gap)
		return
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for _, e := range ev.all {
		if e.Kind == event.Close && e.Peer == busy.LocalAddr().String() {
			t.Errorf("busy client closed (longest pause between its exchanges %s): %+v", gap, e)
		}
	}
}

// Lists fail closed: every form of a list that cannot be read in full is
// a usage error that says where, and a list given empty is a list that
// admits no one, never "no list".
func TestACLFailsClosed(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	long := file("long", "10.0.0.0/8\n# "+strings.Repeat("x", 70<<10)+"\n127.0.0.1\n")
	for _, tc := range []struct {
		name, value string
		want        string // part of the usage error
	}{
		{"directory", "@" + dir, "is a directory"},
		{"missing file", "@" + filepath.Join(dir, "nope"), "no such file"},
		{"no file name", "@", "no file name"},
		{"line too long", "@" + long, "line 2 is longer than 64 KiB"},
		{"bad entry names its line", "@" + file("bad3", "# ok\n10.0.0.1\n10.0.0.300\n"), `"10.0.0.300" (` + dir + "/bad3 line 3)"},
		{"binary", "@" + file("bin", "10.0.0.1\n\x00\x01\x02\n"), "line 2 is not text"},
		{"nested file", "@" + file("nest", "@/etc/hosts\n"), "files cannot include other files"},
		{"bad entry after good", "127.0.0.1,nonsense", `"nonsense"`},
		{"too large", "@" + file("big", strings.Repeat("127.0.0.1\n", (optfile.MaxList/10)+1)), "more than the 4 MiB sockit reads"},
		// Never opened, let alone read for ever: a device and a FIFO that
		// nobody writes (issue 9: an option file is bounded).
		{"device", "@" + specialFile(t, "device", dir), "is a character device, not a regular file"},
		{"fifo", "@" + specialFile(t, "fifo", dir), "is a named pipe (FIFO), not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if why, ok := strings.CutPrefix(tc.value, "@skip:"); ok {
				t.Skip(why)
			}
			for _, flag := range []fail.Option{OptAllow, OptDeny} {
				a, err := ParseACL(flag, tc.value)
				u, ok := sockittest.AsUsage(err)
				if !ok || !strings.Contains(u.Error(), tc.want) || !strings.Contains(u.Error(), "--"+string(flag)) {
					t.Errorf("ParseACL(%s, %.80q) = %v, %v; want a usage error with %q", flag, tc.value, a, err, tc.want)
				}
			}
		})
	}
	for _, empty := range []string{"", ",", " , ", "@" + file("empty", ""), "@" + file("comments", "# nobody yet\n\n   # really\n")} {
		a, err := ParseACL(OptAllow, empty)
		if err != nil || a == nil || !a.Empty() {
			t.Errorf("ParseACL(%q) = %v, %v; want an empty list", empty, a, err)
			continue
		}
		if ok, why := admit(a, nil, netip.MustParseAddr("127.0.0.1")); ok || !strings.Contains(why.why, "empty") || why.opt != OptAllow {
			t.Errorf("an empty --allow (%q) admitted 127.0.0.1 (%q)", empty, why)
		}
	}
	if ok, _ := admit(nil, nil, netip.MustParseAddr("127.0.0.1")); !ok {
		t.Error("no lists at all must admit")
	}
	// A --deny entry after a long comment line is not lost: the whole
	// file is refused instead.
	if _, err := ParseACL(OptDeny, "@"+long); err == nil {
		t.Error("a --deny file with a 70 KiB line was accepted")
	}
	// A file with CRLF line ends and several entries a line.
	a, err := ParseACL(OptDeny, "@"+file("crlf", "10.0.0.0/8, 192.168.0.0/16\r\n::1 # loopback\r\n"))
	if err != nil || a.Len() != 3 || !a.Contains(netip.MustParseAddr("::1")) {
		t.Errorf("CRLF file: %v, %v", a, err)
	}
}

// A server given a list refuses peers it cannot check (no IP address).
func TestAdmitWithoutIPFailsClosed(t *testing.T) {
	var ev events
	deny, _ := ParseACL(OptDeny, "10.0.0.0/8")
	s := &Server{Sink: ev.sink, Deny: deny}
	if s.admit(&net.UnixAddr{Name: "@x", Net: "unix"}) {
		t.Error("a Unix peer got past a --deny list it cannot be checked against")
	}
	s = &Server{Sink: ev.sink}
	if !s.admit(&net.UnixAddr{Name: "@x", Net: "unix"}) {
		t.Error("without lists a Unix peer is admitted")
	}
}

// refusedWithReset connects to addr, writes and reads, and checks that the
// server refused it with a reset, never an orderly close that a client
// could take for a server with nothing to say. It returns the client's
// address ("" when the reset beat connect itself).
func refusedWithReset(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("dial: %v; want a reset or a connection", err)
		}
		return ""
	}
	defer c.Close()
	n, err := c.Write([]byte("hi"))
	if err == nil {
		// The reset's error goes to whichever call meets it first.
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err = c.Read(make([]byte, 10))
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("refused client: read %d bytes, %v; want a reset", n, err)
	}
	return c.LocalAddr().String()
}

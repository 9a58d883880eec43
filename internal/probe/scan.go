package probe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sockit/sockit/internal/fail"
)

// Resolve turns host (an address or a name) into the one address a scan
// probes: the first the resolver gives of family (4 or 6; 0 either).
func Resolve(ctx context.Context, host string, family int) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), nil
	}
	network := "ip"
	switch family {
	case 4:
		network = "ip4"
	case 6:
		network = "ip6"
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, network, host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("scan %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("scan %s: no address", host)
	}
	return addrs[0].Unmap(), nil
}

// Port states, as nmap names them.
const (
	Open         = "open"
	Closed       = "closed"        // TCP refused, or ICMP port unreachable for UDP
	Filtered     = "filtered"      // TCP: no answer within the timeout
	OpenFiltered = "open|filtered" // UDP: no answer at all, which is either
	Failed       = "error"
)

// Scan probes ports of one host.
type Scan struct {
	Host        netip.Addr
	Ports       []int
	UDP         bool
	Concurrency int           // probes at once; default 100
	Timeout     time.Duration // per probe; default 1s
	// Dialer, if set, opens TCP probes (for tests and --source); nil uses
	// a plain net.Dialer.
	Dialer *net.Dialer
}

// PortResult is one port's state.
type PortResult struct {
	Port    int    `json:"port"`
	Proto   string `json:"proto"`
	State   string `json:"state"`
	Service string `json:"service,omitempty"`
	Err     string `json:"error,omitempty"`
}

// Run probes every port and returns the results sorted by port.
func (s *Scan) Run(ctx context.Context) []PortResult {
	conc := s.Concurrency
	if conc <= 0 {
		conc = 100
	}
	if s.Timeout <= 0 {
		s.Timeout = time.Second
	}
	d := s.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	proto := "tcp"
	if s.UDP {
		proto = "udp"
	}
	services := loadServices("/etc/services")
	results := make([]PortResult, len(s.Ports))
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for i, port := range s.Ports {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			addr := netip.AddrPortFrom(s.Host, uint16(port)).String()
			var state string
			var err error
			if s.UDP {
				state, err = s.probeUDP(ctx, addr)
			} else {
				state, err = s.probeTCP(ctx, d, addr)
			}
			r := PortResult{Port: port, Proto: proto, State: state, Service: services[proto+"/"+strconv.Itoa(port)]}
			if err != nil {
				r.Err = err.Error()
			}
			results[i] = r
		}()
	}
	wg.Wait()
	out := results[:0]
	for _, r := range results {
		if r.State != "" { // not skipped by an interrupt
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out
}

func (s *Scan) probeTCP(ctx context.Context, d *net.Dialer, addr string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		c.Close()
		return Open, nil
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Closed, nil
	case IsTimeout(err):
		return Filtered, nil
	}
	return Failed, err
}

// probeUDP sends an empty datagram on a connected socket: a reply means
// open; an ICMP port unreachable comes back as ECONNREFUSED on the
// connected socket, which means closed; silence is open|filtered (a UDP
// service need not answer an empty datagram, and a firewall may drop it).
func (s *Scan) probeUDP(ctx context.Context, addr string) (string, error) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return Failed, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, 1500)
	// Two tries: a first datagram may be lost, or rate-limited ICMP
	// may not come back for it.
	for try := 0; try < 2; try++ {
		if _, err := c.Write(nil); err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				return Closed, nil
			}
			return Failed, err
		}
		c.SetReadDeadline(time.Now().Add(s.Timeout / 2))
		_, err := c.Read(buf)
		switch {
		case err == nil:
			return Open, nil
		case errors.Is(err, syscall.ECONNREFUSED):
			return Closed, nil
		case !IsTimeout(err):
			return Failed, err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return OpenFiltered, nil
}

// ParsePorts reads "22,80,8000-8100,http": single ports, ranges and
// service names, in any order; duplicates are dropped and the result is
// sorted.
func ParsePorts(s string) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	add := func(p int) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if strings.TrimSpace(s) == "" {
		return nil, badPorts(s, "no ports")
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, badPorts(s, "empty item")
		}
		if lo, hi, ok := strings.Cut(item, "-"); ok {
			a, err := port(lo)
			if err != nil {
				return nil, badPorts(s, err.Error())
			}
			b, err := port(hi)
			if err != nil {
				return nil, badPorts(s, err.Error())
			}
			if a > b {
				return nil, badPorts(s, "range "+item+" runs backwards")
			}
			for p := a; p <= b; p++ {
				add(p)
			}
			continue
		}
		p, err := port(item)
		if err != nil {
			if n, lerr := net.LookupPort("tcp", item); lerr == nil && n > 0 {
				add(n)
				continue
			}
			return nil, badPorts(s, err.Error())
		}
		add(p)
	}
	sort.Ints(out)
	return out, nil
}

func port(s string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, errors.New(strconv.Quote(s) + " is not a port number or service name")
	}
	if p < 1 || p > 65535 {
		return 0, errors.New("port " + s + " is out of range (1-65535)")
	}
	return p, nil
}

func badPorts(s, why string) error {
	return fail.Inputf("bad ports %q: %s", s, why).WithHint("Note that PORTS is a list of ports and ranges: 22,80,443 or 8000-8100 or 1-1024,8080")
}

// loadServices reads the services database (/etc/services): "tcp/22" →
// "ssh". A missing file gives no names.
func loadServices(path string) map[string]string {
	m := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		num, proto, ok := strings.Cut(fields[1], "/")
		if !ok {
			continue
		}
		key := proto + "/" + num
		if _, dup := m[key]; !dup {
			m[key] = fields[0]
		}
	}
	return m
}

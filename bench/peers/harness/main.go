// Command harness measures sockit and its peers on loopback, in one run,
// and writes bench/RESULTS.md and bench/results.json. bench/run.sh builds
// and runs it; see there.
//
// Every figure is the median of -runs runs; every process it starts has a
// deadline, and every server listens on 127.0.0.1 only.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var (
	sockit  = flag.String("sockit", "", "sockit binary")
	peers   = flag.String("peers", "", "directory of the peer binaries (gnetecho, goecho, udpecho, naiveclient)")
	out     = flag.String("out", "bench", "directory for RESULTS.md and results.json")
	runs    = flag.Int("runs", 3, "runs per figure (the median is reported)")
	dur     = flag.Duration("d", 5*time.Second, "duration of each timed run")
	pipeGiB = flag.Int("pipe-gib", 4, "GiB piped through client and server")
	idleN   = flag.Int("idle-conns", 10000, "idle connections for the memory figure (0 skips it)")
	only    = flag.String("only", "", "comma-separated targets to run (1-7); empty runs all")
)

// Figure is one measured number.
type Figure struct {
	Target string    `json:"target"`
	Name   string    `json:"name"`
	Unit   string    `json:"unit"`
	Median float64   `json:"median"`
	Runs   []float64 `json:"runs"`
	// The server's CPU (utime+stime from /proc over the measured interval)
	// per operation or per MiB, where the figure has a server process.
	CPUUnit   string    `json:"cpu_unit,omitempty"`
	CPUMedian float64   `json:"cpu_median,omitempty"`
	CPURuns   []float64 `json:"cpu_runs,omitempty"`
}

// Check is one target's verdict.
type Check struct {
	Target string  `json:"target"`
	What   string  `json:"what"`
	Ratio  float64 `json:"ratio"`
	Want   string  `json:"want"`
	Met    bool    `json:"met"`
}

var (
	figures   []*Figure
	checks    []Check
	loadStart string // the load average when the run began
)

func main() {
	flag.Parse()
	if *sockit == "" || *peers == "" {
		fmt.Fprintln(os.Stderr, "harness: -sockit and -peers are required (bench/run.sh sets them)")
		os.Exit(2)
	}
	start := time.Now()
	loadStart = loadavg()
	want := map[string]bool{}
	for _, t := range strings.Split(*only, ",") {
		if t != "" {
			want[t] = true
		}
	}
	run := func(t string, f func()) {
		if len(want) == 0 || want[t] {
			log("== target %s", t)
			f()
		}
	}
	run("1", target1)
	run("2", target2)
	run("3", target3)
	run("4", target4)
	run("5", target5)
	run("6", target6)
	run("7", target7)
	for _, f := range tempFiles {
		os.Remove(f)
	}
	if err := write(time.Since(start)); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(1)
	}
}

func log(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

// measure registers a figure: f runs -runs times, interleaved with the
// other figures registered before the next runPending, so that a burst
// of load from elsewhere on the machine hits every contender alike.
func measure(target, name, unit string, f func() (float64, error)) *Figure {
	return measureCPU(target, name, unit, "", func() (float64, float64, error) {
		v, err := f()
		return v, 0, err
	})
}

// measureCPU is measure for a figure with a server process: f returns the
// figure and the server's CPU per operation (in cpuUnit) of the same run.
func measureCPU(target, name, unit, cpuUnit string, f func() (float64, float64, error)) *Figure {
	fig := &Figure{Target: target, Name: name, Unit: unit, CPUUnit: cpuUnit}
	pending = append(pending, job{fig, f})
	figures = append(figures, fig)
	return fig
}

type job struct {
	fig *Figure
	f   func() (float64, float64, error)
}

var pending []job

// tempFiles are removed at the end.
var tempFiles []string

// runPending runs the registered figures, round-robin, and records the
// medians.
func runPending() {
	for i := 0; i < *runs; i++ {
		for _, j := range pending {
			v, cpu, err := j.f()
			if err != nil {
				log("   %s: run %d failed: %v", j.fig.Name, i+1, err)
				continue
			}
			j.fig.Runs = append(j.fig.Runs, v)
			if j.fig.CPUUnit != "" {
				j.fig.CPURuns = append(j.fig.CPURuns, cpu)
			}
		}
	}
	for _, j := range pending {
		j.fig.Median = median(j.fig.Runs)
		j.fig.CPUMedian = median(j.fig.CPURuns)
		cpu := ""
		if j.fig.CPUUnit != "" {
			cpu = fmt.Sprintf("  server CPU %.3f %s %v", j.fig.CPUMedian, j.fig.CPUUnit, j.fig.CPURuns)
		}
		log("   %-44s %12.1f %s  %v%s", j.fig.Name, j.fig.Median, j.fig.Unit, j.fig.Runs, cpu)
	}
	pending = nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func check(target, what string, num, den float64, want string, atLeast float64, higherBetter bool) {
	r := 0.0
	if den > 0 {
		r = num / den
	}
	met := r >= atLeast
	if !higherBetter {
		met = r > 0 && r <= atLeast
	}
	checks = append(checks, Check{Target: target, What: what, Ratio: r, Want: want, Met: met})
	log("   check %s: %.2fx (want %s) %v", what, r, want, map[bool]string{true: "met", false: "NOT met"}[met])
}

// info records a ratio that has no target, for the table.
func info(target, what string, num, den float64) {
	r := 0.0
	if den > 0 {
		r = num / den
	}
	checks = append(checks, Check{Target: target, What: what, Ratio: r, Want: noTarget})
	log("   %s: %.2fx (no target)", what, r)
}

const noTarget = "no target"

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort(udp bool) int {
	if udp {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// server is a background process killed by stop.
type server struct {
	cmd *exec.Cmd
}

// startServer starts a server and waits until it accepts on port (TCP) or
// a moment for UDP.
func startServer(port int, udp bool, name string, args ...string) (*server, error) {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = nil, nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if udp {
			// Nothing to connect to: wait until the port is bound.
			if c, err := net.ListenPacket("udp", addr(port)); err != nil {
				return s, nil
			} else {
				c.Close()
			}
		} else if tcpListening(port) {
			return s, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.stop()
	return nil, fmt.Errorf("%s did not listen on %d within 10s", name, port)
}

func (s *server) stop() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	s.cmd.Wait()
}

// output runs a command with a deadline and returns its stdout.
func output(timeout time.Duration, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return b, fmt.Errorf("%s: %v: %s", name, err, strings.TrimSpace(stderr.String()))
	}
	return b, nil
}

func runTimeout() time.Duration { return *dur + 60*time.Second }

// benchJSON runs sockit bench and returns its JSON summary.
func benchJSON(args ...string) (map[string]any, error) {
	b, err := output(runTimeout(), *sockit, append([]string{"bench", "--json", "--interval", "0", "-d", dur.String()}, args...)...)
	if err != nil {
		return nil, err
	}
	// NDJSON: the summary is the last line (with --interval 0, the only one).
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		return nil, fmt.Errorf("bench json: %v", err)
	}
	return m, nil
}

func num(m map[string]any, path ...string) float64 {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return 0
		}
		v = mm[p]
	}
	f, _ := v.(float64)
	return f
}

// iperf3 runs an iperf3 client against port and returns receiver bits/s.
func iperf3(port int) (float64, error) {
	bps, _, err := iperf3Bytes(port)
	return bps, err
}

// iperf3Bytes runs an iperf3 client against port and returns receiver
// bits/s and the bytes received.
func iperf3Bytes(port int) (float64, float64, error) {
	secs := strconv.Itoa(int(dur.Seconds()))
	b, err := output(runTimeout(), "iperf3", "-c", "127.0.0.1", "-p", strconv.Itoa(port), "-t", secs, "-J")
	if err != nil {
		return 0, 0, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return 0, 0, err
	}
	if e, ok := m["error"].(string); ok {
		return 0, 0, errors.New(e)
	}
	return num(m, "end", "sum_received", "bits_per_second"), num(m, "end", "sum_received", "bytes"), nil
}

// cpuMiB is the unit of the server CPU of throughput figures.
const cpuMiB = "µs/MiB"

// Target 1: bench --mode tx against listen -k --discard vs iperf3.
func target1() {
	ip := measureCPU("1", "iperf3 single stream", "Gbit/s", cpuMiB, func() (float64, float64, error) {
		p := freePort(false)
		s, err := startServer(p, false, "iperf3", "-s", "-B", "127.0.0.1", "-p", strconv.Itoa(p))
		if err != nil {
			return 0, 0, err
		}
		defer s.stop()
		cpu := startCPU(s.cmd.Process.Pid)
		bps, bytes, err := iperf3Bytes(p)
		if err != nil {
			return 0, 0, err
		}
		c, err := cpu.per(bytes / (1 << 20))
		return bps / 1e9, c, err
	})
	sk := measureCPU("1", "sockit bench tx -> listen -k --discard", "Gbit/s", cpuMiB, func() (float64, float64, error) {
		p := freePort(false)
		s, err := startServer(p, false, *sockit, "listen", "-k", "--discard", addr(p))
		if err != nil {
			return 0, 0, err
		}
		defer s.stop()
		cpu := startCPU(s.cmd.Process.Pid)
		m, err := benchJSON(addr(p))
		if err != nil {
			return 0, 0, err
		}
		c, err := cpu.per(num(m, "bytes") / (1 << 20))
		return num(m, "bits_per_second") / 1e9, c, err
	})
	runPending()
	check("1", "sockit tx/discard vs iperf3", sk.Median, ip.Median, ">= 1.2x", 1.2, true)
	info("1", "server CPU per MiB, sockit listen --discard vs iperf3 -s", sk.CPUMedian, ip.CPUMedian)
}

// Target 2: GiB piped through a client and a server to /dev/null.
func target2() {
	size := int64(*pipeGiB) << 30
	pipe := func(name string, server []string, client []string) *Figure {
		return measureCPU("2", fmt.Sprintf("%d GiB piped: %s", *pipeGiB, name), "MiB/s", cpuMiB, func() (float64, float64, error) {
			p := freePort(false)
			sv := strings.ReplaceAll(strings.Join(server, " "), "PORT", strconv.Itoa(p))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			srv := exec.CommandContext(ctx, "sh", "-c", "exec "+sv+" > /dev/null 2>/dev/null")
			if err := srv.Start(); err != nil {
				return 0, 0, err
			}
			defer srv.Process.Kill()
			if err := waitTCP(p); err != nil {
				return 0, 0, err
			}
			cl := strings.ReplaceAll(strings.Join(client, " "), "PORT", strconv.Itoa(p))
			t0 := time.Now()
			cmd := exec.CommandContext(ctx, "sh", "-c", fmt.Sprintf("head -c %d /dev/zero | %s", size, cl))
			if b, err := cmd.CombinedOutput(); err != nil {
				return 0, 0, fmt.Errorf("%v: %s", err, b)
			}
			if err := srv.Wait(); err != nil {
				return 0, 0, fmt.Errorf("server: %v", err)
			}
			mib := float64(size) / (1 << 20)
			secs := time.Since(t0).Seconds()
			// The server's whole life (sh exec'd it): its rusage.
			st := srv.ProcessState
			cpu := float64(st.UserTime()+st.SystemTime()) / 1e3 / mib
			return mib / secs, cpu, nil
		})
	}
	sk := pipe("sockit connect -> sockit listen", []string{*sockit, "listen", "127.0.0.1:PORT"}, []string{*sockit, "connect", "127.0.0.1:PORT"})
	nc := pipe("nc -N -> nc -l (OpenBSD)", []string{"nc.openbsd", "-l", "127.0.0.1", "PORT"}, []string{"nc.openbsd", "-N", "127.0.0.1", "PORT"})
	pipe("ncat --send-only -> ncat -l", []string{"ncat", "-l", "127.0.0.1", "PORT"}, []string{"ncat", "--send-only", "127.0.0.1", "PORT"})
	pipe("socat -> socat", []string{"socat", "-u", "TCP-LISTEN:PORT,bind=127.0.0.1,reuseaddr", "STDOUT"}, []string{"socat", "-u", "STDIN", "TCP:127.0.0.1:PORT"})
	// The ceiling every contender shares: head writes 4-8 KiB at a time
	// into the pipe, and cat reads it as fast as it can.
	measure("2", fmt.Sprintf("%d GiB: head piped to cat > /dev/null (the pipe's own ceiling)", *pipeGiB), "MiB/s", func() (float64, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		t0 := time.Now()
		if b, err := exec.CommandContext(ctx, "sh", "-c", fmt.Sprintf("head -c %d /dev/zero | cat > /dev/null", size)).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("%v: %s", err, b)
		}
		return float64(size) / (1 << 20) / time.Since(t0).Seconds(), nil
	})
	runPending()
	check("2", "sockit pipe vs nc.openbsd", sk.Median, nc.Median, ">= 1.5x", 1.5, true)
	info("2", "server CPU per MiB, sockit listen vs nc -l", sk.CPUMedian, nc.CPUMedian)
}

func waitTCP(port int) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if tcpListening(port) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("nothing listened on %d within 10s", port)
}

// tcpListening reports whether a socket listens on port, from
// /proc/net/tcp: connecting to find out would be a connection that
// one-client servers (nc -l, iperf3's control channel) take as theirs.
func tcpListening(port int) bool {
	want := fmt.Sprintf(":%04X", port)
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			fs := strings.Fields(line)
			if len(fs) > 3 && strings.HasSuffix(fs[1], want) && fs[3] == "0A" {
				return true
			}
		}
	}
	return false
}

// Target 3: iperf3 through sockit relay vs direct, haproxy and socat.
func target3() {
	via := func(name string, relay func(from, to int) []string) *Figure {
		unit := cpuMiB
		if relay == nil {
			unit = "" // no relay process
		}
		return measureCPU("3", "iperf3 "+name, "Gbit/s", unit, func() (float64, float64, error) {
			p := freePort(false)
			s, err := startServer(p, false, "iperf3", "-s", "-B", "127.0.0.1", "-p", strconv.Itoa(p))
			if err != nil {
				return 0, 0, err
			}
			defer s.stop()
			if relay == nil {
				bps, _, err := iperf3Bytes(p)
				return bps / 1e9, 0, err
			}
			rp := freePort(false)
			args := relay(rp, p)
			r, err := startServer(rp, false, args[0], args[1:]...)
			if err != nil {
				return 0, 0, err
			}
			defer r.stop()
			cpu := startCPU(r.cmd.Process.Pid)
			bps, bytes, err := iperf3Bytes(rp)
			if err != nil {
				return 0, 0, err
			}
			c, err := cpu.per(bytes / (1 << 20))
			return bps / 1e9, c, err
		})
	}
	direct := via("direct", nil)
	sk := via("through sockit relay", func(from, to int) []string {
		return []string{*sockit, "relay", "-q", addr(from), addr(to)}
	})
	ha := via("through haproxy (mode tcp, splice)", func(from, to int) []string {
		return []string{"haproxy", "-db", "-q", "-f", haproxyConfig(from, to)}
	})
	so := via("through socat", func(from, to int) []string {
		return []string{"socat", fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,fork,reuseaddr", from), "TCP:" + addr(to)}
	})
	runPending()
	check("3", "iperf3 via sockit relay vs via haproxy", sk.Median, ha.Median, ">= 1.2x", 1.2, true)
	check("3", "iperf3 via sockit relay vs direct", sk.Median, direct.Median, ">= 0.8x", 0.8, true)
	check("3", "iperf3 via sockit relay vs via socat", sk.Median, so.Median, ">= 2.0x", 2.0, true)
	info("3", "relay CPU per MiB, sockit relay vs haproxy", sk.CPUMedian, ha.CPUMedian)
}

// haproxyConfig writes a haproxy configuration that relays from to to
// as a plain TCP proxy, splicing both ways (the strongest relay in
// Debian), and returns its path.
func haproxyConfig(from, to int) string {
	cfg := fmt.Sprintf(`global
	maxconn 1000
defaults
	mode tcp
	timeout connect 5s
	timeout client 120s
	timeout server 120s
	option splice-request
	option splice-response
listen relay
	bind %s
	server iperf3 %s
`, addr(from), addr(to))
	path := filepath.Join(os.TempDir(), fmt.Sprintf("sockit-bench-haproxy-%d.cfg", from))
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		panic(err)
	}
	tempFiles = append(tempFiles, path)
	return path
}

// Target 4: TCP echo request/response, 64-byte messages.
func target4() {
	servers := []struct {
		name string
		args func(port int) []string
	}{
		{"sockit listen -k --echo", func(p int) []string { return []string{*sockit, "listen", "-k", "--echo", addr(p)} }},
		{"gnet v2 echo", func(p int) []string { return []string{filepath.Join(*peers, "gnetecho"), "-addr", addr(p)} }},
		{"plain Go echo", func(p int) []string { return []string{filepath.Join(*peers, "goecho"), "-addr", addr(p)} }},
	}
	for _, c := range []int{1, 100, 1000} {
		rps := map[string]*Figure{}
		p99 := map[string]*Figure{}
		lats := map[string]*[]float64{}
		for _, sv := range servers {
			lat := new([]float64)
			lats[sv.name] = lat
			rps[sv.name] = measureCPU("4", fmt.Sprintf("rr c=%d %s", c, sv.name), "req/s", "µs/req", func() (float64, float64, error) {
				p := freePort(false)
				args := sv.args(p)
				s, err := startServer(p, false, args[0], args[1:]...)
				if err != nil {
					return 0, 0, err
				}
				defer s.stop()
				cpu := startCPU(s.cmd.Process.Pid)
				m, err := benchJSON("--mode", "rr", "-c", strconv.Itoa(c), "--size", "64", addr(p))
				if err != nil {
					return 0, 0, err
				}
				per, err := cpu.per(num(m, "ops"))
				if err != nil {
					return 0, 0, err
				}
				*lat = append(*lat, num(m, "latency_us", "p99"))
				return num(m, "ops_per_second"), per, nil
			})
		}
		runPending()
		for _, sv := range servers {
			lat := *lats[sv.name]
			f := &Figure{Target: "4", Name: fmt.Sprintf("rr c=%d %s p99", c, sv.name), Unit: "µs", Runs: lat, Median: median(lat)}
			figures = append(figures, f)
			p99[sv.name] = f
			log("   %-44s %12.1f µs", f.Name, f.Median)
		}
		check("4", fmt.Sprintf("rr c=%d server CPU per request sockit vs gnet", c), rps["sockit listen -k --echo"].CPUMedian, rps["gnet v2 echo"].CPUMedian, "<= 0.9x", 0.9, false)
		check("4", fmt.Sprintf("rr c=%d req/s sockit vs gnet", c), rps["sockit listen -k --echo"].Median, rps["gnet v2 echo"].Median, ">= 1.0x", 1.0, true)
		check("4", fmt.Sprintf("rr c=%d p99 sockit vs gnet", c), p99["sockit listen -k --echo"].Median, p99["gnet v2 echo"].Median, "<= 1.1x", 1.1, false)
	}
}

// Target 5: UDP echo with 4 senders: bench sends each window as a
// UDP_SEGMENT train (its default), and, for the per-datagram cost alone,
// one system call per datagram (--no-trains).
func target5() {
	target5With(false)
	target5With(true)
}

func target5With(noTrains bool) {
	var loss []float64
	mode, extra := "trains", []string{}
	if noTrains {
		mode, extra = "one sendmsg per datagram", []string{"--no-trains"}
	}
	udp := func(name string, args func(port int) []string) *Figure {
		return measureCPU("5", "udp echo c=4 depth=16 ("+mode+") "+name, "req/s", "µs/datagram", func() (float64, float64, error) {
			p := freePort(true)
			a := args(p)
			s, err := startServer(p, true, a[0], a[1:]...)
			if err != nil {
				return 0, 0, err
			}
			defer s.stop()
			cpu := startCPU(s.cmd.Process.Pid)
			m, err := benchJSON(append([]string{"--mode", "udp", "-c", "4", "--depth", "16", "--size", "64", "udp://" + addr(p)}, extra...)...)
			if err != nil {
				return 0, 0, err
			}
			per, err := cpu.per(num(m, "ops"))
			if err != nil {
				return 0, 0, err
			}
			if strings.HasPrefix(name, "sockit") {
				loss = append(loss, num(m, "udp", "lost"))
			}
			return num(m, "ops_per_second"), per, nil
		})
	}
	sk := udp("sockit listen -u --echo", func(p int) []string { return []string{*sockit, "listen", "-u", "--echo", addr(p)} })
	gp := udp("plain Go UDP echo", func(p int) []string { return []string{filepath.Join(*peers, "udpecho"), "-addr", addr(p)} })
	runPending()
	figures = append(figures, &Figure{Target: "5", Name: "udp echo (" + mode + ") sockit datagrams lost", Unit: "datagrams", Runs: loss, Median: median(loss)})
	if noTrains {
		check("5", "udp echo ("+mode+") server CPU per datagram sockit vs plain Go", sk.CPUMedian, gp.CPUMedian, "<= 0.7x", 0.7, false)
	} else {
		info("5", "udp echo ("+mode+") server CPU per datagram sockit vs plain Go", sk.CPUMedian, gp.CPUMedian)
	}
	check("5", "udp echo ("+mode+") sockit vs plain Go", sk.Median, gp.Median, ">= 1.5x", 1.5, true)
	lost := 0.0
	for _, l := range loss {
		lost += l
	}
	checks = append(checks, Check{Target: "5", What: "udp echo (" + mode + ") sockit loss", Ratio: lost, Want: "0 lost", Met: lost == 0 && len(loss) > 0})
}

// Target 6: memory per idle connection at -idle-conns connections: the
// RSS and the Pss (smaps_rollup) deltas, both from the same run.
func target6() {
	if *idleN <= 0 {
		return
	}
	servers := []struct {
		name string
		args func(port int) []string
	}{
		{"sockit listen -k --echo", func(p int) []string { return []string{*sockit, "listen", "-k", "--echo", addr(p)} }},
		{"gnet v2 echo", func(p int) []string { return []string{filepath.Join(*peers, "gnetecho"), "-addr", addr(p)} }},
		{"plain Go echo", func(p int) []string { return []string{filepath.Join(*peers, "goecho"), "-addr", addr(p)} }},
	}
	rss := map[string]*Figure{}
	pss := map[string]*[]float64{}
	for _, sv := range servers {
		ps := new([]float64)
		pss[sv.name] = ps
		rss[sv.name] = measure("6", fmt.Sprintf("RSS per idle conn at %d: %s", *idleN, sv.name), "KiB", func() (float64, error) {
			p := freePort(false)
			a := sv.args(p)
			s, err := startServer(p, false, a[0], a[1:]...)
			if err != nil {
				return 0, err
			}
			defer s.stop()
			pid := s.cmd.Process.Pid
			rss0, err := rssKiB(pid)
			if err != nil {
				return 0, err
			}
			pss0, err := pssKiB(pid)
			if err != nil {
				return 0, err
			}
			conns, err := holdConns(p, *idleN)
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			if err != nil {
				return 0, err
			}
			// Let the server take every connection (accept, buffers).
			time.Sleep(2 * time.Second)
			rss1, err := rssKiB(pid)
			if err != nil {
				return 0, err
			}
			pss1, err := pssKiB(pid)
			if err != nil {
				return 0, err
			}
			*ps = append(*ps, (pss1-pss0)/float64(*idleN))
			return (rss1 - rss0) / float64(*idleN), nil
		})
	}
	runPending()
	pssFig := map[string]*Figure{}
	for _, sv := range servers {
		v := *pss[sv.name]
		f := &Figure{Target: "6", Name: fmt.Sprintf("Pss per idle conn at %d: %s", *idleN, sv.name), Unit: "KiB", Runs: v, Median: median(v)}
		figures = append(figures, f)
		pssFig[sv.name] = f
		log("   %-44s %12.2f KiB  %v", f.Name, f.Median, f.Runs)
	}
	const sk = "sockit listen -k --echo"
	for _, m := range []struct {
		what string
		v    float64
	}{{"Pss", pssFig[sk].Median}, {"RSS", rss[sk].Median}} {
		checks = append(checks, Check{Target: "6", What: fmt.Sprintf("%s per idle connection (sockit) at %d", m.what, *idleN), Ratio: m.v, Want: "<= 2 KiB", Met: m.v > 0 && m.v <= 2})
	}
	info("6", "Pss per idle connection sockit vs gnet", pssFig[sk].Median, pssFig["gnet v2 echo"].Median)
	info("6", "Pss per idle connection sockit vs plain Go", pssFig[sk].Median, pssFig["plain Go echo"].Median)
}

// holdConns opens n connections and sends one byte on each (so that an
// echo server has read from every one).
func holdConns(port, n int) ([]net.Conn, error) {
	var conns []net.Conn
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", addr(port), 5*time.Second)
		if err != nil {
			return conns, fmt.Errorf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	buf := make([]byte, 1)
	for _, c := range conns {
		c.Write([]byte{'x'})
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		c.Read(buf)
	}
	return conns, nil
}

var rssRE = regexp.MustCompile(`VmRSS:\s+(\d+) kB`)

func rssKiB(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := rssRE.FindStringSubmatch(sc.Text()); m != nil {
			v, _ := strconv.ParseFloat(m[1], 64)
			return v, nil
		}
	}
	return 0, errors.New("no VmRSS")
}

var pssRE = regexp.MustCompile(`(?m)^Pss:\s+(\d+) kB`)

// pssKiB is the process's proportional set size, from smaps_rollup:
// pages shared with other processes (the binary's text) count by share.
func pssKiB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, err
	}
	m := pssRE.FindSubmatch(b)
	if m == nil {
		return 0, errors.New("no Pss in smaps_rollup")
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// cpuTime is the CPU time a process and its reaped children have used:
// utime+stime+cutime+cstime of /proc/PID/stat, in ticks of 1/100 s
// (USER_HZ, 100 on Linux).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("bad /proc/PID/stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return 0, errors.New("short /proc/PID/stat")
	}
	var ticks int64
	for _, k := range []int{11, 12, 13, 14} { // fields 14-17, counted from the pid
		v, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += v
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// hasChildren reports whether pid has child processes, reaped or not.
func hasChildren(pid int) bool {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		if b, _ := os.ReadFile(t); len(strings.TrimSpace(string(b))) > 0 {
			return true
		}
	}
	return false
}

// cpuMeter measures a server's CPU over an interval.
type cpuMeter struct {
	pid int
	t0  time.Duration
	err error
}

func startCPU(pid int) *cpuMeter {
	t0, err := cpuTime(pid)
	return &cpuMeter{pid: pid, t0: t0, err: err}
}

// per returns the CPU used since startCPU, in microseconds, per unit of
// n (operations, or MiB).
func (m *cpuMeter) per(n float64) (float64, error) {
	if m.err != nil {
		return 0, m.err
	}
	// A forking server (socat) has its children's time added to its
	// cutime and cstime only when it reaps them: wait (up to 2 s) until
	// the connections' children are gone.
	for end := time.Now().Add(2 * time.Second); hasChildren(m.pid) && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	t1, err := cpuTime(m.pid)
	if err != nil {
		return 0, err
	}
	if n <= 0 {
		return 0, errors.New("no operations to divide the CPU time by")
	}
	return float64(t1-m.t0) / 1e3 / n, nil
}

// Target 7: sockit bench vs a naive Go client, against gnet, at 1, 100
// and 1000 connections.
func target7() {
	start := func() (*server, int, error) {
		p := freePort(false)
		s, err := startServer(p, false, filepath.Join(*peers, "gnetecho"), "-addr", addr(p))
		return s, p, err
	}
	for _, c := range []int{1, 100, 1000} {
		conns := strconv.Itoa(c)
		sk := measure("7", "load generator sockit bench rr c="+conns+" -> gnet", "req/s", func() (float64, error) {
			s, p, err := start()
			if err != nil {
				return 0, err
			}
			defer s.stop()
			m, err := benchJSON("--mode", "rr", "-c", conns, "--size", "64", addr(p))
			return num(m, "ops_per_second"), err
		})
		nv := measure("7", "load generator naive Go client c="+conns+" -> gnet", "req/s", func() (float64, error) {
			s, p, err := start()
			if err != nil {
				return 0, err
			}
			defer s.stop()
			b, err := output(runTimeout(), filepath.Join(*peers, "naiveclient"), "-addr", addr(p), "-c", conns, "-d", dur.String())
			if err != nil {
				return 0, err
			}
			return strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
		})
		runPending()
		check("7", "sockit bench vs naive client, c="+conns, sk.Median, nv.Median, ">= 1.2x", 1.2, true)
	}
}

func write(elapsed time.Duration) error {
	machine := map[string]string{
		"date":          time.Now().UTC().Format("2006-01-02 15:04 MST"),
		"nproc":         strconv.Itoa(runtime.NumCPU()),
		"cpu":           cpuModel(),
		"kernel":        kernel(),
		"go":            runtime.Version(),
		"load":          loadavg(),
		"load_at_start": loadStart,
		"runs":          strconv.Itoa(*runs),
		"seconds":       dur.String(),
	}
	res := map[string]any{"machine": machine, "figures": figures, "checks": checks, "elapsed_seconds": elapsed.Seconds()}
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(filepath.Join(*out, "results.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# sockit benchmark results\n\n")
	fmt.Fprintf(&md, "Written by `bench/run.sh` on %s. Machine: %s cores (`nproc`), %s, Linux %s, %s; load average at the start %s, at the end %s (above 2, other work shared the 2 cores: absolute figures are low, compare the ratios).\n", machine["date"], machine["nproc"], machine["cpu"], machine["kernel"], machine["go"], machine["load_at_start"], machine["load"])
	fmt.Fprintf(&md, "Each figure is the median of %d runs of %s (the 4 GiB pipe: %d GiB per run), all on loopback, sockit and its peers in the same run; `sockit bench` is the load generator for every server. Ratios compare medians from this run only; the contenders' runs are interleaved. bench/NOTES.md says what the data path does and what bounds the targets not met.\n\n", *runs, dur, *pipeGiB)
	fmt.Fprintf(&md, "## Targets\n\n| # | comparison | ratio | target | met |\n| --- | --- | --- | --- | --- |\n")
	for _, c := range checks {
		ratio := fmt.Sprintf("%.2fx", c.Ratio)
		if strings.Contains(c.What, "loss") {
			ratio = fmt.Sprintf("%.0f lost", c.Ratio)
		} else if c.Target == "6" && c.Want != noTarget {
			ratio = fmt.Sprintf("%.2f KiB", c.Ratio)
		}
		met := map[bool]string{true: "yes", false: "**no**"}[c.Met]
		if c.Want == noTarget {
			met = "—"
		}
		fmt.Fprintf(&md, "| %s | %s | %s | %s | %s |\n", c.Target, c.What, ratio, c.Want, met)
	}
	fmt.Fprintf(&md, "\n## Figures\n\nServer CPU is the server process's utime+stime (from /proc/PID/stat, its reaped children's included; for the pipe, its rusage) over the measured interval, divided by the operations the load generator counted or by the MiB moved; its runs are listed in the same order as the figure's.\n\n")
	fmt.Fprintf(&md, "| # | measurement | median | unit | server CPU | CPU unit | runs | CPU runs |\n| --- | --- | ---: | --- | ---: | --- | --- | --- |\n")
	for _, f := range figures {
		cpu, cpuUnit := "", ""
		if f.CPUUnit != "" {
			cpu, cpuUnit = strconv.FormatFloat(f.CPUMedian, 'f', cpuDigits(f.CPUMedian), 64), f.CPUUnit
		}
		digits := 1
		if f.Unit == "KiB" {
			digits = 2
		}
		fmt.Fprintf(&md, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", f.Target, f.Name, strconv.FormatFloat(f.Median, 'f', digits, 64), f.Unit, cpu, cpuUnit, list(f.Runs, digits), list(f.CPURuns, cpuDigits(f.CPUMedian)))
	}
	return os.WriteFile(filepath.Join(*out, "RESULTS.md"), []byte(md.String()), 0o644)
}

func list(v []float64, digits int) string {
	var rs []string
	for _, r := range v {
		rs = append(rs, strconv.FormatFloat(r, 'f', digits, 64))
	}
	return strings.Join(rs, ", ")
}

// cpuDigits shows a CPU figure to about three significant digits.
func cpuDigits(v float64) int {
	switch {
	case v >= 100:
		return 0
	case v >= 10:
		return 1
	case v >= 1:
		return 2
	}
	return 3
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "model name") {
			if _, v, ok := strings.Cut(line, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return "unknown CPU"
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

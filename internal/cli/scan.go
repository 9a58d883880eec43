package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/probe"
)

type scanFlags struct {
	udp, all, json bool
	ipv4, ipv6     bool
	concurrency    int
	timeout        time.Duration
}

func newScan(st *stdio) *cobra.Command {
	var f scanFlags
	cmd := &cobra.Command{
		Use:   "scan HOST PORTS",
		Short: "Find the open ports of a host: TCP connect scan, or UDP with -u",
		Long: `Probe PORTS (22,80,443 or 8000-8100 or 1-1024,8080) on HOST, many at once,
and list the ports that answer, sorted, with their service names from
/etc/services.

TCP: a port is open when a connection completes, closed when it is refused,
filtered when nothing answers within --timeout. UDP (-u): open when a reply
comes back, closed when an ICMP port unreachable does, open|filtered when
nothing does (a UDP service need not answer an empty datagram).

Scan only hosts you are allowed to scan.`,
		Example: `  sockit scan 127.0.0.1 1-1024
  sockit scan 127.0.0.1 22,80,443,8000-8100 --all
  sockit scan -u 127.0.0.1 53,123,161
  sockit scan --json ::1 1-65535 | jq '.ports[].port'`,
		Args: exactArgs(2, "a host and a list of ports: sockit scan 127.0.0.1 22,80,8000-8100"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScan(cmd.Context(), st, &f, args[0], args[1])
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&f.udp, "udp", "u", false, "UDP probes instead of TCP connects")
	fs.BoolVarP(&f.all, "all", "a", false, "list every port, not only the open ones")
	fs.BoolVar(&f.json, "json", false, "print the results as JSON on stdout")
	fs.BoolVarP(&f.ipv4, "ipv4", "4", false, "IPv4 only")
	fs.BoolVarP(&f.ipv6, "ipv6", "6", false, "IPv6 only")
	f.concurrency, f.timeout = 100, time.Second
	fs.VarP(intFlag{n: &f.concurrency, min: 1, max: 10000}, "concurrency", "C", "probes at once")
	fs.VarP(seconds{d: &f.timeout, min: time.Millisecond}, "timeout", "w", "give up on one port after this long")
	return cmd
}

func runScan(ctx context.Context, st *stdio, f *scanFlags, host, portList string) error {
	if strings.TrimSpace(host) == "" {
		return exitcode.WithHint("Run 'sockit scan --help' for examples.", "scan needs a host, not an empty string")
	}
	ports, err := probe.ParsePorts(portList)
	if err != nil {
		return err
	}
	fam, err := family(f.ipv4, f.ipv6)
	if err != nil {
		return err
	}
	addr, err := probe.Resolve(ctx, host, fam)
	if err != nil {
		return err
	}
	start := time.Now()
	s := &probe.Scan{Host: addr, Ports: ports, UDP: f.udp, Concurrency: f.concurrency, Timeout: f.timeout}
	results := s.Run(ctx)
	elapsed := time.Since(start)

	counts := map[string]int{}
	var shown []probe.PortResult
	for _, r := range results {
		counts[r.State]++
		if f.all || r.State == probe.Open {
			shown = append(shown, r)
		}
	}
	if f.json {
		out := struct {
			Host    string             `json:"host"`
			Address string             `json:"address"`
			Proto   string             `json:"proto"`
			Scanned int                `json:"scanned"`
			Seconds float64            `json:"seconds"`
			Counts  map[string]int     `json:"counts"`
			Ports   []probe.PortResult `json:"ports"`
		}{host, addr.String(), protoName(f.udp), len(results), elapsed.Seconds(), counts, shown}
		if out.Ports == nil {
			out.Ports = []probe.PortResult{}
		}
		enc := json.NewEncoder(st.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		if len(shown) > 0 {
			fmt.Fprintf(st.out, "%-10s %-14s %s\n", "PORT", "STATE", "SERVICE")
		}
		for _, r := range shown {
			state := r.State
			if r.Err != "" {
				state += " (" + r.Err + ")"
			}
			fmt.Fprintf(st.out, "%-10s %-14s %s\n", fmt.Sprintf("%d/%s", r.Port, r.Proto), state, r.Service)
		}
		fmt.Fprintf(st.out, "scanned %d %s port%s on %s (%s) in %.2fs:", len(results), protoName(f.udp), plural(len(results)), host, addr, elapsed.Seconds())
		for _, k := range []string{probe.Open, probe.OpenFiltered, probe.Closed, probe.Filtered, probe.Failed} {
			if counts[k] > 0 {
				fmt.Fprintf(st.out, " %d %s", counts[k], k)
			}
		}
		fmt.Fprintln(st.out)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

func protoName(udp bool) string {
	if udp {
		return "udp"
	}
	return "tcp"
}

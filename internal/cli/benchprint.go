package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/sockit/sockit/internal/bench"
)

// benchPrinter writes interval lines and, on a terminal, a progress line
// on stderr that the interval lines overwrite; with --json, the NDJSON
// interval objects on stdout.
type benchPrinter struct {
	mu       sync.Mutex
	w, errw  io.Writer
	ndjson   *json.Encoder
	mode     string
	progress bool
	shown    bool
	header   bool
	duration time.Duration
}

func (p *benchPrinter) interval(iv bench.Interval) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	if p.ndjson != nil {
		p.ndjson.Encode(iv)
	}
	tcp := iv.TCP != nil
	if !p.header {
		p.header = true
		fmt.Fprintf(p.w, "%-13s  %10s  %14s  %12s", "interval", "transfer", "bitrate", opsName(p.mode))
		if p.mode == bench.Bidir {
			fmt.Fprintf(p.w, "  %10s  %14s", "received", "bitrate")
		}
		if tcp {
			fmt.Fprintf(p.w, "  %5s  %10s  %9s", "retr", "cwnd", "rtt")
		}
		fmt.Fprintln(p.w)
	}
	fmt.Fprintf(p.w, "%6.2f-%-6.2f  %10s  %14s  %12s", iv.Start, iv.End, formatBytes(iv.Bytes), formatBits(iv.Bits), formatRate(iv.OpsRate))
	if p.mode == bench.Bidir {
		fmt.Fprintf(p.w, "  %10s  %14s", formatBytes(iv.RecvBytes), formatBits(iv.RecvBits))
	}
	if tcp {
		fmt.Fprintf(p.w, "  %5d  %10s  %9s", iv.TCP.Retransmits, formatBytes(iv.TCP.CwndBytes), formatUS(iv.TCP.RTTUS))
	}
	if iv.Omitted {
		fmt.Fprint(p.w, "  (omitted)")
	}
	fmt.Fprintln(p.w)
}

func (p *benchPrinter) showProgress(elapsed time.Duration, bytes, ops int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	frac := min(elapsed.Seconds()/p.duration.Seconds(), 1)
	const width = 20
	bar := strings.Repeat("=", int(frac*width)) + strings.Repeat(" ", width-int(frac*width))
	fmt.Fprintf(p.errw, "\r\x1b[K[%s] %4.1fs/%s  %s  %s", bar, elapsed.Seconds(), p.duration, formatBytes(bytes), formatCount(ops))
	p.shown = true
}

func (p *benchPrinter) clearProgress() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
}

func (p *benchPrinter) clearLocked() {
	if p.shown {
		fmt.Fprint(p.errw, "\r\x1b[K")
		p.shown = false
	}
}

func opsName(mode string) string {
	switch mode {
	case bench.RR:
		return "requests/s"
	case bench.Connect:
		return "connects/s"
	case bench.UDP:
		return "datagrams/s"
	}
	return "ops/s"
}

// maxStreamLines bounds the per-connection lines of the text summary.
const maxStreamLines = 16

func printSummary(w io.Writer, r *bench.Result) {
	fmt.Fprintf(w, "- - - - - - - - - - - - - - - - - - - - - - - - -\n")
	fmt.Fprintf(w, "summary      %s, %d connection%s, %d B messages, %.2f s", r.Mode, r.Conns, plural(r.Conns), r.Size, r.Seconds)
	if r.OmitSeconds > 0 {
		fmt.Fprintf(w, " (after %.2f s omitted)", r.OmitSeconds)
	}
	if r.Agents > 0 {
		fmt.Fprintf(w, ", %d agents", r.Agents)
	}
	fmt.Fprintln(w)
	switch r.Mode {
	case bench.TX:
		fmt.Fprintf(w, "sent         %s  %s\n", formatBytes(r.Bytes), formatBits(r.BitsPerSec))
	case bench.RX:
		fmt.Fprintf(w, "received     %s  %s\n", formatBytes(r.Bytes), formatBits(r.BitsPerSec))
	case bench.Bidir:
		fmt.Fprintf(w, "sent         %s  %s\n", formatBytes(r.Bytes), formatBits(r.BitsPerSec))
		fmt.Fprintf(w, "received     %s  %s\n", formatBytes(r.RecvBytes), formatBits(r.RecvBitsPerSec))
	case bench.RR:
		fmt.Fprintf(w, "requests     %d  %s req/s  (%s echoed, %s)\n", r.Ops, formatRate(r.OpsPerSec), formatBytes(r.Bytes), formatBits(r.BitsPerSec))
	case bench.Connect:
		fmt.Fprintf(w, "connections  %d  %s conn/s\n", r.Ops, formatRate(r.OpsPerSec))
	case bench.UDP:
		if u := r.UDP; u != nil {
			fmt.Fprintf(w, "datagrams    sent %d  received %d  lost %d (%.3f%%)  reordered %d  duplicates %d\n", u.Sent, u.Received, u.Lost, u.LossPercent, u.Reordered, u.Duplicates)
			fmt.Fprintf(w, "replies      %s/s  %s  jitter %.1f µs\n", formatRate(r.OpsPerSec), formatBits(r.BitsPerSec), u.JitterUS)
		} else {
			fmt.Fprintf(w, "sent         %d datagrams  %s/s  %s", r.Ops, formatRate(r.OpsPerSec), formatBits(r.BitsPerSec))
			if r.Server != "" {
				fmt.Fprint(w, "  (one way; -b sets the rate, 1 Mbit/s unless given)")
			}
			fmt.Fprintln(w)
		}
	}
	if t := r.TCP; t != nil {
		fmt.Fprintf(w, "tcp          retransmits %d  cwnd %s  rtt %s  rttvar %s", t.Retransmits, formatBytes(t.CwndBytes), formatUS(t.RTTUS), formatUS(t.RTTVarUS))
		if t.MSS > 0 {
			fmt.Fprintf(w, "  mss %d", t.MSS)
		}
		if r.Congestion != "" {
			fmt.Fprintf(w, "  %s", r.Congestion)
		}
		fmt.Fprintln(w)
	}
	if z := r.ZeroCopy; z != nil {
		fmt.Fprintf(w, "zerocopy     %d sends, %d completed, %d of them copied by the kernel after all\n", z.Sends, z.Completed, z.Copied)
	}
	if rc := r.Receiver; rc != nil {
		if u := rc.UDP; u != nil {
			fmt.Fprintf(w, "receiver     received %d of %d  lost %d (%.3f%%)  reordered %d  duplicates %d  jitter %.1f µs\n",
				u.Received, u.Sent, u.Lost, u.LossPercent, u.Reordered, u.Duplicates, u.JitterUS)
		} else {
			var parts []string
			if rc.Bytes > 0 || rc.SentBytes == 0 {
				parts = append(parts, "received "+formatBytes(rc.Bytes)+"  "+formatBits(rc.BitsPerSec))
			}
			if rc.SentBytes > 0 {
				parts = append(parts, "sent "+formatBytes(rc.SentBytes))
			}
			fmt.Fprintf(w, "server       %s in %.2f s\n", strings.Join(parts, ", "), rc.Seconds)
		}
		if t := rc.TCP; t != nil {
			fmt.Fprintf(w, "server tcp   retransmits %d  cwnd %s  rtt %s  rttvar %s\n", t.Retransmits, formatBytes(t.CwndBytes), formatUS(t.RTTUS), formatUS(t.RTTVarUS))
		}
	}
	if l := r.Latency; l != nil {
		fmt.Fprintf(w, "latency      min %s  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n",
			formatUS(l.Min), formatUS(l.P50), formatUS(l.P90), formatUS(l.P99), formatUS(l.P999), formatUS(l.Max))
	}
	if n := len(r.Streams); n > 1 && n <= maxStreamLines {
		for _, s := range r.Streams {
			fmt.Fprintf(w, "  [%3d]      %s  %s", s.ID, formatBytes(s.Bytes), formatBits(s.BitsPerSec))
			if r.Mode == bench.Bidir {
				fmt.Fprintf(w, "  received %s", formatBytes(s.RecvBytes))
			}
			if s.TCP != nil {
				fmt.Fprintf(w, "  retr %d  cwnd %s  rtt %s", s.TCP.Retransmits, formatBytes(s.TCP.CwndBytes), formatUS(s.TCP.RTTUS))
			}
			if s.Receiver != nil && s.Receiver.UDP != nil {
				fmt.Fprintf(w, "  lost %d of %d", s.Receiver.UDP.Lost, s.Receiver.UDP.Sent)
			}
			fmt.Fprintln(w)
		}
	}
	if len(r.Hosts) > 0 {
		fmt.Fprintf(w, "hosts        %s\n", strings.Join(r.Hosts, " "))
	}
	if r.Errors > 0 {
		fmt.Fprintf(w, "errors       %d (first: %s)\n", r.Errors, r.FirstError)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func formatBytes(n int64) string {
	f := float64(n)
	for _, u := range []string{"B", "KiB", "MiB", "GiB", "TiB"} {
		if f < 1024 || u == "TiB" {
			if u == "B" {
				return fmt.Sprintf("%d B", n)
			}
			return fmt.Sprintf("%.2f %s", f, u)
		}
		f /= 1024
	}
	return ""
}

func formatBits(bps float64) string {
	for _, u := range []string{"bit/s", "kbit/s", "Mbit/s", "Gbit/s"} {
		if bps < 1000 || u == "Gbit/s" {
			return fmt.Sprintf("%.2f %s", bps, u)
		}
		bps /= 1000
	}
	return ""
}

func formatRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e4:
		return fmt.Sprintf("%.1fk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}

func formatCount(n int64) string {
	return formatRate(float64(n))
}

func formatUS(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%.2fs", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%.2fms", us/1e3)
	}
	return fmt.Sprintf("%.1fµs", us)
}

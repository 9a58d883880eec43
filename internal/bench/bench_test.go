package bench

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

func dial(network, addr string) func(context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

// sink and source are plain Go peers for tx and rx.
func sink(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

func source(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		buf := make([]byte, 64<<10)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				for {
					if _, err := c.Write(buf); err != nil {
						c.Close()
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// sane checks what any result must satisfy, whatever the speed.
func sane(t *testing.T, r *Result, cfg Config) {
	t.Helper()
	if r.Ops <= 0 || r.Bytes <= 0 {
		t.Fatalf("nothing measured: %+v", r)
	}
	if r.Seconds <= 0 || r.Seconds > cfg.Duration.Seconds()*1.5 {
		t.Fatalf("seconds %v for a %v run", r.Seconds, cfg.Duration)
	}
	if want := float64(r.Bytes) * 8 / r.Seconds; math.Abs(r.BitsPerSec-want) > want*1e-9+1 {
		t.Fatalf("bits/s %v, bytes*8/seconds %v", r.BitsPerSec, want)
	}
	if want := float64(r.Ops) / r.Seconds; math.Abs(r.OpsPerSec-want) > want*1e-9+1 {
		t.Fatalf("ops/s %v, ops/seconds %v", r.OpsPerSec, want)
	}
	if r.Errors != 0 {
		t.Fatalf("%d errors, first: %s", r.Errors, r.FirstError)
	}
	var ivBytes int64
	for _, iv := range r.Intervals {
		if iv.End <= iv.Start {
			t.Fatalf("interval %+v", iv)
		}
		if !iv.Omitted {
			ivBytes += iv.Bytes
		}
	}
	if len(r.Intervals) == 0 || ivBytes > r.Bytes {
		t.Fatalf("intervals add up to %d bytes of %d (%d intervals)", ivBytes, r.Bytes, len(r.Intervals))
	}
	if l := r.Latency; l != nil {
		if !(l.Min > 0 && l.Min <= l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max*1.001) {
			t.Fatalf("latency percentiles out of order: %+v", l)
		}
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, cfg Config) *Result {
	t.Helper()
	if cfg.Duration == 0 {
		cfg.Duration = 300 * time.Millisecond
	}
	cfg.Interval = 100 * time.Millisecond
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	sane(t, r, cfg)
	return r
}

func TestTX(t *testing.T) {
	r := run(t, Config{Mode: TX, Conns: 2, Dial: dial("tcp", sink(t))})
	if r.Size != 128<<10 || r.Latency != nil {
		t.Fatalf("%+v", r)
	}
}

func TestRX(t *testing.T) {
	run(t, Config{Mode: RX, Conns: 2, Dial: dial("tcp", source(t))})
}

func TestRR(t *testing.T) {
	echo := sockittest.EchoTCP(t)
	for _, goroutines := range []bool{false, true} {
		for _, size := range []int{100, 8000} { // event loops, then (8000) goroutines anyway
			for _, depth := range []int{1, 8} {
				r := run(t, Config{Mode: RR, Conns: 3, Size: size, Depth: depth, Goroutines: goroutines, Dial: dial("tcp", echo)})
				if r.Latency == nil || r.Latency.Count != r.Ops || r.Bytes != r.Ops*int64(size) {
					t.Fatalf("goroutines %v size %d depth %d: %+v latency %+v", goroutines, size, depth, r, r.Latency)
				}
			}
		}
	}
}

func TestConnect(t *testing.T) {
	echo := sockittest.EchoTCP(t)
	r, err := Run(context.Background(), Config{Mode: Connect, Conns: 2, Duration: 300 * time.Millisecond, Dial: dial("tcp", echo)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Ops <= 0 || r.Latency == nil || r.Latency.Count != r.Ops || r.Errors != 0 {
		t.Fatalf("%+v", r)
	}
}

func TestUDP(t *testing.T) {
	echo := sockittest.EchoUDP(t)
	for _, cfg := range []Config{
		{Mode: UDP, Conns: 4, Depth: 8, Size: 200},
		{Mode: UDP, Conns: 2, Rate: 2000, Size: 64},
	} {
		cfg.Dial = dial("udp", echo)
		r := run(t, cfg)
		u := r.UDP
		if u == nil || u.Sent <= 0 || u.Received > u.Sent || u.Lost != u.Sent-u.Received || u.Received != r.Ops || u.Duplicates != 0 {
			t.Fatalf("%+v %+v", r, u)
		}
		if r.Bytes != u.Received*int64(cfg.Size) {
			t.Fatalf("bytes %d for %d replies of %d", r.Bytes, u.Received, cfg.Size)
		}
		if cfg.Rate > 0 {
			// Paced: about Rate datagrams a second (loosely: a loaded
			// machine may fall behind, never ahead).
			if limit := float64(cfg.Rate) * r.Seconds * 1.2; float64(u.Sent) > limit+10 {
				t.Fatalf("sent %d at --rate %d in %.2fs", u.Sent, cfg.Rate, r.Seconds)
			}
		}
	}
}

func TestRefused(t *testing.T) {
	port := sockittest.FreePort(t, false)
	_, err := Run(context.Background(), Config{Mode: RR, Duration: 100 * time.Millisecond, Dial: dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))})
	if err == nil {
		t.Fatal("no error from a refused connection")
	}
}

func TestBadConfig(t *testing.T) {
	d := dial("tcp", "127.0.0.1:1")
	for _, cfg := range []Config{
		{Mode: "nope", Dial: d},
		{Mode: UDP, Size: 8, Dial: d},
		{Mode: UDP, Size: 70000, Dial: d},
		{Mode: RR, Depth: 100000, Dial: d},
	} {
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

// BenchmarkRR measures the load generator's own cost per request.
func BenchmarkRR(b *testing.B) {
	echo := sockittest.EchoTCP(b)
	b.ReportAllocs()
	r, err := Run(context.Background(), Config{Mode: RR, Conns: 4, Duration: time.Duration(b.N) * 20 * time.Microsecond, Dial: dial("tcp", echo)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.OpsPerSec, "req/s")
}

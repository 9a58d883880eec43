// Package probe asks whether something answers: ping (repeated TCP
// connects, or echo round trips over TCP or UDP, timed like ping(8)) and
// scan (which ports of a host accept TCP connections or answer UDP).
//
// It measures single probes at a person's pace; load and throughput are
// the bench package's job.
package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"time"
)

// Ping configures a series of probes. The zero value of each optional
// field works.
type Ping struct {
	// Dial opens a connection: TCP (connect-time probes, or the echo
	// connection) or a connected UDP socket. Required.
	Dial     func(ctx context.Context) (net.Conn, error)
	Echo     bool          // TCP: time an echo round trip on one connection instead of connects
	UDP      bool          // datagram echo round trips (Echo is implied)
	Count    int           // probes; 0 until ctx ends
	Interval time.Duration // between probes; default 1s
	Timeout  time.Duration // per probe; default 1s (connect: the dial's own timeout applies too)
	Size     int           // echo payload; default 56 (as ping(8))

	// Probe, if set, is called after each probe.
	Probe func(Result)
}

// Result is one probe.
type Result struct {
	Seq  int
	RTT  time.Duration // 0 when Err is set
	Size int           // bytes echoed (echo and UDP)
	Peer string
	Err  error
}

// Summary is what ping(8) prints at the end.
type Summary struct {
	Sent, Received int
	Min, Avg, Max  time.Duration
	Mdev           time.Duration
	Elapsed        time.Duration
	LastErr        error // the last failed probe's error
}

// LossPercent is the share of probes without an answer.
func (s Summary) LossPercent() float64 {
	if s.Sent == 0 {
		return 0
	}
	return 100 * float64(s.Sent-s.Received) / float64(s.Sent)
}

// Run sends the probes and returns the summary. It returns early when ctx
// ends, with the probes so far.
func (p *Ping) Run(ctx context.Context) Summary {
	if p.Interval <= 0 {
		p.Interval = time.Second
	}
	if p.Timeout <= 0 {
		p.Timeout = time.Second
	}
	if p.Size <= 0 {
		p.Size = 56
	}
	start := time.Now()
	var sum Summary
	var total, sq float64 // for avg and mdev, in seconds
	var conn net.Conn     // the echo connection, kept across probes
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	buf := make([]byte, p.Size+65536)
	payload := make([]byte, p.Size)

	tick := time.NewTicker(p.Interval)
	defer tick.Stop()
	for seq := 1; p.Count <= 0 || seq <= p.Count; seq++ {
		if seq > 1 {
			select {
			case <-tick.C:
			case <-ctx.Done():
				sum.Elapsed = time.Since(start)
				return sum
			}
		}
		if ctx.Err() != nil {
			break
		}
		r := Result{Seq: seq}
		if p.Echo || p.UDP {
			var err error
			if conn == nil {
				conn, err = p.Dial(ctx)
			}
			if err == nil {
				r.Peer = conn.RemoteAddr().String()
				r.RTT, r.Size, err = p.echo(conn, seq, payload, buf)
			}
			if err != nil && !p.UDP && conn != nil {
				// A broken TCP connection: the next probe reconnects.
				conn.Close()
				conn = nil
			}
			r.Err = err
		} else {
			t0 := time.Now()
			ctx, cancel := context.WithTimeout(ctx, p.Timeout)
			c, err := p.Dial(ctx)
			cancel()
			r.RTT = time.Since(t0)
			if err == nil {
				r.Peer = c.RemoteAddr().String()
				c.Close()
			}
			r.Err = err
		}
		sum.Sent++
		if r.Err != nil {
			r.RTT = 0
			sum.LastErr = r.Err
		} else {
			sum.Received++
			s := r.RTT.Seconds()
			total += s
			sq += s * s
			if sum.Min == 0 || r.RTT < sum.Min {
				sum.Min = r.RTT
			}
			sum.Max = max(sum.Max, r.RTT)
		}
		if p.Probe != nil {
			p.Probe(r)
		}
	}
	sum.Elapsed = time.Since(start)
	if n := float64(sum.Received); n > 0 {
		avg := total / n
		sum.Avg = time.Duration(avg * 1e9)
		// mdev as ping(8) computes it: sqrt(mean of squares - square of mean).
		sum.Mdev = time.Duration(math.Sqrt(max(sq/n-avg*avg, 0)) * 1e9)
	}
	return sum
}

// echo sends one probe carrying seq and waits for the same bytes back.
// Late replies to earlier probes (UDP) are skipped.
func (p *Ping) echo(c net.Conn, seq int, payload, buf []byte) (time.Duration, int, error) {
	fill(payload, seq)
	t0 := time.Now()
	deadline := t0.Add(p.Timeout)
	c.SetDeadline(deadline)
	if _, err := c.Write(payload); err != nil {
		return 0, 0, err
	}
	if !p.UDP {
		if _, err := io.ReadFull(c, buf[:len(payload)]); err != nil {
			return 0, 0, err
		}
		if !bytes.Equal(buf[:len(payload)], payload) {
			return 0, 0, errors.New("the reply differs from the probe: not an echo server")
		}
		return time.Since(t0), len(payload), nil
	}
	for {
		n, err := c.Read(buf)
		if err != nil {
			return 0, 0, err
		}
		if bytes.Equal(buf[:n], payload) {
			return time.Since(t0), n, nil
		}
		// A late reply to an earlier probe, or not an echo: keep waiting.
	}
}

// fill writes a recognisable probe: "sockit ping seq=N " then letters.
func fill(b []byte, seq int) {
	head := fmt.Appendf(nil, "sockit ping seq=%d ", seq)
	for i := range b {
		if i < len(head) {
			b[i] = head[i]
		} else {
			b[i] = byte('a' + i%26)
		}
	}
}

// IsTimeout reports whether a probe failed by timing out.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

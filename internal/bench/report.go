package bench

import (
	"strconv"
	"time"

	"github.com/sockit/sockit/internal/bench/wire"
	"github.com/sockit/sockit/internal/tcpsock"
)

// reporter calls the interval and progress hooks until the workers
// finish, and takes the totals at the end of the Omit period.
type reporter struct {
	cfg     *Config
	workers []*worker
	start   time.Time
	res     *Result
	lastT   float64
	omitted bool // the -O period is over
}

func (p *reporter) run(finished <-chan struct{}) {
	cfg := p.cfg
	progress := time.NewTicker(250 * time.Millisecond)
	defer progress.Stop()
	var interval <-chan time.Time
	var ticker *time.Ticker
	if cfg.Interval > 0 {
		ticker = time.NewTicker(cfg.Interval)
		defer ticker.Stop()
		interval = ticker.C
	}
	var omit <-chan time.Time
	if cfg.Omit > 0 {
		t := time.NewTimer(cfg.Omit)
		defer t.Stop()
		omit = t.C
	}
	for {
		select {
		case <-finished:
			// A last partial interval, as iperf3 prints.
			if cfg.Interval > 0 && time.Since(p.start).Seconds()-p.lastT > cfg.Interval.Seconds()/10 {
				p.emit(time.Now())
			}
			if cfg.Omit > 0 && !p.omitted {
				p.markOmit(false) // the run ended within -O
			}
			return
		case now := <-omit:
			switch {
			case cfg.Interval <= 0:
				p.markOmit(false)
			case now.Sub(p.start).Seconds()-p.lastT < cfg.Interval.Seconds()/10:
				// An interval has just ended: it ends -O too.
				p.markOmit(true)
			default:
				p.emit(now)
				p.markOmit(true)
			}
			if ticker != nil {
				ticker.Reset(cfg.Interval) // intervals start again after -O
			}
		case now := <-interval:
			p.emit(now)
		case now := <-progress.C:
			if cfg.Progress != nil {
				var b, o int64
				for _, w := range p.workers {
					b += w.bytes.Load() + w.rxBytes.Load()
					o += w.ops.Load()
				}
				cfg.Progress(now.Sub(p.start), b, o)
			}
		}
	}
}

// sendsTCP reports whether the client is a TCP sender, whose TCP_INFO
// iperf3 users look at.
func (p *reporter) sendsTCP() bool {
	return tcpsock.Supported && (p.cfg.Mode == TX || p.cfg.Mode == Bidir)
}

// emit reports the interval that ends now, if it is not too short to.
func (p *reporter) emit(now time.Time) bool {
	cfg := p.cfg
	t := min(now.Sub(p.start), cfg.Omit+cfg.Duration).Seconds()
	dt := t - p.lastT
	if dt < 0.001 {
		return false
	}
	iv := Interval{Type: "interval", Version: SchemaVersion, Start: p.lastT, End: t, Omitted: cfg.Omit > 0 && !p.omitted}
	perStream := len(p.workers) <= maxStreamsShown
	var tcp wire.TCPInfo
	tcpN := 0
	for i, w := range p.workers {
		b, o, rx := w.bytes.Load(), w.ops.Load(), w.rxBytes.Load()
		s := StreamInterval{ID: i, Bytes: b - w.last.bytes, Ops: o - w.last.ops, RecvBytes: rx - w.last.rx}
		s.Bits = float64(s.Bytes) * 8 / dt
		w.last.bytes, w.last.ops, w.last.rx = b, o, rx
		iv.Bytes += s.Bytes
		iv.Ops += s.Ops
		iv.RecvBytes += s.RecvBytes
		if p.sendsTCP() {
			if ti, ok := w.tcpInfo(); ok {
				total := ti.Retransmits
				ti.Retransmits = total - w.last.retrans
				w.last.retrans = total
				s.TCP = &ti
				addTCP(&tcp, &ti, tcpN, 1)
				tcpN++
			}
		}
		if perStream {
			iv.Streams = append(iv.Streams, s)
		}
	}
	if tcpN > 0 {
		iv.TCP = &tcp
	}
	iv.Bits = float64(iv.Bytes) * 8 / dt
	iv.OpsRate = float64(iv.Ops) / dt
	if cfg.Mode == Bidir {
		iv.RecvBits = float64(iv.RecvBytes) * 8 / dt
	}
	p.lastT = t
	p.res.Intervals = append(p.res.Intervals, iv)
	if cfg.Report != nil {
		cfg.Report(iv)
	}
	return true
}

// markOmit takes the totals that the summary leaves out: those the
// interval just emitted ended with (atInterval), so that the omitted
// intervals and the summary add up to all there was, or the totals now.
func (p *reporter) markOmit(atInterval bool) {
	p.omitted = true
	for _, w := range p.workers {
		if atInterval {
			w.omitted = w.last
			continue
		}
		w.omitted.bytes, w.omitted.ops, w.omitted.rx = w.bytes.Load(), w.ops.Load(), w.rxBytes.Load()
		if p.sendsTCP() {
			if ti, ok := w.tcpInfo(); ok {
				w.omitted.retrans = ti.Retransmits
			}
		}
	}
}

// summarize adds up the workers into res, after they have all returned.
func summarize(cfg *Config, res *Result, workers []*worker, hist *histograms, start time.Time) {
	// The run's length: until the last worker stopped counting (not the
	// time spent waiting for a server's report afterwards), less -O.
	var stopNS int64
	for _, w := range workers {
		stopNS = max(stopNS, w.stop.Load())
	}
	elapsed := time.Duration(stopNS)
	if stopNS == 0 {
		elapsed = time.Since(start)
	}
	elapsed = min(elapsed, cfg.Omit+cfg.Duration) - cfg.Omit
	res.Seconds = max(elapsed.Seconds(), 0)
	res.Intervals = append([]Interval(nil), res.Intervals...)
	perStream := len(workers) <= maxStreamsShown

	var tcp wire.TCPInfo
	tcpN := 0
	var rcv Receiver
	rcvTCP := 0
	for i, w := range workers {
		s := StreamResult{ID: i,
			Bytes: w.bytes.Load() - w.omitted.bytes, Ops: w.ops.Load() - w.omitted.ops, RecvBytes: w.rxBytes.Load() - w.omitted.rx}
		if res.Seconds > 0 {
			s.BitsPerSec = float64(s.Bytes) * 8 / res.Seconds
		}
		res.Bytes += s.Bytes
		res.Ops += s.Ops
		res.RecvBytes += s.RecvBytes
		res.Errors += w.errs
		if w.err != nil {
			s.Error = w.err.Error()
			if res.FirstError == "" {
				res.FirstError = w.err.Error()
			}
		}
		if w.bench {
			res.Server = "sockit-bench/" + strconv.Itoa(wire.Version)
		}
		if cfg.Mode == UDP && !w.bench {
			if res.UDP == nil {
				res.UDP = &UDPStats{}
			}
			u := &UDPStats{Sent: w.sent}
			if w.arr != nil {
				u = w.arr.UDP(w.sent)
			}
			res.UDP.Add(u)
		}
		if (cfg.Mode == TX || cfg.Mode == Bidir) && tcpsock.Supported {
			if ti, ok := w.tcpInfo(); ok {
				ti.Retransmits -= w.omitted.retrans
				s.TCP = &ti
				addTCP(&tcp, &ti, tcpN, 1)
				tcpN++
			}
		}
		if z := w.zc; z != nil {
			if res.ZeroCopy == nil {
				res.ZeroCopy = &ZeroCopyStats{}
			}
			res.ZeroCopy.Sends += z.Sends
			res.ZeroCopy.Completed += z.Completed
			res.ZeroCopy.Copied += z.Copied
		}
		if r := w.report; r != nil {
			s.Receiver = r
			rcv.Streams++
			rcv.Bytes += r.Bytes
			rcv.SentBytes += r.SentBytes
			rcv.Seconds = max(rcv.Seconds, r.Seconds)
			if r.UDP != nil {
				if rcv.UDP == nil {
					rcv.UDP = &wire.UDP{}
				}
				rcv.UDP.Add(r.UDP)
			}
			if r.TCP != nil {
				if rcv.TCP == nil {
					rcv.TCP = &wire.TCPInfo{}
				}
				addTCP(rcv.TCP, r.TCP, rcvTCP, 1)
				rcvTCP++
			}
		}
		if perStream {
			res.Streams = append(res.Streams, s)
		}
	}
	if res.Seconds > 0 {
		res.BitsPerSec = float64(res.Bytes) * 8 / res.Seconds
		res.OpsPerSec = float64(res.Ops) / res.Seconds
		if cfg.Mode == Bidir {
			res.RecvBitsPerSec = float64(res.RecvBytes) * 8 / res.Seconds
		}
	}
	if tcpN > 0 {
		res.TCP = &tcp
	}
	if rcv.Streams > 0 {
		if rcv.Seconds > 0 {
			rcv.BitsPerSec = float64(rcv.Bytes) * 8 / rcv.Seconds
		}
		res.Receiver = &rcv
	}
	if cfg.Mode == RR || cfg.Mode == Connect || cfg.Mode == UDP && res.UDP != nil {
		res.Latency, res.Histogram = hist.latency()
	}
}

// tcpInfo is the worker's socket's TCP_INFO, from its connection or, once
// --zerocopy has taken it over, from its descriptor.
func (w *worker) tcpInfo() (wire.TCPInfo, bool) {
	if fd := w.fd.Load(); fd > 0 {
		return tcpsock.InfoFD(int(fd - 1))
	}
	if w.conn == nil {
		return wire.TCPInfo{}, false
	}
	return tcpsock.Info(w.conn)
}

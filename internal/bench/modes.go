package bench

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/sockit/sockit/internal/bench/wire"
	"github.com/sockit/sockit/internal/pace"
	"github.com/sockit/sockit/internal/tcpsock"
)

// runner runs one connection's loop.
type runner struct {
	cfg   *Config
	w     *worker
	h     *shard
	start time.Time
	end   time.Time
	ctx   context.Context
	omit  int64 // ns: -O
	bud   *budget
	test  string
	id    int // the connection's index
}

// fail counts an error; the first one is kept for the summary. The normal
// end of a run (deadline passed, context done) is not an error.
func (r *runner) fail(err error) {
	if r.over(err) {
		return
	}
	r.w.errs++
	if r.w.err == nil {
		r.w.err = err
	}
}

func (r *runner) over(err error) bool {
	return r.ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) || !time.Now().Before(r.end)
}

// since is nanoseconds since the run began, on the monotonic clock.
func (r *runner) since() int64 { return int64(time.Since(r.start)) }

// counting reports whether now (ns since the start) is past -O.
func (r *runner) counting(now int64) bool { return now >= r.omit }

// take claims n units of -n for what is sent now; during -O nothing is
// claimed.
func (r *runner) take(n int64) int64 {
	if !r.bud.on || !r.counting(r.since()) {
		return n
	}
	return r.bud.take(n)
}

// stopped records when this connection stopped counting.
func (r *runner) stopped() { r.w.stop.Store(r.since()) }

// pacer paces this connection's share of -b (bytes per second) from now,
// when its sending begins (a slow hello must not become a burst), or nil.
func (r *runner) pacer() *pace.Pacer {
	if r.cfg.Bitrate <= 0 {
		return nil
	}
	return pace.New(float64(r.cfg.Bitrate) / 8 / float64(r.cfg.Conns))
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26) // never a newline: see readReport
	}
	return b
}

// bare reports whether c is a plain TCP or Unix stream, whose writes may
// be cut by a deadline and still be half-closed afterwards (a TLS
// connection's may not).
func bare(c net.Conn) bool {
	switch c.(type) {
	case *net.TCPConn, *net.UnixConn:
		return true
	}
	return false
}

// stream runs tx, rx or bidir on one connection: with a bench server
// (the hello answered), the server's report is read at the end.
func (r *runner) stream(c net.Conn) {
	mode := r.cfg.Mode
	send := mode == TX || mode == Bidir
	if r.cfg.ZeroCopy && r.txZeroCopy(c) {
		return
	}
	if r.cfg.Plain {
		if mode == Bidir {
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.read(c, nil, nil)
			}()
			r.tx(c)
			wg.Wait()
			return
		}
		if send {
			r.tx(c)
		} else {
			r.read(c, nil, nil)
		}
		return
	}
	hello := wire.Format(wire.Hello, r.hello(mode))
	if _, err := c.Write(hello); err != nil {
		r.fail(err)
		r.stopped()
		return
	}
	if bitrate := r.cfg.Bitrate; bitrate > 0 && send {
		// Best effort: the kernel smooths the token bucket's bursts.
		tcpsock.SetMaxPacingRate(c, bitrate/8/int64(r.cfg.Conns))
	}
	helloAt := time.Now()
	st := &streamState{writerDone: make(chan struct{}), answered: make(chan struct{})}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		r.read(c, hello, st)
	}()
	if send {
		r.tx(c)
	}
	close(st.writerDone)
	if mode == TX {
		st.awaitAnswer(helloAt, c, r.bud.heard)
	}
	<-readerDone
}

// streamState is what a stream's writer and reader share.
type streamState struct {
	mu         sync.Mutex
	bench      bool // the hello was answered with OK
	abandoned  bool // the writer gave up waiting for an answer
	writerDone chan struct{}
	answered   chan struct{} // closed when the reader knows what the server is
}

// heard records what the reader learnt from the answer to the hello,
// before it tells the writer (answered): the writer, woken, decides from
// st.bench whether to wait for a report, and must not find it unset.
func (st *streamState) heard(bench bool, bud *budget) {
	if bench {
		st.mu.Lock()
		if !st.abandoned {
			st.bench = true
		}
		st.mu.Unlock()
		bud.heardBench()
	}
	close(st.answered)
}

// awaitAnswer is a tx stream's end, once it has sent all: a bench server
// answers the hello (sent at helloAt) at once, so it gives the server
// until txAnswerWait after it if the run was shorter than that (-n).
// Without an answer the peer is a plain sink: the reader, reading from
// rd, stops listening for one. But when another stream of the run has
// heard a bench server by then (heard is closed), this one's answer is
// late, not missing: it waits for it as long as for a report, or the
// server's count of this stream would be left out of the run's without
// a word.
func (st *streamState) awaitAnswer(helloAt time.Time, rd interface{ SetReadDeadline(time.Time) error }, heard <-chan struct{}) {
	t := time.NewTimer(time.Until(helloAt.Add(txAnswerWait)))
	select {
	case <-st.answered:
	case <-t.C:
		select {
		case <-heard:
			t.Reset(reportWait)
			select {
			case <-st.answered:
			case <-t.C:
			}
		default:
		}
	}
	t.Stop()
	st.mu.Lock()
	if !st.bench {
		st.abandoned = true
		rd.SetReadDeadline(time.Now())
	}
	st.mu.Unlock()
}

// txAnswerWait is how long after its hello a tx connection that has
// finished sending still waits to learn whether the server is a bench
// server (then it reports) or a plain sink (which never answers).
const txAnswerWait = time.Second

// read is the reading side of tx, rx and bidir. It counts what arrives
// (rx, bidir) until the end, and with a hello (st not nil) first finds
// out what the server is, and after the end reads a bench server's
// report.
func (r *runner) read(c net.Conn, hello []byte, st *streamState) {
	mode := r.cfg.Mode
	count := mode == RX || mode == Bidir
	w := r.w
	buf := make([]byte, max(r.cfg.Size, wire.MaxLine))
	c.SetReadDeadline(r.end)
	if !count {
		// tx: nothing to count; the writer's end decides how long to wait.
		c.SetReadDeadline(r.end.Add(reportWait))
	}
	countBytes := func(n int) bool {
		got := int64(n)
		if mode == RX {
			got = r.take(got)
		}
		if got > 0 {
			if mode == Bidir {
				w.rxBytes.Add(got)
			} else {
				w.bytes.Add(got)
			}
			w.ops.Add(1)
		}
		return got == int64(n)
	}
	if st != nil {
		s, err := sniff(c, hello, buf)
		st.heard(s.bench, r.bud)
		if err != nil && len(s.rest) == 0 {
			var refused *errRefused
			if errors.As(err, &refused) {
				w.errs++
				w.err = err
				r.bud.cancel() // a refused connection ends the run: nothing else will be measured right
			} else if !(mode == TX && errors.Is(err, os.ErrDeadlineExceeded)) && !errors.Is(err, io.EOF) {
				r.fail(err)
			}
			if count {
				r.stopped()
			}
			return
		}
		if count && len(s.rest) > 0 && !countBytes(len(s.rest)) {
			r.stopped()
			return
		}
		st.mu.Lock()
		if st.abandoned {
			st.mu.Unlock()
			return
		}
		st.bench = s.bench
		st.mu.Unlock()
		w.bench = s.bench
		if err != nil {
			if count {
				r.fail(err)
				r.stopped()
			}
			return
		}
	}
	if count {
		for {
			n, err := c.Read(buf[:r.cfg.Size])
			if n > 0 && !countBytes(n) {
				break
			}
			if err != nil {
				if !errors.Is(err, io.EOF) || time.Now().Before(r.end) {
					r.fail(err)
				}
				break
			}
		}
		r.stopped()
	}
	if st == nil || !st.bench {
		return
	}
	// A bench server: once our side is done, half-close, and it reports.
	<-st.writerDone
	if err := closeWrite(c); err != nil {
		r.fail(err)
		return
	}
	rep, err := readReport(c, count, buf)
	if err != nil {
		w.errs++
		if w.err == nil {
			w.err = err
		}
		return
	}
	w.report = rep
}

// tx sends until the end, -n or an error; -b paces it.
func (r *runner) tx(c net.Conn) {
	defer r.stopped()
	size := r.cfg.Size
	buf := pattern(size)
	exact := bare(c)
	if exact {
		c.SetWriteDeadline(r.end)
	} else {
		// A TLS write cut by its deadline breaks the connection for the
		// half-close and report that follow: stop between writes instead.
		c.SetWriteDeadline(r.end.Add(reportWait))
	}
	p := r.pacer()
	var sent int64
	for {
		// Paced first, then claimed: the claim of -n's last bytes ends the
		// run's context.
		if !p.Wait(r.ctx, sent, r.end) {
			return
		}
		chunk := r.take(int64(size))
		if chunk == 0 {
			return
		}
		n, err := c.Write(buf[:chunk])
		sent += int64(n)
		r.w.bytes.Add(int64(n))
		if err != nil {
			r.fail(err)
			return
		}
		r.w.ops.Add(1)
		if !exact && !time.Now().Before(r.end) {
			return
		}
	}
}

// rrHello says hello on an rr connection and waits (a little) for the
// answer. It reports false when the connection cannot be used.
func (r *runner) rrHello(c net.Conn) bool {
	if r.cfg.Plain {
		return true
	}
	hello := wire.Format(wire.Hello, r.hello(wire.ModeRR))
	if _, err := c.Write(hello); err != nil {
		r.fail(err)
		return false
	}
	c.SetReadDeadline(time.Now().Add(rrHelloWait))
	s, err := sniff(c, hello, make([]byte, wire.MaxLine))
	c.SetReadDeadline(time.Time{})
	var refused *errRefused
	switch {
	case errors.As(err, &refused):
		r.w.errs++
		r.w.err = err
		return false
	case err != nil && !errors.Is(err, os.ErrDeadlineExceeded):
		r.fail(err)
		return false
	}
	r.w.bench = s.bench
	return true
}

// rr keeps Depth requests in flight: it writes Depth requests, then one
// more after each response. TCP keeps them in order, so the send times
// wait in a ring.
func (r *runner) rr(c net.Conn) {
	defer r.stopped()
	size, depth := r.cfg.Size, r.cfg.Depth
	req := pattern(size * depth)
	resp := make([]byte, size)
	ring := make([]int64, depth)
	c.SetDeadline(r.end)
	now := r.since()
	for i := range ring {
		ring[i] = now
	}
	if _, err := c.Write(req); err != nil {
		r.fail(err)
		return
	}
	req = req[:size]
	head := 0
	for {
		if _, err := io.ReadFull(c, resp); err != nil {
			r.fail(err)
			return
		}
		now := r.since()
		if r.take(1) == 0 {
			return
		}
		if r.counting(ring[head]) {
			r.h.record(now - ring[head])
		}
		r.w.bytes.Add(int64(size))
		r.w.ops.Add(1)
		if now >= r.omit+int64(r.cfg.Duration) {
			return
		}
		ring[head] = now
		head++
		if head == depth {
			head = 0
		}
		if _, err := c.Write(req); err != nil {
			r.fail(err)
			return
		}
	}
}

func (r *runner) connect() {
	defer r.stopped()
	for r.ctx.Err() == nil {
		t0 := r.since()
		c, err := r.cfg.Dial(r.ctx)
		if err != nil {
			if r.ctx.Err() == nil {
				r.fail(err)
				// Do not spin on a refusing server.
				time.Sleep(time.Millisecond)
			}
			continue
		}
		if r.take(1) == 0 {
			c.Close()
			return
		}
		if r.counting(t0) {
			r.h.record(r.since() - t0)
		}
		r.w.ops.Add(1)
		// An RST instead of a FIN: the client keeps no TIME_WAIT socket,
		// so a long run does not use up the ephemeral ports.
		if tc := tcpsock.Conn(c); tc != nil {
			tc.SetLinger(0)
		}
		c.Close()
	}
}

package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progressBar draws one line on a terminal (stderr) for a transfer of a
// known size: a bar, the share done, the bytes, the rate and the time
// left. Updates come from the transfer; drawing is limited to ten a
// second.
type progressBar struct {
	w     io.Writer
	total int64
	start time.Time

	mu    sync.Mutex
	last  time.Time
	drawn bool
}

// fileProgress returns a progress callback for sending in when a person
// watches stderr and in is a regular file of at least 1 MiB, and a
// function that clears the line; otherwise nil and a no-op.
func fileProgress(st *stdio, in io.Reader) (func(int64), func()) {
	f, ok := in.(*os.File)
	if !st.errTTY || !ok {
		return nil, func() {}
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() < 1<<20 {
		return nil, func() {}
	}
	pb := &progressBar{w: st.err, total: fi.Size(), start: time.Now()}
	return pb.update, pb.clear
}

func (p *progressBar) update(done int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && done < p.total {
		return
	}
	p.last = now
	fmt.Fprintf(p.w, "\r\x1b[K%s", p.line(done, now.Sub(p.start)))
	p.drawn = true
}

// line renders: [=========>          ]  45%  1.20 GiB / 2.67 GiB  980.00 MiB/s  ETA 0:02
func (p *progressBar) line(done int64, elapsed time.Duration) string {
	frac := 1.0
	if p.total > 0 {
		frac = min(float64(done)/float64(p.total), 1)
	}
	const width = 24
	full := int(frac * width)
	bar := strings.Repeat("=", full)
	if full < width {
		bar += ">" + strings.Repeat(" ", width-full-1)
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	eta := "--:--"
	if rate > 0 && done < p.total {
		left := time.Duration(float64(p.total-done) / rate * float64(time.Second))
		eta = fmt.Sprintf("%d:%02d", int(left.Minutes()), int(left.Seconds())%60)
	} else if done >= p.total {
		eta = "0:00"
	}
	return fmt.Sprintf("[%s] %3.0f%%  %s / %s  %s/s  ETA %s", bar, frac*100, formatBytes(done), formatBytes(p.total), formatBytes(int64(rate)), eta)
}

func (p *progressBar) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// progress is a progress bar for a transfer of total bytes when a person
// watches stderr and it is at least 1 MiB (talk.Exchange.Progress):
// nil otherwise.
func progress(st *stdio) func(total int64) (func(int64), func()) {
	return func(total int64) (func(int64), func()) {
		if !st.errTTY || total < 1<<20 {
			return nil, func() {}
		}
		pb := &progressBar{w: st.err, total: total, start: time.Now()}
		return pb.update, pb.clear
	}
}

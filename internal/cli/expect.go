package cli

import (
	"context"
	"io"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/exitcode"
	"github.com/sockit/sockit/internal/match"
	"github.com/sockit/sockit/internal/session"
)

// runConnectExpect is connect --expect REGEX: pipe mode, with the exit
// status saying whether what arrived matched (0, at once) or not (1, when
// the peer closes or --wait passes after the input ended). It is for
// scripts and health checks, so it never shows the prompt.
func runConnectExpect(ctx context.Context, st *stdio, f *clientFlags, arg, expect string) error {
	re, err := regexp.Compile(expect)
	if err != nil {
		return exitcode.Usagef("bad --expect: %v", err)
	}
	ep, d, err := f.target(st, arg)
	if err != nil {
		return err
	}

	// The input, wrapped to tell when it ends: the --wait starts then.
	fc := *f
	pst := *st
	pst.inTTY = false
	in := io.Reader(st.in)
	if f.data.file != "" {
		file, err := os.Open(f.data.file)
		if err != nil {
			return exitcode.Usagef("--file: %v", err)
		}
		defer file.Close()
		in, fc.data.file = file, ""
	}
	inEnd := make(chan struct{})
	pst.in = &endReader{r: in, end: inEnd}

	conv, err := fc.conversation(&pst, ep, false)
	if err != nil {
		return err
	}
	defer conv.obs.close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		c        *session.Conn
		matched  atomic.Bool
		timedOut atomic.Bool
		m        = match.Regexp(re, conv.recv, 0)
	)
	conv.obs.add(func(e *event.Event) {
		if e.Kind != event.Data || e.Dir != event.In || matched.Load() {
			return
		}
		if m.Feed(e.Data); m.Matched() {
			matched.Store(true)
			c.SetReason("--expect matched")
			cancel()
		}
	})

	nc, err := d.Dial(ctx, ep)
	if err != nil {
		return err
	}
	c = session.New(nc, conv.options(ep, 1))
	wait := f.net.wait
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		select {
		case <-inEnd:
		case <-ctx.Done():
			return
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
			if !matched.Load() {
				timedOut.Store(true)
				c.SetReason("no match for --expect within --wait")
				cancel()
			}
		case <-ctx.Done():
		}
	}()
	err = conv.run(ctx, &pst, c)
	cancel()
	<-watchDone
	switch {
	case matched.Load():
		return nil
	case timedOut.Load():
		return exitcode.Mismatchf("nothing from %s matched --expect %q within %s after the input ended (--wait)", ep, expect, wait)
	case err != nil:
		return err
	}
	return exitcode.Mismatchf("%s closed the connection without a match for --expect %q", ep, expect)
}

// endReader closes end when r reports the end of input.
type endReader struct {
	r    io.Reader
	end  chan struct{}
	once sync.Once
}

// Ready lets the sender ask the input it wraps whether a read would wait.
func (e *endReader) Ready() bool { return session.Ready(e.r) }

func (e *endReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		e.once.Do(func() { close(e.end) })
	}
	return n, err
}

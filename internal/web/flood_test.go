package web

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
	"github.com/go-json-experiment/json/jsontext"
)

// TestBrowserFloodClicks is the flood benchmark: a TCP device sends 20,000
// lines a second for ten seconds into a line-framed server session while
// the user clicks the log's Text/Hex switch four times a second. It
// measures, in the page, click-to-effect (from the click's arrival to the
// first paint after the log was redrawn the other way) and the longest
// main-thread task (PerformanceObserver longtask), and checks that the
// counters count every message and byte. Its figures are logged; the
// targets (p95 ≤ 100 ms, no task over 50 ms) fail the test only with
// SOCKIT_FLOOD_STRICT=1, as a busy shared machine can miss them by itself.
// -short runs it for two seconds. SOCKIT_FLOOD_TRACE=FILE records a
// Chromium trace of the flood and logs, per main-thread task, how long it
// took beside how long it ran: on a loaded machine the two part ways.
func TestBrowserFloodClicks(t *testing.T) {
	seconds := 10
	if testing.Short() {
		seconds = 2
	}
	const (
		rate = 20_000
		tick = 10 * time.Millisecond
		per  = rate / 100 // lines a tick
	)
	total := rate * seconds
	u := startUI(t)
	p := newPage(t, 1280, 800)
	p.run(chromedp.Navigate(u.url))
	c := p.lineServerClient()
	p.wait(`document.querySelectorAll('.panel.active .peer-list li[data-peer]').length === 1`)

	// The probes: long tasks, and for each click on the view switch the
	// time from the click's arrival (its timeStamp, so time spent queued
	// behind other work counts) to a task after the next frame, when the
	// redrawn log has been painted.
	p.eval(`(() => {
		window.bench = { long: [], lat: [], wrong: 0 };
		new PerformanceObserver((l) => { for (const e of l.getEntries()) bench.long.push(e.duration); }).observe({ type: 'longtask', buffered: false });
		const panel = document.querySelector('.panel.active');
		for (const b of panel.querySelectorAll('.view button')) b.addEventListener('click', (ev) => {
			const t0 = ev.timeStamp;
			bench.want = b.dataset.view;
			requestAnimationFrame(() => setTimeout(() => {
				bench.lat.push(performance.now() - t0);
				const row = panel.querySelector('.log .row.in .x');
				if (row && !!row.querySelector('.hexl') !== (bench.want === 'hex')) bench.wrong++;
			}, 0));
		});
		return true;
	})()`, nil)
	var hexXY, textXY []float64
	p.eval(`(() => { const r = document.querySelector('.panel.active .view button[data-view="hex"]').getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2] })()`, &hexXY)
	p.eval(`(() => { const r = document.querySelector('.panel.active .view button[data-view="text"]').getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2] })()`, &textXY)

	click := func(xy []float64) {
		p.run(chromedp.ActionFunc(func(ctx context.Context) error {
			if err := input.DispatchMouseEvent(input.MousePressed, xy[0], xy[1]).WithButton(input.Left).WithClickCount(1).Do(ctx); err != nil {
				return err
			}
			return input.DispatchMouseEvent(input.MouseReleased, xy[0], xy[1]).WithButton(input.Left).WithClickCount(1).Do(ctx)
		}))
	}
	type figures struct {
		Long  []float64
		Lat   []float64
		Wrong int
	}
	summary := func(b figures) (p50, p95, pmax, longest float64) {
		sort.Float64s(b.Lat)
		sort.Float64s(b.Long)
		pct := func(q float64) float64 {
			if len(b.Lat) == 0 {
				return 0
			}
			return b.Lat[min(len(b.Lat)-1, int(q*float64(len(b.Lat))))]
		}
		if len(b.Long) > 0 {
			longest = b.Long[len(b.Long)-1]
		}
		return pct(0.5), pct(0.95), pct(1), longest
	}
	// The baseline: the same clicks with nothing arriving, to tell the
	// flood's cost from the machine's own noise.
	for i := range 8 {
		click([][]float64{hexXY, textXY}[i%2])
		p.wait(fmt.Sprintf(`window.bench.lat.length === %d`, i+1))
	}
	var quiet figures
	p.eval(`window.bench`, &quiet)
	p.eval(`window.bench.lat = [], window.bench.long = [], window.bench.wrong = 0, true`, nil)
	q50, q95, qmax, qlong := summary(quiet)
	t.Logf("quiet: %d clicks, click-to-effect p50 %.0f ms, p95 %.0f ms, max %.0f ms; %d long tasks, longest %.0f ms",
		len(quiet.Lat), q50, q95, qmax, len(quiet.Long), qlong)

	stopTrace := traceFlood(t, p)
	line := func(i int) []byte { return fmt.Appendf(nil, "flood %08d 0123456789abcdef sockit\n", i) }
	lineLen := len(line(0))
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		tk := time.NewTicker(tick)
		defer tk.Stop()
		buf := make([]byte, 0, per*lineLen)
		for i := 0; i < total; {
			<-tk.C
			buf = buf[:0]
			for n := 0; n < per && i < total; n++ {
				buf = append(buf, line(i)...)
				i++
			}
			if _, err := c.Write(buf); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()

	clicks := 0
	tk := time.NewTicker(250 * time.Millisecond)
	var sendErr error
loop:
	for {
		select {
		case sendErr = <-done:
			break loop
		case <-tk.C:
			if clicks%2 == 0 {
				click(hexXY)
			} else {
				click(textXY)
			}
			clicks++
		}
	}
	tk.Stop()
	sent := time.Since(start)
	stopTrace()
	if sendErr != nil {
		t.Fatal(sendErr)
	}

	// Counters: every message, every byte on the wire.
	p.wait(fmt.Sprintf(`document.querySelector('.panel.active .m-in').dataset.n === '%d'`, total))
	caught := time.Since(start)
	p.wait(fmt.Sprintf(`window.bench.lat.length === %d`, clicks))
	var b figures
	p.eval(`window.bench`, &b)
	var bytesIn, kept, dropped, skipped int
	p.eval(`+document.querySelector('.panel.active .b-in').dataset.n`, &bytesIn)
	p.eval(`(() => { const s = window.sockit.sessions.get(window.sockit.active); return s.items.filter(e => e.kind === 'data').length })()`, &kept)
	p.eval(`window.sockit.sessions.get(window.sockit.active).dropped`, &dropped)
	p.eval(`window.sockit.sessions.get(window.sockit.active).skipped`, &skipped)
	wantBytes := total * lineLen
	if bytesIn != wantBytes {
		t.Errorf("bytes in: %d, want %d", bytesIn, wantBytes)
	}
	if b.Wrong > 0 {
		t.Errorf("%d clicks showed the other view after they were painted", b.Wrong)
	}
	p50, p95, pmax, longest := summary(b)
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("flood: %d lines (%d B each) at %d/s, sent in %v, all counted after %v; the page kept %d messages (%d dropped from the page, %d skipped)",
		total, lineLen, rate, sent.Round(time.Millisecond), caught.Round(time.Millisecond), kept, dropped, skipped)
	t.Logf("flood: %d clicks, click-to-effect p50 %.0f ms, p95 %.0f ms, max %.0f ms; %d long tasks, longest %.0f ms, all: %v; load average %s",
		clicks, p50, p95, pmax, len(b.Long), longest, b.Long, strings.TrimSpace(string(load)))
	if clicks < 4*seconds-4 {
		t.Errorf("only %d clicks in %v", clicks, sent)
	}
	strict := os.Getenv("SOCKIT_FLOOD_STRICT") == "1"
	if p95 > 100 {
		if strict {
			t.Errorf("click-to-effect p95 %.0f ms, target 100 ms", p95)
		} else {
			t.Logf("NOTE: click-to-effect p95 %.0f ms is over the 100 ms target", p95)
		}
	}
	if longest > 50 {
		if strict {
			t.Errorf("a main-thread task took %.0f ms, target 50 ms", longest)
		} else {
			t.Logf("NOTE: a main-thread task took %.0f ms, over the 50 ms target", longest)
		}
	}
}

// traceFlood records a Chromium performance trace of the flood into the
// file SOCKIT_FLOOD_TRACE names (Chrome's JSON trace format, for
// chrome://tracing, Perfetto or DevTools), to tell what the page's long
// tasks are made of. Without the variable it does nothing. The returned
// func ends the trace and writes the file.
func traceFlood(t *testing.T, p *page) func() {
	path := os.Getenv("SOCKIT_FLOOD_TRACE")
	if path == "" {
		return func() {}
	}
	var (
		mu     sync.Mutex
		events []jsontext.Value
	)
	complete := make(chan struct{})
	chromedp.ListenTarget(p.ctx, func(ev any) {
		switch ev := ev.(type) {
		case *tracing.EventDataCollected:
			mu.Lock()
			events = append(events, ev.Value...)
			mu.Unlock()
		case *tracing.EventTracingComplete:
			close(complete)
		}
	})
	p.run(tracing.Start().WithTransferMode(tracing.TransferModeReportEvents).WithTraceConfig(&tracing.TraceConfig{
		IncludedCategories: []string{"devtools.timeline", "disabled-by-default-devtools.timeline", "v8", "v8.execute", "disabled-by-default-v8.gc", "blink", "toplevel", "loading"},
	}))
	return func() {
		p.run(tracing.End())
		select {
		case <-complete:
		case <-p.ctx.Done():
			t.Fatal("the trace did not complete")
		}
		mu.Lock()
		defer mu.Unlock()
		out := []byte(`{"traceEvents":[`)
		for i, v := range events {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, v...)
		}
		out = append(out, "]}"...)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("trace: %d events in %s", len(events), path)
		t.Log(taskSummary(events))
	}
}

// taskSummary tells, from a trace, how long the page's main thread ran
// each task for (its thread time) beside how long the task took: a task
// that took 80 ms while running for 8 waited for a core the rest.
func taskSummary(events []jsontext.Value) string {
	type ev struct {
		Name string          `json:"name"`
		Ph   string          `json:"ph"`
		Pid  int             `json:"pid"`
		Tid  int             `json:"tid"`
		Dur  float64         `json:"dur"`
		Tdur float64         `json:"tdur"`
		Args json.RawMessage `json:"args"`
	}
	type thread struct{ pid, tid int }
	main := map[thread]bool{}
	var tasks []ev
	for _, raw := range events {
		var e ev
		if json.Unmarshal(raw, &e) != nil {
			continue
		}
		switch {
		case e.Ph == "M" && e.Name == "thread_name" && strings.Contains(string(e.Args), `"CrRendererMain"`):
			main[thread{e.Pid, e.Tid}] = true
		case e.Ph == "X" && e.Name == "ThreadControllerImpl::RunTask":
			tasks = append(tasks, e)
		}
	}
	per := map[thread][]ev{}
	var busiest thread
	for _, e := range tasks {
		th := thread{e.Pid, e.Tid}
		if main[th] {
			per[th] = append(per[th], e)
			if len(per[th]) > len(per[busiest]) {
				busiest = th
			}
		}
	}
	ts := per[busiest]
	if len(ts) == 0 {
		return "trace: no renderer main-thread tasks"
	}
	var cpu []float64
	var long []string
	total := 0.0
	for _, e := range ts {
		cpu = append(cpu, e.Tdur/1000)
		total += e.Tdur / 1000
		if e.Dur > 50_000 {
			long = append(long, fmt.Sprintf("%.0f/%.1f", e.Dur/1000, e.Tdur/1000))
		}
	}
	sort.Float64s(cpu)
	return fmt.Sprintf("trace: %d main-thread tasks ran %.0f ms in all; thread time p99 %.1f ms, max %.1f ms; tasks over 50 ms (took/ran, ms): %v",
		len(ts), total, cpu[len(cpu)*99/100], cpu[len(cpu)-1], long)
}

package web

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/event"
)

func dataEvent(dir event.Dir, s string) *event.Event {
	return &event.Event{Time: time.Now(), Kind: event.Data, Dir: dir, Data: []byte(s)}
}

func TestLogbookCounts(t *testing.T) {
	l := newLogbook(nil, 0)
	buf := []byte("hello")
	e := &event.Event{Kind: event.Data, Dir: event.In, Data: buf}
	l.sink(e)
	copy(buf, "XXXXX") // the engine reuses its buffers
	l.sink(dataEvent(event.Out, "abcd"))
	l.sink(&event.Event{Kind: event.Connect})
	recs, lost, next := l.since(0, 10, 1<<20)
	if lost != 0 || next != 3 || len(recs) != 3 || string(recs[0].ev.Data) != "hello" {
		t.Fatalf("since(0) = %d records (first %q), lost %d, next %d", len(recs), recs[0].ev.Data, lost, next)
	}
	c := l.stats(time.Now())
	if c.BytesIn != 5 || c.MsgsIn != 1 || c.BytesOut != 4 || c.MsgsOut != 1 {
		t.Errorf("counters %+v", c)
	}
	// The rate is bytes over the time since the last sample.
	c = l.stats(time.Now().Add(2 * time.Second))
	if c.RateIn != 2 || c.RateOut != 1 { // 5 and 4 bytes in a little over 2s
		t.Errorf("rates after 2s: %+v, want 2 and 1 B/s", c)
	}
	l.clear(true)
	if c := l.stats(time.Now()); c != (counters{}) {
		t.Errorf("after reset: %+v", c)
	}
}

// TestLogbookBounds: the log keeps the newest events within its limits,
// counts what it dropped, and a reader that fell behind learns how many
// it lost.
func TestLogbookBounds(t *testing.T) {
	l := newLogbook(nil, 0)
	l.maxRecs = 100
	for i := 0; i < 5000; i++ {
		l.sink(dataEvent(event.In, fmt.Sprintf("%04d", i)))
	}
	first, next, _ := l.bounds()
	if next != 5000 || next-first != 100 {
		t.Fatalf("bounds %d..%d, want the last 100 of 5000", first, next)
	}
	recs, lost, nxt := l.since(10, 1000, 1<<20)
	if lost != first-10 || len(recs) != 100 || nxt != 5000 || string(recs[0].ev.Data) != "4900" {
		t.Fatalf("since(10): %d records from %q, lost %d, next %d", len(recs), recs[0].ev.Data, lost, nxt)
	}
	all, evicted := l.all()
	if len(all) != 100 || evicted != 4900 {
		t.Errorf("all: %d, evicted %d", len(all), evicted)
	}
	// The size limit: 300-byte messages, room for three with what each
	// costs besides its data.
	l.maxSize = 3 * (320 + recordOverhead)
	for i := 0; i < 10; i++ {
		l.sink(dataEvent(event.In, strings.Repeat("x", 300)))
	}
	all, _ = l.all()
	size := 0
	for _, r := range all {
		size += recordCost(&r.ev)
	}
	if size > l.maxSize || len(all) != 3 || l.info().Held != int64(size) {
		t.Errorf("%d events costing %d bytes held (info %+v), limit %d", len(all), size, l.info(), l.maxSize)
	}
	// Batches stop at the byte limit but always carry one event.
	recs, _, _ = l.since(0, 1000, 10)
	if len(recs) != 1 {
		t.Errorf("a batch of %d events under a tiny byte limit", len(recs))
	}
	_, _, epoch := l.bounds()
	l.clear(false)
	if f, n, e := l.bounds(); f != n || e == epoch {
		t.Errorf("after clear: bounds %d..%d epoch %d (was %d)", f, n, e, epoch)
	}
}

func TestSignal(t *testing.T) {
	s := newSignal()
	w := s.wait()
	select {
	case <-w:
		t.Fatal("woke without a poke")
	default:
	}
	s.poke()
	s.poke()
	<-w
	w = s.wait()
	select {
	case <-w:
		t.Fatal("a poke before wait woke the next wait")
	default:
	}
	done := make(chan struct{})
	go func() {
		for i := 0; i < 1000; i++ {
			s.poke()
		}
		close(done)
	}()
	for i := 0; i < 100; i++ {
		s.wait()
	}
	<-done
	w = s.wait()
	s.poke()
	<-w
}

// TestSaved: saved messages survive a restart, replace by name, and a
// damaged file is moved aside rather than overwritten.
func TestSaved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "saved.json")
	s := loadSaved(path, t.Logf)
	if err := s.put(savedMsg{Name: "a", Data: "1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.put(savedMsg{Name: "b", Data: "01 02", Hex: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.put(savedMsg{Name: "a", Data: "2", EOL: "crlf"}); err != nil {
		t.Fatal(err)
	}
	if err := s.remove("zzz"); err == nil {
		t.Error("removing a missing message is not an error")
	}
	again := loadSaved(path, t.Logf)
	list, _ := again.snapshot()
	if len(list) != 2 || list[0] != (savedMsg{Name: "a", Data: "2", EOL: "crlf"}) || !list[1].Hex {
		t.Fatalf("after reload: %+v", list)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("saved.json mode %v, %v; want 0600", fi.Mode(), err)
	}
	again.remove("a")
	list, _ = loadSaved(path, t.Logf).snapshot()
	if len(list) != 1 || list[0].Name != "b" {
		t.Errorf("after remove: %+v", list)
	}

	os.WriteFile(path, []byte("{not json"), 0o600)
	var logged bytes.Buffer
	s = loadSaved(path, func(f string, a ...any) { fmt.Fprintf(&logged, f, a...) })
	if list, _ := s.snapshot(); len(list) != 0 || !strings.Contains(logged.String(), "not valid JSON") {
		t.Errorf("damaged file: %+v, logged %q", list, logged.String())
	}
	if b, err := os.ReadFile(path + ".bad"); err != nil || string(b) != "{not json" {
		t.Errorf("the damaged file was not kept: %v", err)
	}
}

// TestLogbookMemory is the flood of tiny messages that grew sockit ui to
// 200 MB: a million 8-byte messages into a log bounded at 8 MiB keep the
// heap within a small multiple of the bound, the drops are counted, and
// Clear gives the memory back.
func TestLogbookMemory(t *testing.T) {
	const bound = 8 << 20
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	base := heap()
	l := newLogbook(nil, bound)
	e := dataEvent(event.In, "12345678")
	const n = 1_000_000
	for i := 0; i < n; i++ {
		l.sink(e)
	}
	held := heap() - min(base, heap())
	li := l.info()
	if li.Held > bound || li.Dropped == 0 || li.Dropped+uint64(len(l.recs)-l.start) != n || li.DroppedBytes != int64(li.Dropped)*8 {
		t.Fatalf("log info %+v after %d events (%d held)", li, n, len(l.recs)-l.start)
	}
	if held > 3*bound {
		t.Errorf("heap grew by %d MiB for a log bounded at %d MiB", held>>20, bound>>20)
	}
	t.Logf("heap +%d MiB for %d events held of %d (bound %d MiB)", held>>20, len(l.recs)-l.start, n, bound>>20)
	l.clear(false)
	after := heap() - min(base, heap())
	if after > 1<<20 {
		t.Errorf("heap still %d KiB above the start after Clear", after>>10)
	}
	if li := l.info(); li.Held != 0 || li.Dropped != 0 {
		t.Errorf("after Clear: %+v", li)
	}
	runtime.KeepAlive(l)
}

// TestRenderLeavesOutRawForPlainText: a message whose text is its bytes
// goes to the page without its bytes a second time (base64); any message
// the text does not give back exactly keeps them.
func TestRenderLeavesOutRawForPlainText(t *testing.T) {
	utf8, _ := codec.Lookup("utf-8")
	gbk, _ := codec.Lookup("gbk")
	for _, c := range []struct {
		enc  *codec.Encoding
		data string
		raw  bool
	}{
		{utf8, "flood 00000001 0123456789abcdef", false},
		{utf8, "你好", false},
		{utf8, "a\\b", true},     // shown as a\\b
		{utf8, "ok\r", true},     // shown as ok\r
		{utf8, "\x01\x03", true}, // escapes
		{gbk, gbkHello, true},    // decoded text is other bytes
		{utf8, strings.Repeat("x", previewBytes+1), true},
	} {
		r := &record{seq: 1, ev: *dataEvent(event.In, c.data)}
		w := render(r, c.enc, false)
		if got := w.Raw != nil; got != c.raw {
			t.Errorf("%q in %s: raw sent %v, want %v", c.data, c.enc.Name(), got, c.raw)
		}
	}
}

// TestLogbookWireAndCRLF: the counters count the bytes on the wire that
// the engine reports (framing included), and with line framing a "\r"
// ending a line is part of its line end, not of the message.
func TestLogbookWireAndCRLF(t *testing.T) {
	l := newLogbook(nil, 0)
	l.crlf = true
	e := dataEvent(event.In, "OK\r")
	e.Wire = 4
	l.sink(e)
	l.sink(dataEvent(event.Out, "x")) // no Wire: its data is what was sent
	c := l.stats(time.Now())
	if c.BytesIn != 4 || c.BytesOut != 1 {
		t.Errorf("counted %d in, %d out; want 4, 1", c.BytesIn, c.BytesOut)
	}
	recs, _ := l.all()
	if got := string(recs[0].ev.Data); got != "OK" {
		t.Errorf("message %q, want OK", got)
	}
}

package web

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockit/sockit/internal/event"
)

// A logbook keeps one session's events for the page and for the log
// download, and counts bytes and messages each way. It holds the most
// recent events up to a number and a size: a session that runs for hours
// at full speed must not eat the machine's memory. What fell off the front
// is counted, and said in the download.
type logbook struct {
	poke func() // called after each new event (wakes the WebSocket writers)
	// crlf: line framing, where a line may end in "\r\n" as well as "\n":
	// a "\r" ending a message is part of its line end, not of the line.
	crlf bool
	// perConn counts each live conversation's messages, in and out.
	perConn map[uint64]*[2]int64

	mu      sync.Mutex
	recs    []record // recs[start:] are live
	start   int
	first   uint64 // seq of recs[start]
	next    uint64 // seq of the next event
	bytes   int    // data bytes held
	evicted uint64 // events dropped for memory since the last clear
	epoch   uint64 // bumps when the log is cleared or re-rendered
	maxRecs int
	maxSize int

	c       counters
	rateAt  time.Time
	rateIn  int64 // bytes/s over the last sample
	rateOut int64
	lastIn  int64
	lastOut int64
}

// record is a stored event: the engine's Event with Data copied.
type record struct {
	seq uint64
	ev  event.Event
}

type counters struct {
	BytesIn  int64 `json:"bytesIn"`
	BytesOut int64 `json:"bytesOut"`
	MsgsIn   int64 `json:"msgsIn"`
	MsgsOut  int64 `json:"msgsOut"`
	RateIn   int64 `json:"rateIn"`  // bytes per second, over the last second or so
	RateOut  int64 `json:"rateOut"` // bytes per second
}

const (
	defaultMaxRecs = 100_000
	defaultMaxSize = 64 << 20
)

func newLogbook(poke func()) *logbook {
	return &logbook{poke: poke, maxRecs: defaultMaxRecs, maxSize: defaultMaxSize, epoch: 1, rateAt: time.Now()}
}

// sink is the session's event.Sink. It copies the data, since the engine
// reuses its buffers.
func (l *logbook) sink(e *event.Event) {
	ev := *e
	if len(e.Data) > 0 {
		ev.Data = append([]byte(nil), e.Data...)
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	l.mu.Lock()
	if ev.Kind == event.Data {
		// The counters count what crossed the wire, framing included;
		// the message is the payload, a line without its "\r\n" too.
		wire := int64(ev.Wire)
		if wire == 0 {
			wire = int64(len(ev.Data))
		}
		if l.crlf && len(ev.Data) > 0 && ev.Data[len(ev.Data)-1] == '\r' {
			ev.Data = ev.Data[:len(ev.Data)-1]
		}
		if ev.Dir == event.In {
			l.c.BytesIn += wire
			l.c.MsgsIn++
		} else {
			l.c.BytesOut += wire
			l.c.MsgsOut++
		}
		if ev.Conn != 0 {
			if l.perConn == nil {
				l.perConn = map[uint64]*[2]int64{}
			}
			n := l.perConn[ev.Conn]
			if n == nil {
				n = new([2]int64)
				l.perConn[ev.Conn] = n
			}
			if ev.Dir == event.In {
				n[0]++
			} else {
				n[1]++
			}
		}
	} else if ev.Kind == event.Close && ev.Conn != 0 {
		delete(l.perConn, ev.Conn)
	}
	l.recs = append(l.recs, record{seq: l.next, ev: ev})
	l.next++
	l.bytes += len(ev.Data)
	for len(l.recs)-l.start > l.maxRecs || l.bytes > l.maxSize && len(l.recs)-l.start > 1 {
		l.bytes -= len(l.recs[l.start].ev.Data)
		l.recs[l.start] = record{}
		l.start++
		l.first++
		l.evicted++
	}
	if l.start > 1024 && l.start > len(l.recs)/2 {
		n := copy(l.recs, l.recs[l.start:])
		clear(l.recs[n:])
		l.recs = l.recs[:n]
		l.start = 0
	}
	l.mu.Unlock()
	if l.poke != nil {
		l.poke()
	}
}

// since returns up to max events from seq on (fewer when their data passes
// maxBytes), and how many events before them were lost for good because
// they fell off the front. The records are shared: do not change them.
func (l *logbook) since(seq uint64, max, maxBytes int) (recs []record, lost uint64, next uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if seq < l.first {
		lost = l.first - seq
		seq = l.first
	}
	i := l.start + int(seq-l.first)
	size := 0
	for ; i < len(l.recs) && len(recs) < max; i++ {
		r := l.recs[i]
		size += min(len(r.ev.Data), previewBytes) + 64
		if len(recs) > 0 && size > maxBytes {
			break
		}
		recs = append(recs, r)
	}
	return recs, lost, seq + uint64(len(recs))
}

// bounds are the seq of the oldest event held and of the next one, and
// the epoch.
func (l *logbook) bounds() (first, next, epoch uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first, l.next, l.epoch
}

// evictedCount is how many events fell off the front since the last clear.
func (l *logbook) evictedCount() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.evicted
}

// peerMsgs is how many messages conversation id received and sent.
func (l *logbook) peerMsgs(id uint64) (in, out int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := l.perConn[id]; n != nil {
		return n[0], n[1]
	}
	return 0, 0
}

// all returns every event held and how many were dropped before them.
func (l *logbook) all() ([]record, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]record(nil), l.recs[l.start:]...), l.evicted
}

// clear forgets the events (and, with counts, zeroes the counters).
func (l *logbook) clear(counts bool) {
	l.mu.Lock()
	clear(l.recs)
	l.recs = l.recs[:0]
	l.start = 0
	l.first = l.next
	l.bytes = 0
	l.evicted = 0
	l.epoch++
	if counts {
		l.c = counters{}
		l.lastIn, l.lastOut, l.rateIn, l.rateOut = 0, 0, 0, 0
		l.rateAt = time.Now()
	}
	l.mu.Unlock()
	if l.poke != nil {
		l.poke()
	}
}

// rerender asks every page to fetch the log again (the encoding changed).
func (l *logbook) rerender() {
	l.mu.Lock()
	l.epoch++
	l.mu.Unlock()
	if l.poke != nil {
		l.poke()
	}
}

// stats returns the counters, with the rates brought up to date when a
// second or more has passed since the last sample.
func (l *logbook) stats(now time.Time) counters {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d := now.Sub(l.rateAt); d >= time.Second {
		l.rateIn = int64(float64(l.c.BytesIn-l.lastIn) / d.Seconds())
		l.rateOut = int64(float64(l.c.BytesOut-l.lastOut) / d.Seconds())
		l.lastIn, l.lastOut, l.rateAt = l.c.BytesIn, l.c.BytesOut, now
	}
	c := l.c
	c.RateIn, c.RateOut = l.rateIn, l.rateOut
	return c
}

// signal wakes every waiter at once: wait returns a channel that is closed
// at the next poke. Pokes are cheap when nobody has looked since the last.
type signal struct {
	pending atomic.Bool
	mu      sync.Mutex
	ch      chan struct{}
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }

func (s *signal) poke() {
	if s.pending.Load() {
		return // nobody has looked since the last poke
	}
	s.mu.Lock()
	if !s.pending.Load() {
		s.pending.Store(true)
		close(s.ch)
	}
	s.mu.Unlock()
}

func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending.Load() {
		s.ch = make(chan struct{})
		s.pending.Store(false)
	}
	return s.ch
}

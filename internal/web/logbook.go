package web

import (
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/sockit/sockit/internal/event"
)

// A logbook keeps one session's events for the page and for the log
// download, and counts bytes and messages each way. It holds the most
// recent events up to a size in bytes (64 MiB unless sockit ui --max-log
// says otherwise), counting what each event costs in memory and not only
// its data, so that a flood of tiny messages is held to the same bound as
// a few large ones: a session that runs for hours at full speed must not
// eat the machine's memory. What fell off the front is counted, shown in
// the page and said in the download; Clear gives the memory back.
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
	bytes   int    // what the events held cost (recordCost)
	evicted uint64 // events dropped for memory since the last clear
	evData  int64  // their data bytes
	epoch   uint64 // bumps when the log is cleared or re-rendered
	maxRecs int    // 0: no limit on the number (the size is the limit)
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

// DefaultMaxLog is how much memory a session's log may take unless
// Options.MaxLog says otherwise.
const DefaultMaxLog = 64 << 20

// recordOverhead is what an event costs besides its data: the record in
// the slice (counted twice, as the slice may be twice as long as what
// it holds) and the data's allocation.
const recordOverhead = 2*int(unsafe.Sizeof(record{})) + 16

func recordCost(e *event.Event) int {
	return recordOverhead + cap(e.Data) + len(e.Err) + len(e.Msg) + len(e.Reason)
}

// logInfo is what the page shows of the logbook's bound.
type logInfo struct {
	Held         int64  `json:"held"`         // bytes of memory the log holds
	Cap          int64  `json:"cap"`          // its bound
	Dropped      uint64 `json:"dropped"`      // events dropped for it since the last clear
	DroppedBytes int64  `json:"droppedBytes"` // their data
}

func newLogbook(poke func(), maxSize int) *logbook {
	if maxSize <= 0 {
		maxSize = DefaultMaxLog
	}
	return &logbook{poke: poke, maxSize: maxSize, epoch: 1, rateAt: time.Now()}
}

func (l *logbook) info() logInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return logInfo{Held: int64(l.bytes), Cap: int64(l.maxSize), Dropped: l.evicted, DroppedBytes: l.evData}
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
	l.bytes += recordCost(&ev)
	for l.maxRecs > 0 && len(l.recs)-l.start > l.maxRecs || l.bytes > l.maxSize && len(l.recs)-l.start > 1 {
		r := &l.recs[l.start]
		l.bytes -= recordCost(&r.ev)
		l.evData += int64(len(r.ev.Data))
		*r = record{}
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

// clear forgets the events (and, with counts, zeroes the counters), and
// lets their memory go: the slice too, which a flood made large.
func (l *logbook) clear(counts bool) {
	l.mu.Lock()
	l.recs = nil
	l.start = 0
	l.first = l.next
	l.bytes = 0
	l.evicted = 0
	l.evData = 0
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

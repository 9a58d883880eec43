// Package event is the one record of what happened on sockit's sockets:
// listeners opening, peers connecting, data in and out, closes and errors.
// Every observer (the terminal printer, --json, --record, the web UI,
// counters) reads the same events, so the front ends cannot drift apart and
// replay reads exactly what --record wrote.
//
// It does no I/O on sockets and keeps no state beyond what a writer needs.
package event

import (
	"sync"
	"time"
)

// Kind says what an event is about. The names are a published interface
// (docs/events.md): consumers of --json and --record rely on them, so a
// kind is never renamed without reading the old name too.
type Kind string

const (
	Listen  Kind = "listen"  // a server is ready: Local is its address
	Connect Kind = "connect" // a conversation began: a client connected, a server accepted Peer, or a UDP peer's first datagram
	Data    Kind = "data"    // bytes crossed the socket in Dir
	Close   Kind = "close"   // a conversation ended; Reason says why
	Refused Kind = "refused" // a peer was turned away (--allow/--deny, --max-conns)
	Error   Kind = "error"   // something failed; Err says what
	Info    Kind = "info"    // a note for people (TLS fingerprint, proxy…)
	// Retry: a connect failed, or a client's connection broke, and
	// Attempt will be made after Wait (--retry, --forever).
	Retry Kind = "retry"
)

// legacyOpen is what connect events were called before they took the
// names docs/events.md gives; transcripts recorded then still read (as
// Connect).
const legacyOpen Kind = "open"

// Kinds returns every kind sockit writes, in the order docs/events.md
// lists them.
func Kinds() []Kind { return []Kind{Listen, Connect, Data, Close, Refused, Error, Info, Retry} }

// Dir is the direction of a data event.
type Dir string

const (
	In  Dir = "in"
	Out Dir = "out"
)

// Event is one thing that happened. Data aliases a buffer that is only
// valid during the Sink call: observers that keep it must copy it.
type Event struct {
	Time   time.Time
	Kind   Kind
	Conn   uint64 // conversation id, 0 for server-wide events
	Proto  string // tcp, udp, tls, unix, unixgram
	Local  string
	Peer   string
	Dir    Dir
	Data   []byte
	Wire   int // data: bytes on the wire, framing included (0: len(Data)); not in the JSON
	Err    string
	Reason string // close and refused: why
	Msg    string // info: the note
	// Option names the option that governs what Reason or Err says, as
	// the engine names it ("max-conns", "deny", "max-message"): the limit
	// reached, the list that refused. Reason and Err name no flag; each
	// front end shows Option its own way (the command line as --max-conns,
	// the web UI as its form label).
	Option   string
	Frame    string // open: the --frame of a framed stream (data events then carry messages without it)
	BytesIn  int64  // close: totals for the conversation
	BytesOut int64
	Attempt  int           // retry: the number of the try about to be made (1 is the first after a failure or a break)
	Wait     time.Duration // retry: how long until then
}

// Sink receives events. It is called synchronously on the goroutine that
// moved the data, so it must be quick and must not keep Data.
type Sink func(*Event)

// Tee returns a Sink that calls each non-nil sink in turn, or nil when
// there are none (so callers can take the fast path).
func Tee(sinks ...Sink) Sink {
	var live []Sink
	for _, s := range sinks {
		if s != nil {
			live = append(live, s)
		}
	}
	switch len(live) {
	case 0:
		return nil
	case 1:
		return live[0]
	}
	return func(e *Event) {
		for _, s := range live {
			s(e)
		}
	}
}

// Locked returns a Sink that serialises calls to s, for observers fed by
// many conversations at once.
func Locked(s Sink) Sink {
	if s == nil {
		return nil
	}
	var mu sync.Mutex
	return func(e *Event) {
		mu.Lock()
		s(e)
		mu.Unlock()
	}
}

package replay

import (
	"encoding/binary"
	"slices"
	"time"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/fail"
	"github.com/sockit/sockit/internal/frame"
)

// A Book is every exchange of a transcript's conversations: what a client
// asked and what the server answered, for a mock server that answers each
// request by what it asks (Mock) rather than by where it comes in one
// conversation (Player).
//
// A request is the client's messages up to the server's next message; its
// response is the server's messages until the client speaks again. What the
// server said before the client said anything is a greeting. Each
// distinct request and answer is kept once, so a recording of many
// conversations that say the same things takes the memory of one.
type Book struct {
	Recorded Role   // the side that made the recording
	Proto    string // of the first conversation with data
	Frame    string // its recorded --frame; "" for raw streams and datagrams

	exchanges     []exchange // in the order they began in the transcript
	conversations int
	requests      int // distinct
	answers       int // distinct
}

// exchange is one request and its answer, as recorded.
type exchange struct {
	req *request  // nil: a greeting
	ans *response // nil: the server did not answer
	seq int       // the record its first message was
}

// request is the client's messages, encoded as by appendMsgs.
type request struct{ enc string }

// response is the server's messages, encoded as by appendMsgs, and the
// pause before each in the recording (the first time it was recorded).
type response struct {
	enc  string
	gaps []time.Duration
}

// appendMsgs appends msg to an encoding of messages that keeps their
// boundaries: each is its length (uvarint) and its bytes. No encoding of
// messages is the start of another's unless its messages are the start
// of the other's, so a byte prefix is a message prefix.
func appendMsgs(dst []byte, msg []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(msg)))
	return append(dst, msg...)
}

// encLen is the length of a message of n bytes encoded by appendMsgs.
func encLen(n int) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], uint64(n)) + n
}

// splitMsgs undoes appendMsgs.
func splitMsgs(enc string) [][]byte {
	var msgs [][]byte
	b := []byte(enc)
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			break // cannot happen: enc came from appendMsgs
		}
		msgs = append(msgs, b[k:k+int(n)])
		b = b[k+int(n):]
	}
	return msgs
}

// Conversations is how many conversations of the transcript carried data
// into the book; Exchanges how many exchanges (greetings included) were
// recorded, and how many distinct requests they hold.
func (b *Book) Conversations() int { return b.conversations }
func (b *Book) Exchanges() int     { return len(b.exchanges) }
func (b *Book) Requests() int      { return b.requests }

// A BookLoader builds a Book from a transcript, a record at a time, so a
// transcript of any size loads in the memory of what it says once.
type BookLoader struct {
	b     Book
	conn  uint64 // 0: every conversation
	data  bool   // a data event was seen
	found bool   // conversation conn was seen
	open  map[uint64]*pending
	order []uint64 // open conversations, in the order they began
	reqs  map[string]*request
	anss  map[string]*response
	seq   int // records read
}

// pending is a conversation being read: the exchange it is in.
type pending struct {
	proto, frame string
	counted      bool            // it carried data, and was counted
	req, ans     []byte          // encoded messages so far
	gaps         []time.Duration // before each message of ans
	last         time.Time       // of its last message
	seq          int             // the record the exchange began at
}

// NewBookLoader returns a loader of every conversation of a transcript,
// or only of conversation conn when it is not 0.
func NewBookLoader(conn uint64) *BookLoader {
	return &BookLoader{
		b:    Book{Recorded: Client},
		conn: conn,
		open: map[uint64]*pending{},
		reqs: map[string]*request{},
		anss: map[string]*response{},
	}
}

// Add reads one record of the transcript, in order.
func (l *BookLoader) Add(r event.Record) error {
	l.seq++
	if r.Event == event.Listen && !l.data {
		l.b.Recorded = Server
	}
	if r.Conn == 0 || l.conn != 0 && r.Conn != l.conn {
		return nil // server-wide, the UI's own sends, or another conversation
	}
	switch r.Event {
	case event.Connect:
		l.found = true
		// A number seen again begins a new conversation (transcripts of
		// two runs put one after the other).
		l.end(r.Conn)
		l.begin(r.Conn, r.Proto, r.Frame)
	case event.Close:
		l.end(r.Conn)
	case event.Data:
		l.found = true
		l.data = true
		b, err := r.Bytes()
		if err != nil {
			return fail.Inputf("conversation %d: %v", r.Conn, err)
		}
		p := l.open[r.Conn]
		if p == nil {
			p = l.begin(r.Conn, r.Proto, "")
		}
		if !p.counted {
			if err := l.count(r.Conn, p); err != nil {
				return err
			}
		}
		gap := time.Duration(0)
		if !p.last.IsZero() && !r.T.IsZero() {
			gap = max(0, r.T.Sub(p.last))
		}
		p.last = r.T
		if len(p.req) == 0 && len(p.ans) == 0 {
			p.seq = l.seq
		}
		fromClient := (r.Dir == event.In) == (l.b.Recorded == Server)
		if fromClient {
			if len(p.ans) > 0 {
				l.commit(p) // the client speaks again: the answer is whole
				p.seq = l.seq
			}
			p.req = appendMsgs(p.req, b)
		} else {
			p.ans = appendMsgs(p.ans, b)
			p.gaps = append(p.gaps, gap)
		}
	}
	return nil
}

func (l *BookLoader) begin(conn uint64, proto, frame string) *pending {
	p := &pending{proto: proto, frame: frame}
	l.open[conn] = p
	l.order = append(l.order, conn)
	return p
}

// count counts a conversation's first data into the book; every
// conversation must be framed as the first one was.
func (l *BookLoader) count(conn uint64, p *pending) error {
	if l.b.conversations == 0 {
		l.b.Proto, l.b.Frame = p.proto, p.frame
	} else if p.frame != l.b.Frame {
		return fail.Inputf("conversation %d was recorded with %s, an earlier one with %s: a mock answers in one framing", conn, frameName(p.frame), frameName(l.b.Frame)).
			WithHint("Note that %s N replays one conversation of the transcript.", fail.Option("conn"))
	}
	p.counted = true
	l.b.conversations++
	return nil
}

// frameName says how a conversation was framed, with the option named as
// each front end writes it ("--frame len16" on the command line).
func frameName(f string) *fail.Error {
	if f == "" {
		return fail.Inputf("no %s", frame.OptFrame)
	}
	return fail.Inputf("%s %s", frame.OptFrame, f)
}

// end commits what is left of conversation conn and forgets it.
func (l *BookLoader) end(conn uint64) {
	p := l.open[conn]
	if p == nil {
		return
	}
	if len(p.req) > 0 || len(p.ans) > 0 {
		l.commit(p)
	}
	delete(l.open, conn)
	if i := slices.Index(l.order, conn); i >= 0 {
		l.order = slices.Delete(l.order, i, i+1)
	}
}

// commit adds p's exchange to the book and starts the next.
func (l *BookLoader) commit(p *pending) {
	x := exchange{seq: p.seq}
	if len(p.req) > 0 {
		x.req = l.reqs[string(p.req)]
		if x.req == nil {
			x.req = &request{enc: string(p.req)}
			l.reqs[x.req.enc] = x.req
			l.b.requests++
		}
	}
	if len(p.ans) > 0 {
		x.ans = l.anss[string(p.ans)]
		if x.ans == nil {
			x.ans = &response{enc: string(p.ans), gaps: p.gaps}
			l.anss[x.ans.enc] = x.ans
			l.b.answers++
		}
	}
	l.b.exchanges = append(l.b.exchanges, x)
	p.req, p.ans, p.gaps = p.req[:0], p.ans[:0], nil
}

// Book returns the book, once every record was added: the exchanges of
// conversations still open at the end of the transcript (cut short) are
// in it too.
func (l *BookLoader) Book() (*Book, error) {
	for len(l.order) > 0 {
		l.end(l.order[0])
	}
	// Committed when they ended; used in the order they began.
	slices.SortStableFunc(l.b.exchanges, func(a, b exchange) int { return a.seq - b.seq })
	switch {
	case l.conn != 0 && !l.found:
		return nil, fail.Inputf("the transcript has no conversation %d", l.conn)
	case len(l.b.exchanges) == 0:
		return nil, fail.Inputf("the transcript has no data events: nothing to replay")
	}
	b := l.b
	return &b, nil
}

package replay

import (
	"bytes"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/sockit/sockit/internal/frame"
)

// index is a Book turned into what a live conversation can be matched
// against: requests in the form they arrive in (bytes of a raw stream, or
// messages), and answers in the form they are sent in.
type index struct {
	units   bool              // a request is messages (framed, datagrams), not bytes
	exact   map[string]*entry // by the request (units: encoded by appendMsgs)
	sorted  []string          // exact's keys, sorted: which requests a start could become
	lens    []int             // the lengths of exact's keys, longest first
	longest int
	first   [256]bool // the first bytes of exact's keys (raw)

	key   *regexp.Regexp
	keyed map[string]*entry // by --match-key

	greeting *entry
}

// entry is what the recording answered one request with, in order: the
// i-th time a conversation asks, it gets the i-th answer, and the last
// one after that.
type entry struct {
	msgs int   // messages in the request (units)
	runs []run // the answers, equal neighbours counted once
}

type run struct {
	r *reply // nil: nothing was answered
	n int
}

func (e *entry) add(r *reply) {
	if k := len(e.runs) - 1; k >= 0 && e.runs[k].r == r {
		e.runs[k].n++
		return
	}
	e.runs = append(e.runs, run{r, 1})
}

// reply is a recorded answer as it is sent: each of out with Write, or,
// raw, with WriteRaw; gaps are the recorded pauses before each (--timing).
type reply struct {
	out  [][]byte
	raw  bool
	gaps []time.Duration
}

// form is how the live conversations carry messages.
type form struct {
	packet bool       // each read is one message (datagrams, WebSocket)
	spec   frame.Spec // the framing of a stream
}

func (f form) units() bool { return f.packet || !f.spec.IsRaw() }

// packetProto reports whether conversations of proto keep message
// boundaries, so that a recording of them is made of messages.
func packetProto(proto string) bool {
	switch proto {
	case "udp", "unixgram", "ws", "wss", "dtls":
		return true
	}
	return false
}

// newIndex converts the book for conversations of form live.
func newIndex(b *Book, live form, key *regexp.Regexp, timing bool) (*index, error) {
	rec, err := frame.Parse(b.Frame)
	if err != nil && b.Frame != "" {
		return nil, err
	}
	if b.Frame == "" {
		rec = frame.Spec{}
	}
	recUnits := b.Frame != "" || packetProto(b.Proto)
	ix := &index{units: live.units(), exact: map[string]*entry{}, key: key}
	if key != nil {
		ix.keyed = map[string]*entry{}
	}

	// wire is recorded messages as bytes on a stream.
	wire := func(msgs [][]byte) []byte {
		var w []byte
		for _, m := range msgs {
			if !rec.IsRaw() {
				w, _ = rec.Append(w, m)
			} else {
				w = append(w, m...)
			}
		}
		return w
	}
	// asIs: the recorded messages are the live ones.
	asIs := live.packet || recUnits && (rec.IsRaw() || rec.String() == live.spec.String())

	// What each distinct request is, live: its exact key and its --match-key.
	type liveReq struct {
		exact, key string
		keyed      bool
	}
	keys := map[*request]liveReq{}
	liveKey := func(q *request) (string, int) {
		msgs := splitMsgs(q.enc)
		if !ix.units {
			return string(wire(msgs)), 1
		}
		if !asIs {
			msgs = split(wire(msgs), live.spec)
		}
		var enc []byte
		for _, m := range msgs {
			enc = appendMsgs(enc, m)
		}
		return string(enc), len(msgs)
	}
	replies := map[*response]*reply{}
	liveReply := func(a *response) *reply {
		if a == nil {
			return nil
		}
		if r, ok := replies[a]; ok {
			return r
		}
		msgs := splitMsgs(a.enc)
		r := &reply{gaps: a.gaps}
		switch {
		case live.packet || live.units() && asIs:
			r.out = msgs // each message framed (or a datagram) as it was
		case timing:
			r.raw = true
			for _, m := range msgs {
				r.out = append(r.out, wire([][]byte{m}))
			}
		default:
			r.raw = true
			r.out = [][]byte{wire(msgs)}
			r.gaps = r.gaps[:min(1, len(r.gaps))]
		}
		replies[a] = r
		return r
	}

	for _, x := range b.exchanges {
		r := liveReply(x.ans)
		if x.req == nil {
			if ix.greeting == nil {
				ix.greeting = &entry{}
			}
			ix.greeting.add(r)
			continue
		}
		lr, ok := keys[x.req]
		if !ok {
			var n int
			lr.exact, n = liveKey(x.req)
			if key != nil {
				lr.key, lr.keyed = keyOf(key, ix.text([]byte(lr.exact)))
			}
			keys[x.req] = lr
			if ix.exact[lr.exact] == nil {
				ix.exact[lr.exact] = &entry{msgs: n}
			}
		}
		ix.exact[lr.exact].add(r)
		if lr.keyed {
			ke := ix.keyed[lr.key]
			if ke == nil {
				ke = &entry{}
				ix.keyed[lr.key] = ke
			}
			ke.add(r)
		}
	}
	lens := map[int]bool{}
	for k := range ix.exact {
		if len(k) > 0 {
			ix.first[k[0]] = true
		}
		ix.sorted = append(ix.sorted, k)
		lens[len(k)] = true
		ix.longest = max(ix.longest, len(k))
	}
	sort.Strings(ix.sorted)
	for n := range lens {
		ix.lens = append(ix.lens, n)
	}
	slices.SortFunc(ix.lens, func(a, b int) int { return b - a })
	return ix, nil
}

// split cuts stream bytes into messages of spec; an incomplete message at
// the end is one too, so that no byte is lost.
func split(b []byte, spec frame.Spec) [][]byte {
	d := frame.NewDecoder(bytes.NewReader(b), spec, len(b)+1)
	var msgs [][]byte
	used := 0
	for {
		m, err := d.Next()
		if err != nil {
			if used < len(b) {
				msgs = append(msgs, b[used:])
			}
			return msgs
		}
		used += len(d.Wire())
		msgs = append(msgs, bytes.Clone(m))
	}
}

// text is what --match-key is matched against: a raw request's bytes, or the
// messages of one one after the other.
func (ix *index) text(k []byte) []byte {
	if !ix.units {
		return k
	}
	return bytes.Join(splitMsgs(string(k)), nil)
}

// keyOf is what key says a request is: its first group, or its whole
// match if it has no group (or the group took no part).
func keyOf(key *regexp.Regexp, text []byte) (string, bool) {
	loc := key.FindSubmatchIndex(text)
	if loc == nil {
		return "", false
	}
	if len(loc) >= 4 && loc[2] >= 0 {
		return string(text[loc[2]:loc[3]]), true
	}
	return string(text[loc[0]:loc[1]]), true
}

// longestPrefix is the longest recorded request that b begins with, and
// its length.
func (ix *index) longestPrefix(b []byte) (*entry, int) {
	for _, n := range ix.lens {
		if n > len(b) {
			continue
		}
		if e, ok := ix.exact[string(b[:n])]; ok {
			return e, n
		}
	}
	return nil, 0
}

// couldBecome reports whether b is the start of a longer recorded request.
func (ix *index) couldBecome(b []byte) bool {
	i := sort.SearchStrings(ix.sorted, string(b))
	return i < len(ix.sorted) && len(ix.sorted[i]) > len(b) && ix.sorted[i][:len(b)] == string(b)
}

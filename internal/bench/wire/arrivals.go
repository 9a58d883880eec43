package wire

// Window is the default duplicate window of Arrivals: how far behind the
// newest sequence number a datagram may arrive and still be checked for
// duplication. 65,536 sequence numbers cost 8 KiB per stream.
const Window = 1 << 16

// Arrivals counts one stream's datagrams as they arrive: distinct ones,
// duplicates, reordered ones, and the RFC 3550 interarrival jitter. Its
// memory is fixed when it is made (a ring bitmap of the last Window
// sequence numbers), whatever the sequence numbers that arrive, so that
// a receiver serving many senders, or a hostile one, stays bounded.
type Arrivals struct {
	bits []uint64 // bit s%n: s arrived, for s in [base, base+n)
	n    uint64   // sequence numbers the window covers
	base uint64   // the oldest sequence number the window covers
	top  uint64   // the newest sequence number seen
	any  bool

	Received   int64 // distinct datagrams (Late ones included)
	Duplicates int64
	Reordered  int64 // arrived after one with a higher sequence number
	Late       int64 // behind the window: counted, unchecked for duplication

	jitter      float64 // nanoseconds
	prevTransit int64
	haveTransit bool
}

// NewArrivals makes an Arrivals whose window covers n sequence numbers
// (rounded up to a multiple of 64; Window when n <= 0).
func NewArrivals(n int) *Arrivals {
	if n <= 0 {
		n = Window
	}
	words := (n + 63) / 64
	return &Arrivals{bits: make([]uint64, words), n: uint64(words) * 64}
}

// Add records datagram seq, sent at sentNS on the sender's clock and
// arriving at arrivedNS on the receiver's, and reports whether it was a
// duplicate. The two clocks need not agree: jitter uses differences of
// their differences, so a constant offset cancels out.
func (a *Arrivals) Add(seq uint64, sentNS, arrivedNS int64) (dup bool) {
	switch {
	case !a.any:
		a.any = true
		a.top = seq
		a.base = 0
		if seq >= a.n {
			a.base = seq - a.n + 1
		}
		a.set(seq)
	case seq > a.top:
		a.advance(seq)
		a.top = seq
		a.set(seq)
	case seq < a.base:
		a.Late++
		a.Reordered++
	default:
		if a.test(seq) {
			a.Duplicates++
			return true
		}
		a.set(seq)
		if seq < a.top {
			a.Reordered++
		}
	}
	a.Received++
	transit := arrivedNS - sentNS
	if a.haveTransit {
		d := float64(transit - a.prevTransit)
		if d < 0 {
			d = -d
		}
		a.jitter += (d - a.jitter) / 16
	}
	a.prevTransit, a.haveTransit = transit, true
	return false
}

// JitterNS is the interarrival jitter in nanoseconds.
func (a *Arrivals) JitterNS() float64 { return a.jitter }

// UDP returns the counts, with sent (from the sender) for the loss.
func (a *Arrivals) UDP(sent int64) *UDP {
	u := &UDP{Sent: sent, Received: a.Received, Reordered: a.Reordered, Duplicates: a.Duplicates, Late: a.Late, JitterUS: a.jitter / 1e3}
	u.Finish()
	return u
}

// advance moves the window so that it ends at top, forgetting what falls
// out of it.
func (a *Arrivals) advance(top uint64) {
	if top < a.base+a.n {
		return
	}
	newBase := top - a.n + 1
	if newBase-a.base >= a.n {
		clear(a.bits)
	} else {
		for s := a.base; s < newBase; s++ {
			a.bits[(s%a.n)/64] &^= 1 << (s % 64)
		}
	}
	a.base = newBase
}

func (a *Arrivals) set(s uint64) { a.bits[(s%a.n)/64] |= 1 << (s % 64) }

func (a *Arrivals) test(s uint64) bool { return a.bits[(s%a.n)/64]&(1<<(s%64)) != 0 }

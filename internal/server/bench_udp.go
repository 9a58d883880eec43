package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/sockit/sockit/internal/bench/wire"
	"github.com/sockit/sockit/internal/event"
)

// The bench behaviour on UDP: datagrams are counted where they are read,
// on the socket's own goroutine, without a goroutine or queue per sender
// (which could drop datagrams the kernel delivered and report the
// server's own losses as the network's). Each sender's stream costs a
// fixed amount (a wire.Arrivals window of 8 KiB); the number of streams
// is capped as a datagram server's peers are (--max-conns, else
// DefaultMaxPeers: 1,024 streams hold about 8 MiB of windows).

// benchDoneKeep is how long a finished stream's report is kept to answer
// a repeated DONE (the RESULT datagram may be lost).
const benchDoneKeep = 10 * time.Second

// maxBenchNotes bounds the per-sender memory of what was already logged.
const maxBenchNotes = 4096

type benchStream struct {
	id       uint64
	addr     string
	token    uint32
	hello    wire.HelloMsg
	ack      []byte
	start    time.Time
	last     time.Time // the last datagram or control message
	lastData time.Time // the last counted datagram
	arr      *wire.Arrivals
	bytes    int64 // payload of the counted datagrams
	in       int64 // every byte received
	omitted  int64
}

type benchFinished struct {
	token  uint32
	report []byte
	at     time.Time
}

// benchTable is one socket's senders. The socket's loop holds mu for a
// batch, the sweeper for a sweep.
type benchTable struct {
	s     *Server
	pc    *net.UDPConn
	local string

	mu       sync.Mutex
	streams  map[netip.AddrPort]*benchStream
	finished map[netip.AddrPort]*benchFinished
	refused  map[netip.AddrPort]bool
	noted    map[netip.AddrPort]bool // senders whose stray datagrams were logged
}

// ServePacketBench serves bench clients on UDP sockets (several bound to
// one port with SO_REUSEPORT, as ListenPacketPerCore makes them; the
// kernel keeps each sender on one socket). It applies --allow/--deny and
// --max-conns to new streams, emits open and close events, ends streams
// idle for the idle timeout (60 s by default), and returns when ctx is
// cancelled.
func (s *Server) ServePacketBench(ctx context.Context, pcs []net.PacketConn) error {
	s.init("udp")
	tables := make([]*benchTable, len(pcs))
	for i, pc := range pcs {
		uc, ok := pc.(*net.UDPConn)
		if !ok {
			for _, pc := range pcs {
				pc.Close()
			}
			return errors.New("--bench on datagrams needs a UDP socket")
		}
		tables[i] = &benchTable{s: s, pc: uc, local: pc.LocalAddr().String(),
			streams: map[netip.AddrPort]*benchStream{}, finished: map[netip.AddrPort]*benchFinished{}}
	}
	s.emit(&event.Event{Kind: event.Listen, Local: pcs[0].LocalAddr().String()})
	stop := context.AfterFunc(ctx, func() {
		for _, pc := range pcs {
			pc.Close()
		}
	})
	defer stop()

	idle := s.Conn.IdleTimeout
	if idle <= 0 {
		idle = 60 * time.Second
	}
	errc := make(chan error, len(pcs))
	for _, t := range tables {
		go func() { errc <- t.loop() }()
	}
	sweep := time.NewTicker(min(idle/2, time.Second))
	defer sweep.Stop()
	var first error
	for running := len(pcs); running > 0; {
		select {
		case err := <-errc:
			running--
			if first == nil && ctx.Err() == nil && err != nil {
				first = err
				for _, pc := range pcs {
					pc.Close()
				}
			}
		case now := <-sweep.C:
			for _, t := range tables {
				t.expire(now, idle, "idle timeout")
			}
		}
	}
	for _, t := range tables {
		t.expire(time.Time{}, 0, "server shutting down")
	}
	if first != nil {
		return first
	}
	return ctx.Err()
}

// loop reads and counts datagrams until the socket is closed.
func (t *benchTable) loop() error {
	r, err := newBenchReader(t.pc)
	if err != nil {
		return err
	}
	for {
		err := r.read(func(batch []benchDatagram, now time.Time) {
			t.mu.Lock()
			defer t.mu.Unlock()
			for _, d := range batch {
				t.datagram(d.from, d.b, now)
			}
		})
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
	}
}

// benchDatagram is one datagram of a batch; b is valid during the batch.
type benchDatagram struct {
	from netip.AddrPort
	b    []byte
}

// datagram handles one datagram; t.mu is held.
func (t *benchTable) datagram(from netip.AddrPort, b []byte, now time.Time) {
	if wire.IsControl(b) {
		t.control(from, b, now)
		return
	}
	st := t.streams[from]
	token, seq, sent, ok := wire.ParseHeader(b)
	if st == nil || !ok || token != st.token {
		if !t.noting(from) {
			return // said once already: a flood of them costs no message each
		}
		why := "a datagram without a hello"
		switch {
		case st != nil && !ok:
			why = fmt.Sprintf("a datagram of %d bytes, shorter than the %d-byte header", len(b), wire.HeaderLen)
		case st != nil:
			why = "a datagram with another stream's token"
		}
		t.note(from, "bench: ignoring "+why+" from "+from.String())
		return
	}
	st.last = now
	st.in += int64(len(b))
	if sent < st.hello.OmitNS {
		st.omitted++
		return
	}
	if !st.arr.Add(seq, sent, int64(now.Sub(st.start))) {
		st.bytes += int64(len(b))
		st.lastData = now
	}
}

// control handles a HELLO or DONE; t.mu is held. Replies are never larger
// than the datagram that asked for them (clients pad theirs), so that a
// forged sender address gets no amplified traffic.
func (t *benchTable) control(from netip.AddrPort, b []byte, now time.Time) {
	reply := func(msg []byte) {
		if len(msg) <= len(b) {
			t.pc.WriteToUDPAddrPort(msg, from)
		}
	}
	refuse := func(why string) {
		t.note(from, "bench: refused "+from.String()+": "+why)
		reply(wire.Format(wire.Err, wire.RefusalMsg{Error: why}))
	}
	m, err := wire.Parse(b)
	if err != nil {
		refuse(err.Error())
		return
	}
	switch m.Kind {
	case wire.Hello:
		h, err := wire.ParseHello(m)
		if err != nil {
			refuse("bad hello: " + err.Error())
			return
		}
		if h.Mode != wire.ModeUDP {
			refuse("mode " + h.Mode + " needs a stream server (sockit listen -k --bench)")
			return
		}
		if st := t.streams[from]; st != nil {
			if st.hello == *h {
				reply(st.ack) // our OK was lost: the same again
				return
			}
			t.end(from, st, "replaced by a new test from the same address", nil)
		}
		st, why := t.open(from, h, now)
		if st == nil {
			if why != "" {
				refuse(why)
			}
			return
		}
		reply(st.ack)
	case wire.Done:
		e, err := wire.ParseEnd(m)
		if err != nil {
			refuse("bad done: " + err.Error())
			return
		}
		if st := t.streams[from]; st != nil && st.token == e.Token {
			// The stream's time: from the OK to the last datagram counted
			// (not the client's pause before its DONE).
			rep := wire.ReportMsg{Token: st.token, Bytes: st.bytes, UDP: st.arr.UDP(e.Sent)}
			if !st.lastData.IsZero() {
				rep.Seconds = st.lastData.Sub(st.start).Seconds()
			}
			msg := wire.Format(wire.Result, rep)
			t.end(from, st, "test done", msg)
			reply(msg)
			return
		}
		if f := t.finished[from]; f != nil && f.token == e.Token {
			reply(f.report) // our RESULT was lost: the same again
			return
		}
		refuse("no stream with token " + strconv.FormatUint(uint64(e.Token), 10) + " from this address (it ended long ago, or the hello never arrived)")
	default:
		t.note(from, "bench: ignoring a "+m.Kind+" message from "+from.String()+" (a server takes HELLO and DONE)")
	}
}

// open starts a stream for a sender that said hello, or says why not
// ("" when the refusal was already reported).
func (t *benchTable) open(from netip.AddrPort, h *wire.HelloMsg, now time.Time) (*benchStream, string) {
	s := t.s
	if t.refused[from] {
		return nil, ""
	}
	if ok, why := admit(s.Allow, s.Deny, from.Addr()); !ok {
		if t.refused == nil {
			t.refused = map[netip.AddrPort]bool{}
		}
		if len(t.refused) < maxBenchNotes {
			t.refused[from] = true
		}
		s.refused(from.String(), why)
		return nil, ""
	}
	if max := s.maxConns(); max > 0 && int(s.fastActive.Load()) >= max {
		why := maxConnsReached(max)
		s.refused(from.String(), why)
		return nil, "busy: " + why.why
	}
	st := &benchStream{
		id: s.nextID.Add(1), addr: from.String(), token: wire.NewToken(), hello: *h,
		start: now, last: now, arr: wire.NewArrivals(wire.Window),
	}
	st.ack = wire.Format(wire.OK, wire.AckMsg{Token: st.token, Server: ServerName})
	t.streams[from] = st
	delete(t.finished, from)
	s.fastActive.Add(1)
	t.event(&event.Event{Kind: event.Connect, Conn: st.id, Peer: st.addr})
	return st, ""
}

// end closes a stream; with a report, it is kept a while for repeated
// DONEs. t.mu is held.
func (t *benchTable) end(from netip.AddrPort, st *benchStream, reason string, report []byte) {
	delete(t.streams, from)
	t.s.fastActive.Add(-1)
	if report != nil {
		if len(t.finished) >= maxBenchNotes {
			t.forget(time.Now())
		}
		if len(t.finished) < maxBenchNotes {
			t.finished[from] = &benchFinished{token: st.token, report: report, at: time.Now()}
		}
	}
	t.event(&event.Event{Kind: event.Close, Conn: st.id, Peer: st.addr, Reason: reason, BytesIn: st.in})
}

// forget drops the finished reports older than benchDoneKeep.
func (t *benchTable) forget(now time.Time) {
	for ap, f := range t.finished {
		if now.Sub(f.at) > benchDoneKeep {
			delete(t.finished, ap)
		}
	}
}

// note logs something about a sender once (per sender, up to a bound).
func (t *benchTable) note(from netip.AddrPort, msg string) {
	if !t.noting(from) {
		return
	}
	if t.noted == nil {
		t.noted = map[netip.AddrPort]bool{}
	}
	t.noted[from] = true
	t.s.emit(&event.Event{Kind: event.Error, Peer: from.String(), Err: msg})
}

// noting reports whether a note about from would still be made: one per
// sender, maxBenchNotes in all.
func (t *benchTable) noting(from netip.AddrPort) bool {
	return !t.noted[from] && len(t.noted) < maxBenchNotes
}

// expire ends the streams idle since before now-idle (all of them when
// now is zero).
func (t *benchTable) expire(now time.Time, idle time.Duration, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for ap, st := range t.streams {
		if !now.IsZero() && now.Sub(st.last) < idle {
			continue
		}
		t.end(ap, st, reason, nil)
	}
	if !now.IsZero() {
		t.forget(now)
		if len(t.noted) >= maxBenchNotes {
			clear(t.noted) // log strays again, now and then
		}
	}
}

// event emits a conversation event the way session.Conn would.
func (t *benchTable) event(e *event.Event) {
	sink := t.s.Conn.Sink
	if sink == nil {
		return
	}
	e.Time = time.Now()
	e.Proto = "udp"
	e.Local = t.local
	sink(e)
}

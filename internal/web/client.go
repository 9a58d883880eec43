package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/sockit/sockit/internal/checksum"
	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/talk"
)

// How the live log reaches the page. Events are not pushed one by one, and
// batches are cut by time, not by count: a writer per page wakes when
// something happened, waits out the rest of batchEvery since its last
// batch, and sends all that is new in one message per session (up to
// batchMax events or about batchBytes, limits a flood of tiny messages at
// 20,000 a second stays far below). When a page falls more than maxBacklog
// events behind (a flood of big messages), it skips ahead and is told how
// many it skipped; the download still has them. So a 10 MB/s stream costs
// the page at most twenty messages a second, each parsed in a millisecond
// or two.
const (
	batchEvery   = 50 * time.Millisecond
	batchMax     = 5000
	batchBytes   = 192 << 10 // of message data; the JSON is about 2.5 times that
	maxBacklog   = 10_000
	initialTail  = 1000 // events a page gets on connecting or after a reset
	previewBytes = 1024 // bytes of each message the page gets (the download has all)
	writeTimeout = 10 * time.Second
	heartbeat    = time.Second // counters and rates are refreshed at least this often
)

// client is one page connected over the WebSocket.
type client struct {
	u       *UI
	ws      *websocket.Conn
	replies chan []byte
	known   map[int]uint64 // session id → version of the state sent
	cursors map[int]*cursor
	saved   uint64 // version of the saved list sent
	restore uint64 // version of the restore offer sent
}

type cursor struct {
	epoch uint64
	next  uint64
}

// message is what the server sends the page; Type says which fields are
// set.
type message struct {
	Type      string        `json:"type"`
	Req       string        `json:"req,omitempty"`
	SID       int           `json:"sid,omitempty"`
	Error     string        `json:"error,omitempty"`
	Version   string        `json:"version,omitempty"`
	Encodings []string      `json:"encodings,omitempty"`
	Checksums []string      `json:"checksums,omitempty"`
	Session   *sessState    `json:"session,omitempty"`
	Events    []wireEvent   `json:"events,omitempty"`
	Hidden    uint64        `json:"hidden,omitempty"`  // reset: older events the page does not get
	Skipped   uint64        `json:"skipped,omitempty"` // events: events skipped before these
	Stats     *counters     `json:"stats,omitempty"`
	Log       *logInfo      `json:"log,omitempty"`
	RecvFile  *fileInfo     `json:"recvFile,omitempty"` // stats: the file received to, as it grows
	Loss      *lossInfo     `json:"loss,omitempty"`
	Peers     []peerState   `json:"peers,omitempty"`
	Saved     []savedMsg    `json:"saved,omitempty"`
	Confirm   string        `json:"confirm,omitempty"` // error: the question to ask, then send the command again with confirm
	Active    string        `json:"active,omitempty"`  // hello: the key of the tab shown last
	Restore   []restoreInfo `json:"restore,omitempty"` // restore: sessions of the last run the page may reopen
}

// wireEvent is an event as the page gets it: the text already decoded and
// escaped by codec (the page never decodes bytes itself), and the first
// previewBytes bytes for the hex view.
type wireEvent struct {
	Seq  uint64 `json:"seq"`
	T    int64  `json:"t"` // unix milliseconds
	Kind string `json:"kind"`
	Dir  string `json:"dir,omitempty"`
	Peer string `json:"peer,omitempty"`
	Conn uint64 `json:"conn,omitempty"`
	Len  int    `json:"len,omitempty"`
	Text string `json:"text"`
	Raw  []byte `json:"raw,omitempty"`  // base64 in JSON; left out when Text is these bytes
	More int    `json:"more,omitempty"` // bytes not in Raw
	// Option is the option the event is about (event.Event.Option: a limit
	// reached, a list that refused); the page names it by its form label.
	Option string `json:"option,omitempty"`
}

func (u *UI) serveWS(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	if u.closing {
		u.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	u.clients.Add(1)
	u.mu.Unlock()
	defer u.clients.Done()

	// Accept checks Origin against Host again (the guard did already).
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(maxCommand)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cl := &client{u: u, ws: ws, replies: make(chan []byte, 16), known: map[int]uint64{}, cursors: map[int]*cursor{}}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer cancel()
		cl.readLoop(ctx)
	}()
	err = cl.writeLoop(ctx)
	cancel()
	if err == nil {
		ws.Close(websocket.StatusGoingAway, "sockit ui is shutting down")
	} else {
		ws.CloseNow()
	}
	<-readDone
}

func (cl *client) readLoop(ctx context.Context) {
	for {
		_, b, err := cl.ws.Read(ctx)
		if err != nil {
			return
		}
		cmd, err := parseCommand(b)
		if err != nil {
			cl.reply(ctx, &message{Type: "error", Error: oneLine(err.Error())})
			continue
		}
		if cmd.Op == "send" {
			// A send can block on a peer that does not read; the page
			// must still be able to stop it, or close the session, which
			// ends the send by closing the socket.
			if s, err := cl.u.mgr.get(cmd.SID); err == nil && s.goTracked(func() { cl.reply(ctx, result(cmd, 0, s.send(cmd))) }) {
				continue
			}
		}
		sid, err := cl.u.handle(cmd)
		cl.reply(ctx, result(cmd, sid, err))
	}
}

// result is the reply to a command: ok (with the session it opened), or
// the error in one line.
func result(c *command, sid int, err error) *message {
	m := &message{Type: "ok", Req: c.Req, SID: c.SID}
	if sid != 0 {
		m.SID = sid
	}
	if err != nil {
		m.Type, m.Error = "error", oneLine(err.Error())
		var ce *confirmError
		if errors.As(err, &ce) {
			m.Confirm = ce.question()
		}
	}
	return m
}

func (cl *client) reply(ctx context.Context, m *message) {
	out, _ := json.Marshal(m)
	select {
	case cl.replies <- out:
	case <-ctx.Done():
	}
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// handle runs one command. It returns the session it opened, if any.
func (u *UI) handle(c *command) (int, error) {
	m := u.mgr
	if c.Op == "open" {
		s, err := m.open(c)
		if err != nil {
			return 0, err
		}
		return s.id, nil
	}
	switch c.Op {
	case "save":
		// Refuse now what could not be sent later (an unknown checksum,
		// line end or encoding).
		if c.Encoding != "" {
			if _, err := codec.Lookup(c.Encoding); err != nil {
				return 0, err
			}
		}
		in := talk.Input{Hex: c.Hex, Escapes: c.Escapes, Template: c.Template, EOL: c.EOL, Checksum: c.Checksum}
		if _, err := in.Compose(nil, 0); err != nil {
			return 0, err
		}
		return 0, u.saved.put(savedMsg{Name: c.Name, Data: c.Data, Hex: c.Hex, Encoding: c.Encoding, EOL: c.EOL, Escapes: c.Escapes,
			Template: c.Template, Checksum: c.Checksum, ATCR: c.ATCR})
	case "unsave":
		return 0, u.saved.remove(c.Name)
	case "close":
		return 0, m.close(c.SID)
	case "restore":
		return 0, m.restore(c.Key)
	case "forget":
		m.forget(c.Key)
		return 0, nil
	}
	s, err := m.get(c.SID)
	if err != nil {
		return 0, err
	}
	switch c.Op {
	case "reconnect":
		return 0, s.reconnect()
	case "recvfile":
		return 0, s.startRecvFile(c.Path)
	case "stoprecv":
		return 0, s.stopRecvFile()
	case "sendfile":
		return 0, s.sendFile(c)
	case "stopfile":
		return 0, s.stopFile()
	case "seqcheck":
		s.setSeqCheck(c.SeqCheck)
		return 0, nil
	case "autoreconnect":
		return 0, s.setAutoReconnect(c.AutoReconnect)
	case "send":
		return 0, s.send(c)
	case "stop":
		s.stopRepeat()
		return 0, nil
	case "kick":
		return 0, s.kick(c.Peer)
	case "view":
		if c.Active {
			u.ws.setActive(s.key)
		}
		if c.View != "" {
			s.setView(viewState{Mode: c.View, Filter: c.Filter})
		}
		return 0, nil
	case "rules":
		return 0, s.setRules(c.Rules)
	case "setenc":
		return 0, s.setEncoding(c.Encoding)
	case "clear":
		s.log.clear(false)
		return 0, nil
	case "reset":
		// The drops first (see zeroDrops): once the counters show zero,
		// every datagram from then on is counted, received or dropped.
		s.zeroDrops()
		s.log.clear(true)
		s.seq.zero()
		s.touch()
		return 0, nil
	}
	return 0, nil
}

func (cl *client) write(ctx context.Context, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return cl.ws.Write(ctx, websocket.MessageText, b)
}

func (cl *client) send(ctx context.Context, m *message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return cl.write(ctx, b)
}

// writeLoop sends the hello, then batches of what changed, until ctx ends
// (nil) or the page goes away (the error).
func (cl *client) writeLoop(ctx context.Context) error {
	hello := &message{Type: "hello", Version: cl.u.version, Encodings: codec.CommonNames(), Checksums: checksum.Names(), Active: cl.u.ws.active()}
	if err := cl.send(ctx, hello); err != nil {
		return err
	}
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	var last time.Time
	full, synced := true, false
	for {
		wake := cl.u.mgr.sig.wait()
		more, err := cl.flush(ctx, full)
		if err != nil {
			return err
		}
		if !synced {
			// The page now knows every session open before it came.
			if err := cl.send(ctx, &message{Type: "synced"}); err != nil {
				return err
			}
			synced = true
		}
		last, full = time.Now(), false
		if more {
			// A batch was full: the rest follows after the pause, with no
			// need for news to wake us.
			closed := make(chan struct{})
			close(closed)
			wake = closed
		}
		select {
		case <-ctx.Done():
			return nil
		case r := <-cl.replies:
			if err := cl.write(ctx, r); err != nil {
				return err
			}
			continue
		case <-beat.C:
			full = true
		case <-wake:
		}
		if d := batchEvery - time.Since(last); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
	}
}

// flush sends the page what changed since the last flush: sessions opened,
// changed or closed, new events, counters (always when full), the saved
// messages. more reports events left over for the next batch.
func (cl *client) flush(ctx context.Context, full bool) (more bool, err error) {
	now := time.Now()
	sessions := cl.u.mgr.list()
	live := make(map[int]bool, len(sessions))
	for _, s := range sessions {
		live[s.id] = true
	}
	for id := range cl.known {
		if !live[id] {
			delete(cl.known, id)
			delete(cl.cursors, id)
			if err := cl.send(ctx, &message{Type: "closed", SID: id}); err != nil {
				return false, err
			}
		}
	}
	for _, s := range sessions {
		sentState := false
		if v := s.version.Load(); cl.known[s.id] != v {
			st := s.snapshot(now)
			if err := cl.send(ctx, &message{Type: "state", SID: s.id, Session: &st}); err != nil {
				return false, err
			}
			cl.known[s.id] = v
			sentState = true
		}
		sent, left, err := cl.flushEvents(ctx, s)
		if err != nil {
			return false, err
		}
		more = more || left
		if (full || sent) && !sentState {
			st, li := s.log.stats(now), s.log.info()
			if err := cl.send(ctx, &message{Type: "stats", SID: s.id, Stats: &st, Log: &li, Peers: s.peers(), RecvFile: s.recvInfo(), Loss: s.loss(now)}); err != nil {
				return false, err
			}
		}
	}
	if v := cl.u.saved.currentVersion(); v != cl.saved {
		list, v := cl.u.saved.snapshot()
		if err := cl.send(ctx, &message{Type: "saved", Saved: list}); err != nil {
			return false, err
		}
		cl.saved = v
	}
	if v := cl.u.ws.pendingVersion(); v != cl.restore {
		list, v := cl.u.ws.pending()
		if err := cl.send(ctx, &message{Type: "restore", Restore: list}); err != nil {
			return false, err
		}
		cl.restore = v
	}
	return more, nil
}

// flushEvents sends a session's new events, starting over (a reset) when
// the log was cleared or is to be shown in another encoding.
func (cl *client) flushEvents(ctx context.Context, s *sess) (sent, more bool, err error) {
	first, next, epoch := s.log.bounds()
	cur := cl.cursors[s.id]
	if cur == nil || cur.epoch != epoch {
		start := first
		if next-first > initialTail {
			start = next - initialTail
		}
		evicted := s.log.evictedCount()
		cur = &cursor{epoch: epoch, next: start}
		cl.cursors[s.id] = cur
		if err := cl.send(ctx, &message{Type: "reset", SID: s.id, Hidden: start - first + evicted}); err != nil {
			return false, false, err
		}
	}
	if cur.next >= next {
		return false, false, nil
	}
	var skipped uint64
	if backlog := next - cur.next; backlog > maxBacklog {
		skipped = backlog - maxBacklog
		cur.next += skipped
	}
	recs, lost, nxt := s.log.since(cur.next, batchMax, batchBytes)
	cur.next = nxt
	enc := s.encoding()
	server := s.kind != kindClient
	m := &message{Type: "events", SID: s.id, Skipped: skipped + lost, Events: make([]wireEvent, 0, len(recs))}
	for i := range recs {
		m.Events = append(m.Events, render(&recs[i], enc, server))
	}
	return true, nxt < next, cl.send(ctx, m)
}

// render is an event as the page shows it.
func render(r *record, enc *codec.Encoding, server bool) wireEvent {
	e := &r.ev
	w := wireEvent{Seq: r.seq, T: e.Time.UnixMilli(), Kind: string(e.Kind), Peer: e.Peer, Conn: e.Conn}
	if e.Kind != event.Data {
		w.Text, w.Option = event.Describe(e, server), e.Option
		return w
	}
	w.Dir, w.Len = string(e.Dir), len(e.Data)
	p := e.Data
	if len(p) > previewBytes {
		p = p[:previewBytes]
		w.More = len(e.Data) - previewBytes
	}
	w.Raw = p
	text := p
	if w.More > 0 {
		// Do not show half a character where the preview was cut.
		text = p[:enc.Boundary(p)]
	}
	w.Text = string(enc.AppendDisplay(nil, text))
	if w.More == 0 && w.Text == string(p) {
		// Plain text shown as it is (most floods): the page takes the
		// bytes from the text, and the message is half the size.
		w.Raw = nil
	}
	return w
}

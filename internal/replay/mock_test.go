package replay

import (
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/frame"
	"github.com/sockit/sockit/internal/server"
	"github.com/sockit/sockit/internal/session"
)

// feeder drives a conversation's matching without sockets: feed gives it
// pieces as they arrive and returns what became of them, one string per
// request ("=ANSWER", "=" for a matched request without one, "?REQUEST"
// for an unmatched one).
type feeder struct {
	t  *testing.T
	cv *conversation
}

func newFeeder(t *testing.T, b *Book, live form, key *regexp.Regexp) *feeder {
	t.Helper()
	ix, err := newIndex(b, live, key, false)
	if err != nil {
		t.Fatal(err)
	}
	return &feeder{t, &conversation{ix: ix, used: map[*entry]*cursor{}}}
}

func (f *feeder) run(whole bool, pieces ...string) []string {
	for _, p := range pieces {
		f.cv.add([]byte(p))
	}
	var out []string
	for {
		o, ok := f.cv.next(whole)
		if !ok {
			return out
		}
		switch {
		case !o.matched:
			out = append(out, "?"+string(o.req))
		case o.reply == nil:
			out = append(out, "=")
		default:
			var b []byte
			for _, p := range o.reply.out {
				b = append(b, p...)
			}
			out = append(out, "="+string(b))
		}
	}
}

func (f *feeder) expect(whole bool, want string, pieces ...string) {
	f.t.Helper()
	if got := strings.Join(f.run(whole, pieces...), ","); got != want {
		f.t.Errorf("after %q (whole %v): %q, want %q", pieces, whole, got, want)
	}
}

var redisBook = []string{
	"1 connect",
	"1 < *1\r\n$4\r\nPING\r\n",
	"1 > +PONG\r\n",
	"1 < *2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
	"1 > $1\r\nv\r\n",
	"1 < *2\r\n$4\r\nINCR\r\n$1\r\nn\r\n",
	"1 > :1\r\n",
	"1 < *2\r\n$4\r\nINCR\r\n$1\r\nn\r\n",
	"1 > :2\r\n",
	"1 close",
	"2 connect",
	"2 < *2\r\n$4\r\nINCR\r\n$1\r\nn\r\n",
	"2 > :3\r\n",
	"2 < *2\r\n$3\r\nGET\r\n$2\r\nkk\r\n",
	"2 > $2\r\nvv\r\n",
	"2 close",
}

const (
	ping  = "*1\r\n$4\r\nPING\r\n"
	getK  = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
	getKK = "*2\r\n$3\r\nGET\r\n$2\r\nkk\r\n"
	getX  = "*2\r\n$3\r\nGET\r\n$1\r\nx\r\n"
	incrN = "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
)

func TestMatchRawStream(t *testing.T) {
	b := loadBook(t, 0, transcript(t, redisBook...))
	f := newFeeder(t, b, form{}, nil)
	// Out of order, and answered by what is asked.
	f.expect(false, "=$2\r\nvv\r\n", getKK)
	f.expect(false, "=+PONG\r\n", ping)
	// Split anywhere: the start of a request is waited on.
	f.expect(false, "", getK[:5])
	f.expect(false, "", getK[5:11])
	f.expect(false, "=$1\r\nv\r\n", getK[11:])
	// Two requests in one read, and the start of a third.
	f.expect(false, "=$1\r\nv\r\n,=+PONG\r\n", getK+ping+ping[:3])
	f.expect(false, "=+PONG\r\n", ping[3:])
	// INCR n was answered :1, :2 and :3 (in two conversations): in order,
	// then the last again.
	f.expect(false, "=:1\r\n,=:2\r\n,=:3\r\n,=:3\r\n", incrN, incrN, incrN, incrN)
	// A request the recording does not have.
	f.expect(false, "?"+getX, getX)
	// …also after a known one in the same read, or before one: it ends
	// where a recorded request begins.
	f.expect(false, "=+PONG\r\n,?"+getX, ping+getX)
	f.expect(false, "?"+getX+",=+PONG\r\n", getX+ping)
	f.expect(false, "?"+getX, getX+getK[:3])
	f.expect(false, "=$1\r\nv\r\n", getK[3:])
	// The start of a request that never comes whole: unmatched once the
	// wait is over.
	f.expect(false, "", getK[:7])
	f.expect(true, "?"+getK[:7])
	if f.cv.pending() {
		t.Error("an unmatched request is still pending")
	}

	// Each conversation starts from the first answer.
	f = newFeeder(t, b, form{}, nil)
	f.expect(false, "=:1\r\n", incrN)
}

func TestMatchKey(t *testing.T) {
	b := loadBook(t, 0, transcript(t, redisBook...))
	// The key of a RESP command: its name.
	key := regexp.MustCompile(`^\*\d+\r\n\$\d+\r\n(\w+)\r\n`)
	f := newFeeder(t, b, form{}, key)
	f.expect(false, "=$1\r\nv\r\n", getK) // exact first
	// Any GET: the answers of every recorded GET, in order.
	f.expect(false, "=$1\r\nv\r\n", getX)
	f.expect(false, "=$2\r\nvv\r\n", getX)
	f.expect(false, "=$2\r\nvv\r\n", getX)
	// No recorded DEL.
	del := "*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n"
	f.expect(false, "?"+del, del)
	f.expect(false, "=$2\r\nvv\r\n,=+PONG\r\n", getX+ping)
	// The key is not there yet: waited on, then unmatched.
	f.expect(false, "", "*2\r\n$3\r\nDE")
	f.expect(true, "?*2\r\n$3\r\nDE")
	// The whole match is the key when the pattern has no group.
	f = newFeeder(t, b, form{}, regexp.MustCompile(`GET`))
	f.expect(false, "=$1\r\nv\r\n", getX)
}

func TestMatchMessages(t *testing.T) {
	line := frame.Spec{Kind: frame.Line}
	// Recorded framed: the messages are matched as they are.
	b := loadBook(t, 0, transcript(t,
		"1 connect line",
		"1 < HELLO", "1 < AUTH x", "1 > OK",
		"1 < TIME", "1 > 10:00", "1 > 10:01",
	))
	f := newFeeder(t, b, form{spec: line}, nil)
	f.expect(false, "", "HELLO")
	f.expect(false, "=OK", "AUTH x")
	f.expect(false, "=10:0010:01", "TIME")
	f.expect(false, "?AUTH x", "AUTH x")
	f.expect(false, "=OK", "HELLO", "AUTH x")
	f.expect(false, "?BAD,=10:0010:01,?BAD", "BAD", "TIME", "BAD")
	f.expect(false, "?AUTH x", "AUTH x", "HELLO")
	f.expect(false, "=OK", "AUTH x")
	if f.cv.ix.exact[string(appendMsgs(nil, []byte("TIME")))].runs[0].r.raw {
		t.Error("a framed recording replayed in its own framing is not written message by message")
	}

	// Recorded raw, replayed with --frame line: the recorded bytes are
	// cut into lines.
	b = loadBook(t, 0, transcript(t,
		"1 connect",
		"1 < PI", "1 < NG\nPING\n", "1 > PONG\nPONG\n",
		"1 < QUIT\n", "1 > BYE\n",
	))
	f = newFeeder(t, b, form{spec: line}, nil)
	f.expect(false, "", "PING")
	f.expect(false, "=PONG\nPONG\n", "PING")
	f.expect(false, "=BYE\n", "QUIT")
}

// mockServer serves m on a loopback port and returns its address and the
// events it reported.
func mockServer(t *testing.T, m *Mock, packet bool) (string, *eventLog) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := &eventLog{}
	m.Sink = log.add
	srv := &server.Server{Handler: m.Handle, Conn: session.Options{Proto: "tcp", Frame: m.Frame, Sink: log.add}, Sink: log.add}
	done := make(chan error, 1)
	var addr string
	if packet {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = pc.LocalAddr().String()
		srv.Conn.Proto = "udp"
		go func() { done <- srv.ServePacket(ctx, pc) }()
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = ln.Addr().String()
		go func() { done <- srv.Serve(ctx, ln) }()
	}
	if m.Finished == nil {
		m.Finished = cancel
	}
	t.Cleanup(func() { cancel(); <-done })
	return addr, log
}

type eventLog struct {
	mu     sync.Mutex
	events []event.Event
}

func (l *eventLog) add(e *event.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := *e
	c.Data = append([]byte(nil), e.Data...)
	l.events = append(l.events, c)
}

func (l *eventLog) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		if e.Kind == event.Error {
			out = append(out, e.Err)
		}
	}
	return out
}

// ask sends req and reads exactly len(want) bytes.
func ask(t *testing.T, c net.Conn, req, want string) {
	t.Helper()
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Fatalf("asked %q: got %q (%v), want %q", req, got, err, want)
	}
}

// TestMockManyClients: clients at once, each asking in its own order,
// get what the recording answered; an unknown request is an error event,
// the default answer and a failed Err, and the conversation goes on.
func TestMockManyClients(t *testing.T) {
	t.Parallel()
	m := &Mock{Book: loadBook(t, 0, transcript(t, redisBook...)), Default: []byte("-ERR unknown\r\n")}
	addr, log := mockServer(t, m, false)
	orders := [][]string{
		{getKK, ping, incrN, getK, incrN, incrN, incrN},
		{incrN, getK, ping, incrN, getKK},
		{ping, incrN, incrN, getKK, getK},
	}
	answers := map[string]string{ping: "+PONG\r\n", getK: "$1\r\nv\r\n", getKK: "$2\r\nvv\r\n"}
	var wg sync.WaitGroup
	for _, order := range orders {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			incr := 0
			for _, req := range order {
				want := answers[req]
				if req == incrN {
					incr++
					want = ":" + string(rune('0'+min(incr, 3))) + "\r\n"
				}
				ask(t, c, req, want)
			}
		}()
	}
	wg.Wait()
	if m.Err() != nil || m.Requests() != 17 {
		t.Fatalf("err %v after %d requests", m.Err(), m.Requests())
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ask(t, c, getX, "-ERR unknown\r\n")
	ask(t, c, ping, "+PONG\r\n")
	if err := m.Err(); err == nil || err.Error() != "1 request of 19 matched nothing in the recording" {
		t.Fatalf("Err = %v", err)
	}
	if errs := log.errors(); len(errs) != 1 || errs[0] != `unmatched request "*2\r\n$3\r\nGET\r\n$1\r\nx\r\n": the recording has no such request` {
		t.Fatalf("error events %q", errs)
	}
}

// TestMockWaitsForTheRest: the start of a request is answered once the
// rest comes; one whose rest never comes is unmatched after Wait, without
// the client closing.
func TestMockWaitsForTheRest(t *testing.T) {
	t.Parallel()
	m := &Mock{Book: loadBook(t, 0, transcript(t, redisBook...)), Wait: 100 * time.Millisecond, Default: []byte("-ERR\r\n")}
	addr, log := mockServer(t, m, false)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(getK[:9]))
	ask(t, c, getK[9:], "$1\r\nv\r\n")
	ask(t, c, getK[:9], "-ERR\r\n")
	if errs := log.errors(); len(errs) != 1 || !strings.Contains(errs[0], `"*2\r\n$3\r\nG"`) {
		t.Fatalf("error events %q", errs)
	}
}

// TestMockGreetingCountAndEnd: a server that spoke first greets each
// client; the mock ends after Count conversations, and what a client
// sends before it closes is still answered.
func TestMockGreetingCountAndEnd(t *testing.T) {
	t.Parallel()
	b := loadBook(t, 0, transcript(t,
		"1 connect", "1 > 220 ready\r\n", "1 < QUIT\r\n", "1 > 221 bye\r\n", "1 close",
	))
	finished := make(chan struct{})
	m := &Mock{Book: b, Count: 2}
	m.Finished = func() { close(finished) }
	addr, log := mockServer(t, m, false)
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("QUIT\r\n"))
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		got, err := io.ReadAll(c)
		c.Close()
		if string(got) != "220 ready\r\n221 bye\r\n" || err != nil {
			t.Fatalf("client %d got %q (%v)", i, got, err)
		}
	}
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		t.Fatal("the mock did not finish after 2 conversations")
	}
	if errs := log.errors(); len(errs) != 0 || m.Err() != nil {
		t.Fatalf("errors %q, %v", errs, m.Err())
	}
}

// TestMockUnmatchedAtTheEnd: what a client sent that matched nothing
// when it closed is reported too; without Default, nothing is answered.
func TestMockUnmatchedAtTheEnd(t *testing.T) {
	t.Parallel()
	ended := make(chan struct{})
	m := &Mock{Book: loadBook(t, 0, transcript(t, redisBook...)), Count: 1, Finished: func() { close(ended) }}
	addr, log := mockServer(t, m, false)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(getX))
	c.Write([]byte(getK[:4]))
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if got, err := io.ReadAll(c); len(got) != 0 || err != nil {
		t.Fatalf("got %q (%v), want nothing", got, err)
	}
	<-ended
	if errs := log.errors(); m.Unmatched() != 2 || len(errs) != 2 {
		t.Fatalf("%d unmatched, error events %q", m.Unmatched(), errs)
	}
}

// TestMockUDP: each datagram is a message; each sender its own
// conversation.
func TestMockUDP(t *testing.T) {
	t.Parallel()
	recs := transcript(t, "1 < TIME", "1 > 1", "1 < TIME", "1 > 2", "1 < NAME", "1 > dev")
	for i := range recs {
		recs[i].Proto = "udp"
	}
	m := &Mock{Book: loadBook(t, 0, recs), Packet: true}
	addr, _ := mockServer(t, m, true)
	for _, c := range []string{"a", "b"} {
		conn, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, x := range [][2]string{{"NAME", "dev"}, {"TIME", "1"}, {"TIME", "2"}, {"TIME", "2"}} {
			conn.Write([]byte(x[0]))
			conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			buf := make([]byte, 100)
			n, err := conn.Read(buf)
			if err != nil || string(buf[:n]) != x[1] {
				t.Fatalf("client %s asked %s: %q (%v), want %q", c, x[0], buf[:n], err, x[1])
			}
		}
	}
}

// BenchmarkMatch answers requests from a book of 10,000 distinct ones,
// each arriving in one read, as a mock under load would.
func BenchmarkMatch(b *testing.B) {
	var script []string
	var reqs []string
	for i := 0; i < 10000; i++ {
		k := fmt.Sprintf("key:%d", i)
		req := fmt.Sprintf("*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", len(k), k)
		reqs = append(reqs, req)
		script = append(script, "1 < "+req, "1 > $1\r\nv\r\n")
	}
	book := loadBook(b, 0, transcript(b, script...))
	ix, err := newIndex(book, form{}, nil, false)
	if err != nil {
		b.Fatal(err)
	}
	cv := &conversation{ix: ix, used: map[*entry]*cursor{}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cv.add([]byte(reqs[i%len(reqs)]))
		if o, ok := cv.next(false); !ok || !o.matched {
			b.Fatal("not matched")
		}
	}
}

package replay

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/fail"
)

// transcript builds the records of a server's recording: each line is
// "conn connect [frame]", "conn close", "conn < text" (the client sent
// it) or "conn > text" (the server did); text takes Go escapes.
func transcript(t testing.TB, lines ...string) []event.Record {
	t.Helper()
	recs := []event.Record{{Event: event.Listen, Local: "127.0.0.1:1"}}
	at := time.Unix(1000, 0)
	for _, l := range lines {
		var conn uint64
		var op string
		fmt.Sscanf(l, "%d %s", &conn, &op)
		rest := ""
		if _, after, ok := strings.Cut(l, " "+op+" "); ok {
			rest = after
		}
		r := event.Record{Conn: conn, Proto: "tcp", T: at}
		switch op {
		case "connect":
			r.Event, r.Frame = event.Connect, rest
		case "close":
			r.Event = event.Close
		case "<", ">":
			r.Event, r.Dir = event.Data, event.In
			if op == ">" {
				r.Dir = event.Out
			}
			r.Hex = fmt.Sprintf("%x", rest)
		default:
			t.Fatalf("bad line %q", l)
		}
		recs = append(recs, r)
		at = at.Add(10 * time.Millisecond)
	}
	return recs
}

func loadBook(t testing.TB, conn uint64, recs []event.Record) *Book {
	t.Helper()
	l := NewBookLoader(conn)
	for _, r := range recs {
		if err := l.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	b, err := l.Book()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exchanges renders a book's exchanges as "req => ans" lines.
func exchanges(b *Book) []string {
	var out []string
	show := func(enc string) string {
		var parts []string
		for _, m := range splitMsgs(enc) {
			parts = append(parts, string(m))
		}
		return strings.Join(parts, "|")
	}
	for _, x := range b.exchanges {
		req, ans := "(greeting)", "(none)"
		if x.req != nil {
			req = show(x.req.enc)
		}
		if x.ans != nil {
			ans = show(x.ans.enc)
		}
		out = append(out, req+" => "+ans)
	}
	return out
}

func TestBookExchanges(t *testing.T) {
	recs := transcript(t,
		"1 connect",
		"1 > HELLO",
		"2 connect",
		"1 < GET a",
		"2 < GET b",
		"2 > B",
		"1 > A",
		"1 > A2",
		"1 < SET a",
		"1 < SET b", // two messages before the answer: one request
		"2 < QUIT",
		"1 > OK",
		"2 close", // QUIT had no answer
		"1 < GET a",
		"1 > A",
		"1 close",
		"1 connect", // a number used again: a new conversation
		"1 < GET a",
		"1 > A'",
	)
	b := loadBook(t, 0, recs)
	got := strings.Join(exchanges(b), "\n")
	// In the order each began; the open conversation at the end counts.
	want := strings.Join([]string{
		"(greeting) => HELLO",
		"GET a => A|A2",
		"GET b => B",
		"SET a|SET b => OK",
		"QUIT => (none)",
		"GET a => A",
		"GET a => A'",
	}, "\n")
	if got != want {
		t.Fatalf("exchanges:\n%s\nwant:\n%s", got, want)
	}
	if b.Conversations() != 3 || b.Recorded != Server || b.Requests() != 4 || b.answers != 6 {
		t.Errorf("conversations %d, recorded %s, requests %d, answers %d", b.Conversations(), b.Recorded, b.Requests(), b.answers)
	}
	// "GET a" is kept once.
	if b.exchanges[1].req != b.exchanges[5].req || b.exchanges[1].req != b.exchanges[6].req {
		t.Error("equal requests are kept twice")
	}

	// One conversation only.
	if got := exchanges(loadBook(t, 2, recs)); strings.Join(got, ",") != "GET b => B,QUIT => (none)" {
		t.Errorf("--conn 2: %q", got)
	}
}

// A client's recording (no listen event): what it sent are the requests.
func TestBookFromClientRecording(t *testing.T) {
	recs := transcript(t, "1 connect", "1 > PING", "1 < PONG")[1:]
	if got := exchanges(loadBook(t, 0, recs)); len(got) != 1 || got[0] != "PING => PONG" {
		t.Fatalf("%q", got)
	}
}

func TestBookErrors(t *testing.T) {
	for _, tc := range []struct {
		recs []event.Record
		conn uint64
		want string
	}{
		{transcript(t, "1 connect", "1 close"), 0, "no data events"},
		{transcript(t, "1 < x"), 9, "no conversation 9"},
		{transcript(t, "1 connect line", "1 < x", "2 connect len16", "2 < y"), 0, "conversation 2 was recorded with --frame len16, an earlier one with --frame line"},
		{[]event.Record{{Event: event.Data, Conn: 1, Dir: event.In, Hex: "zz"}}, 0, "conversation 1"},
	} {
		l := NewBookLoader(tc.conn)
		var err error
		for _, r := range tc.recs {
			if err = l.Add(r); err != nil {
				break
			}
		}
		if err == nil {
			_, err = l.Book()
		}
		// The command line writes the options as flags; the engine's
		// own words name them plainly.
		fe, _ := fail.As(err)
		if !fail.IsInput(err) || fe == nil || !strings.Contains(fe.Text(flag), tc.want) || strings.Contains(err.Error(), "--") {
			t.Errorf("%v, want a usage error with %q", err, tc.want)
		}
	}
}

func flag(o fail.Option) string { return "--" + string(o) }

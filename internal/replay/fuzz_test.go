package replay

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/frame"
)

// FuzzLoad streams a transcript through event.Scanner and a Loader, as
// replay reads a file, and checks the script against the records: the
// conversation picked is the one asked for (or the first with data and a
// number), and
// its steps are exactly its data events, in order, with their bytes.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("{\"event\":\"listen\",\"local\":\"127.0.0.1:1\"}\n{\"event\":\"connect\",\"conn\":1,\"proto\":\"tcp\",\"frame\":\"line\"}\n{\"event\":\"data\",\"conn\":1,\"dir\":\"in\",\"data\":\"aGk=\"}\n{\"event\":\"close\",\"conn\":1,\"bytes_in\":2,\"bytes_out\":0}\n"), uint64(0))
	f.Add([]byte("{\"event\":\"open\",\"conn\":2,\"proto\":\"udp\"}\n{\"event\":\"connect\",\"conn\":3}\n{\"event\":\"data\",\"conn\":3,\"dir\":\"out\",\"hex\":\"00ff\"}\n{\"event\":\"data\",\"conn\":2,\"dir\":\"in\",\"text\":\"x\"}\n"), uint64(2))
	f.Add([]byte("{\"event\":\"data\",\"dir\":\"in\",\"text\":\"no conn\"}\n"), uint64(0))
	f.Add([]byte("\n"), uint64(7))
	f.Fuzz(func(t *testing.T, in []byte, conn uint64) {
		recs, err := event.ReadAll(bytes.NewReader(in))
		if err != nil {
			return
		}
		sc := event.NewScanner(bytes.NewReader(in))
		l := NewLoader(conn)
		for sc.Scan() {
			if err := l.Add(sc.Record()); err != nil {
				return
			}
		}
		if sc.Err() != nil {
			t.Fatalf("ReadAll accepted what the Scanner refused: %v", sc.Err())
		}
		s, err := l.Script()
		if err != nil {
			return
		}
		want := conn
		if want == 0 {
			for _, r := range recs {
				if r.Event == event.Data && r.Conn != 0 {
					want = r.Conn
					break
				}
			}
		}
		if s.Conn != want {
			t.Fatalf("picked conversation %d, want %d", s.Conn, want)
		}
		i := 0
		for _, r := range recs {
			if r.Conn != want || r.Event != event.Data {
				continue
			}
			b, _ := r.Bytes()
			if i >= len(s.Steps) || !bytes.Equal(s.Steps[i].Data, b) || s.Steps[i].Send != (r.Dir == event.Out) {
				t.Fatalf("step %d does not match data event %+v", i, r)
			}
			i++
		}
		if i != len(s.Steps) {
			t.Fatalf("%d steps for %d data events", len(s.Steps), i)
		}
	})
}

// FuzzBook streams a transcript through a BookLoader and checks that
// every byte of every data event of the conversations it keeps is in
// exactly one exchange, on the side it was sent from.
func FuzzBook(f *testing.F) {
	f.Add([]byte("{\"event\":\"listen\",\"local\":\"127.0.0.1:1\"}\n{\"event\":\"connect\",\"conn\":1,\"proto\":\"tcp\"}\n{\"event\":\"data\",\"conn\":1,\"dir\":\"out\",\"data\":\"aGk=\"}\n{\"event\":\"data\",\"conn\":1,\"dir\":\"in\",\"text\":\"GET\"}\n{\"event\":\"data\",\"conn\":2,\"dir\":\"in\",\"text\":\"x\"}\n{\"event\":\"data\",\"conn\":1,\"dir\":\"out\",\"text\":\"v\"}\n{\"event\":\"close\",\"conn\":1}\n{\"event\":\"connect\",\"conn\":1}\n{\"event\":\"data\",\"conn\":1,\"dir\":\"in\",\"text\":\"GET\"}\n"), uint64(0))
	f.Add([]byte("{\"event\":\"connect\",\"conn\":3,\"frame\":\"line\"}\n{\"event\":\"data\",\"conn\":3,\"dir\":\"out\",\"hex\":\"00ff\"}\n{\"event\":\"data\",\"conn\":3,\"dir\":\"in\",\"text\":\"x\"}\n{\"event\":\"connect\",\"conn\":4,\"frame\":\"len16\"}\n{\"event\":\"data\",\"conn\":4,\"dir\":\"in\",\"text\":\"y\"}\n"), uint64(3))
	f.Fuzz(func(t *testing.T, in []byte, conn uint64) {
		recs, err := event.ReadAll(bytes.NewReader(in))
		if err != nil {
			return
		}
		l := NewBookLoader(conn)
		for _, r := range recs {
			if err := l.Add(r); err != nil {
				return
			}
		}
		b, err := l.Book()
		if err != nil {
			return
		}
		server := false
		var want [2]int // bytes the client sent, bytes the server sent
		for _, r := range recs {
			if r.Event == event.Listen && want == [2]int{} {
				server = true
			}
			if r.Event != event.Data || r.Conn == 0 || conn != 0 && r.Conn != conn {
				continue
			}
			d, _ := r.Bytes()
			if (r.Dir == event.In) == server {
				want[0] += len(d)
			} else {
				want[1] += len(d)
			}
		}
		var got [2]int
		for _, x := range b.exchanges {
			if x.req == nil && x.ans == nil {
				t.Fatal("an exchange without a request or an answer")
			}
			if x.req != nil {
				got[0] += len(bytes.Join(splitMsgs(x.req.enc), nil))
			}
			if x.ans != nil {
				got[1] += len(bytes.Join(splitMsgs(x.ans.enc), nil))
			}
		}
		if got != want {
			t.Fatalf("the exchanges hold %v bytes (client, server), the data events %v", got, want)
		}
	})
}

// FuzzMatchChunks: on a raw stream whose recorded requests are lines
// (none the start of another), a client asking recorded requests gets
// their answers, in the recorded order and then the last, however the
// stream is cut into reads; and what arrives is all answered or waited
// on, never lost.
func FuzzMatchChunks(f *testing.F) {
	f.Add("PING\nGET k\nGET kk\n\nSET k v", []byte{0, 1, 1, 2, 1, 3, 4, 0, 0}, uint8(3))
	f.Add("*1\r\n$4\r\nPING\r\n", []byte{0, 0, 0}, uint8(0))
	f.Fuzz(func(t *testing.T, lines string, picks []byte, chunk uint8) {
		var reqs []string
		seen := map[string]bool{}
		for _, l := range strings.Split(lines, "\n") {
			if !seen[l] {
				seen[l] = true
				reqs = append(reqs, l+"\n")
			}
		}
		if len(picks) > 200 {
			picks = picks[:200]
		}
		// Each request was answered twice: "<i>a", then "<i>b".
		var script []string
		for i, r := range reqs {
			for _, v := range []string{"a", "b"} {
				script = append(script, "1 < "+r, fmt.Sprintf("1 > %d%s", i, v))
			}
		}
		b := loadBook(t, 0, transcript(t, script...))
		fd := newFeeder(t, b, form{}, nil)
		var stream []byte
		var want []string
		asked := map[int]bool{}
		for _, p := range picks {
			i := int(p) % len(reqs)
			stream = append(stream, reqs[i]...)
			v := "a"
			if asked[i] {
				v = "b"
			}
			asked[i] = true
			want = append(want, fmt.Sprintf("=%d%s", i, v))
		}
		var got []string
		size := int(chunk)%7 + 1
		for len(stream) > 0 {
			n := min(size, len(stream))
			got = append(got, fd.run(false, string(stream[:n]))...)
			stream = stream[n:]
			size = size%7 + 1
		}
		if fd.cv.pending() {
			t.Fatalf("%q still pending after whole requests", fd.cv.buf)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("answers %q, want %q", got, want)
		}
	})
}

// FuzzMatch: whatever was recorded, whatever a client sends and however
// it is cut into reads, the matcher neither loses nor invents a byte. Each
// request it decides on is the start of what is pending; an unmatched one
// is reported with exactly what it took; a matched one is a recorded
// request, or has a recorded --match-key key; and once the client has
// finished nothing is left pending.
func FuzzMatch(f *testing.F) {
	f.Add("PING\x00GET k\x00GET kk", "GET k\nPINGGET xPI", uint8(0), false, uint8(3))
	f.Add("*1\r\n$4\r\nPING\r\n\x00*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "*2\r\n$3\r\nGET\r\n$1\r\nz\r\n*1\r\n$4\r\nPI", uint8(1), false, uint8(5))
	f.Add("HELLO\x00TIME\x00AUTH 1", "TIME\nBAD\nHELLO\nAUTH 2\nAUTH", uint8(3), true, uint8(1))
	keys := []*regexp.Regexp{nil, regexp.MustCompile(`^\*\d+\r\n\$\d+\r\n(\w+)\r\n`), regexp.MustCompile(`^(\w+)`), regexp.MustCompile(`\d`)}
	f.Fuzz(func(t *testing.T, recorded, sent string, keyPick uint8, framed bool, chunk uint8) {
		if len(recorded) > 4096 || len(sent) > 4096 {
			return
		}
		key := keys[int(keyPick)%len(keys)]
		live := form{}
		conn := event.Record{Event: event.Connect, Conn: 1, Proto: "tcp"}
		if framed {
			live.spec = frame.Spec{Kind: frame.Line}
			conn.Frame = "line"
		}
		recs := []event.Record{{Event: event.Listen, Local: "127.0.0.1:1"}, conn}
		for i, r := range strings.Split(recorded, "\x00") {
			if r == "" || framed && strings.ContainsAny(r, "\r\n") {
				continue
			}
			recs = append(recs,
				event.Record{Event: event.Data, Conn: 1, Dir: event.In, Hex: hex.EncodeToString([]byte(r))},
				event.Record{Event: event.Data, Conn: 1, Dir: event.Out, Hex: hex.EncodeToString([]byte(fmt.Sprint(i)))})
		}
		if len(recs) == 2 {
			return
		}
		l := NewBookLoader(0)
		for _, r := range recs {
			if err := l.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		b, err := l.Book()
		if err != nil {
			t.Fatal(err)
		}
		ix, err := newIndex(b, live, key, false)
		if err != nil {
			t.Fatal(err)
		}
		cv := &conversation{ix: ix, used: map[*entry]*cursor{}}

		// decide runs the matcher on what is pending and checks each
		// request it decides on.
		decide := func(whole bool) {
			for {
				before := bytes.Clone(cv.buf)
				msgs := slices.Clone(cv.msgs)
				o, ok := cv.next(whole)
				if !ok {
					if !bytes.Equal(cv.buf, before) {
						t.Fatalf("nothing decided, yet %q became %q", before, cv.buf)
					}
					if whole && cv.pending() {
						t.Fatalf("%q still pending once the client finished", cv.buf)
					}
					return
				}
				took := before[:len(before)-len(cv.buf)]
				if len(took) == 0 || !bytes.Equal(before[len(took):], cv.buf) {
					t.Fatalf("%q became %q: not a request taken from the start", before, cv.buf)
				}
				exact := took // the request as the index keys it
				text := took  // as --match-key sees it
				if ix.units {
					text = bytesJoin(msgs[:len(msgs)-len(cv.msgs)])
				}
				switch {
				case !o.matched:
					if !bytes.Equal(o.req, text) {
						t.Fatalf("unmatched request reported as %q, took %q", o.req, text)
					}
				case ix.exact[string(exact)] != nil:
				case key != nil:
					k, ok := keyOf(key, text)
					if !ok || ix.keyed[k] == nil {
						t.Fatalf("matched %q, which is no recorded request nor has a recorded key", text)
					}
				default:
					t.Fatalf("matched %q, which is no recorded request", text)
				}
			}
		}
		if framed {
			for _, m := range strings.Split(sent, "\n") {
				cv.add([]byte(m))
				decide(false)
			}
		} else {
			size := int(chunk)%7 + 1
			for s := []byte(sent); len(s) > 0; {
				n := min(size, len(s))
				cv.add(s[:n])
				s = s[n:]
				decide(false)
				size = size%7 + 1
			}
		}
		decide(true)
	})
}

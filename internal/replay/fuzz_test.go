package replay

import (
	"bytes"
	"testing"

	"github.com/sockit/sockit/internal/event"
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

package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestWriterRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 0, 0, 123456789, time.UTC)
	payloads := [][]byte{
		nil,
		[]byte("hello"),
		[]byte("PONG\r\n"),
		{0x00, 0xff, 0xfe, '"', '\\', '<', 0x7f},
		[]byte("你好\u2028"),
	}
	for _, opt := range []WriterOptions{{Hex: true}, {Base64: true}, {}} {
		for _, p := range payloads {
			var buf bytes.Buffer
			w := NewWriter(&buf, opt)
			w.Write(&Event{Time: at, Kind: Data, Conn: 7, Proto: "tcp", Local: "127.0.0.1:1", Peer: "127.0.0.1:2", Dir: In, Data: p})
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			line := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
			if !json.Valid(line) {
				t.Fatalf("%+v %q: invalid JSON: %s", opt, p, line)
			}
			rec, err := ParseLine(line)
			if err != nil {
				t.Fatalf("%+v %q: %v\n%s", opt, p, err, line)
			}
			got, err := rec.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			exact := opt.Hex || opt.Base64 || (bytes.Equal([]byte(string(p)), p) && !bytes.ContainsAny(p, "\xff\xfe"))
			if exact && !bytes.Equal(got, p) {
				t.Errorf("%+v: bytes %q, want %q (%s)", opt, got, p, line)
			}
			if rec.Len != len(p) && exact || !rec.T.Equal(at) || rec.Conn != 7 || rec.Dir != In || rec.Peer != "127.0.0.1:2" {
				t.Errorf("%+v: record %+v", opt, rec)
			}
		}
	}
}

func TestWriterFields(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, WriterOptions{Hex: true})
	at := time.Unix(0, 0).UTC()
	w.Write(&Event{Time: at, Kind: Listen, Proto: "udp", Local: "127.0.0.1:9"})
	w.Write(&Event{Time: at, Kind: Connect, Conn: 1, Proto: "tcp", Peer: "p", Frame: "len16"})
	w.Write(&Event{Time: at, Kind: Close, Conn: 1, Reason: "peer closed", BytesIn: 3, BytesOut: 4})
	w.Write(&Event{Time: at, Kind: Refused, Peer: "10.0.0.1:5", Reason: "denied by the deny list", Option: "deny"})
	w.Flush()
	want := `{"t":"1970-01-01T00:00:00Z","event":"listen","proto":"udp","local":"127.0.0.1:9"}
{"t":"1970-01-01T00:00:00Z","event":"connect","conn":1,"proto":"tcp","peer":"p","frame":"len16"}
{"t":"1970-01-01T00:00:00Z","event":"close","conn":1,"reason":"peer closed","bytes_in":3,"bytes_out":4}
{"t":"1970-01-01T00:00:00Z","event":"refused","peer":"10.0.0.1:5","reason":"denied by the deny list","option":"deny"}
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	recs, err := ReadAll(strings.NewReader(buf.String()))
	if err != nil || len(recs) != 4 || recs[1].Frame != "len16" || recs[2].BytesOut != 4 || recs[3].Option != "deny" {
		t.Fatalf("ReadAll: %v %+v", err, recs)
	}
}

func TestParseLineErrors(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{`{"event":"dance"}`, `unknown event "dance"`},
		{`{"event":"data","dir":"up","text":"x"}`, `dir "up"`},
		{`{"event":"data","dir":"in"}`, "without its bytes"},
		{`{"event":"data","dir":"in","hex":"zz"}`, "invalid byte"},
		{`{"event":"data","dir":"in","data":"***"}`, "illegal base64"},
		{`{"event":"data","dir":"in","len":3,"hex":"6162"}`, "len 3 but carries 2"},
		{`{"event":"data","dir":"in","len":-1,"data":"YWI="}`, "len -1"},
		{`not json`, "invalid character"},
		{`[]`, "cannot unmarshal"},
		{`{"event":"connect","conn":-1}`, "cannot unmarshal"},
		{`{"event":"Connect"}`, `unknown event "Connect"`},
	} {
		_, err := ParseLine([]byte(tc.line))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseLine(%s) = %v, want an error with %q", tc.line, err, tc.want)
		}
	}
}

func TestReadAllNamesTheLine(t *testing.T) {
	in := "{\"event\":\"listen\"}\n\n  \r\n{\"event\":\"bogus\"}\n"
	_, err := ReadAll(strings.NewReader(in))
	if err == nil || !strings.HasPrefix(err.Error(), "line 4:") {
		t.Fatalf("err = %v, want it to name line 4", err)
	}
	recs, err := ReadAll(strings.NewReader("\n{\"event\":\"info\",\"msg\":\"hi\"}\r\n"))
	if err != nil || len(recs) != 1 || recs[0].Msg != "hi" {
		t.Fatalf("ReadAll = %+v, %v", recs, err)
	}
}

func TestTeeAndLocked(t *testing.T) {
	if Tee(nil, nil) != nil {
		t.Error("Tee of nothing should be nil, so callers take the fast path")
	}
	var n int
	s := Locked(Tee(func(*Event) { n++ }, nil, func(*Event) { n += 10 }))
	s(&Event{})
	if n != 11 {
		t.Errorf("n = %d", n)
	}
}

// TestReadsLegacyOpen: transcripts recorded while connect events were
// called "open" still replay; they read back as connect.
func TestReadsLegacyOpen(t *testing.T) {
	recs, err := ReadAll(strings.NewReader(`{"t":"2026-11-26T10:00:00Z","event":"open","conn":1,"proto":"tcp","frame":"line"}` + "\n"))
	if err != nil || len(recs) != 1 || recs[0].Event != Connect || recs[0].Frame != "line" {
		t.Fatalf("ReadAll = %+v, %v; want one connect record", recs, err)
	}
}

// TestScannerLongLine: a line past MaxLine is an error naming it, read
// without holding more than MaxLine.
func TestScannerLongLine(t *testing.T) {
	in := io.MultiReader(strings.NewReader(`{"event":"info","msg":"a"}`+"\n"), &endless{})
	sc := NewScanner(in)
	if !sc.Scan() || sc.Record().Msg != "a" {
		t.Fatalf("first record: %v", sc.Err())
	}
	if sc.Scan() {
		t.Fatal("an endless line scanned as an event")
	}
	if err := sc.Err(); err == nil || !strings.Contains(err.Error(), "line 2: longer than 64 MiB") {
		t.Fatalf("err = %v, want line 2 named as too long", err)
	}
}

type endless struct{}

func (*endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// shortFile takes the first room bytes written to it, then fails as a
// full disk does: part of the write that crosses the limit, then ENOSPC.
type shortFile struct {
	room   int
	data   []byte
	writes int
}

func (f *shortFile) Write(p []byte) (int, error) {
	f.writes++
	n := min(len(p), f.room-len(f.data))
	f.data = append(f.data, p[:n]...)
	if n < len(p) {
		return n, syscall.ENOSPC
	}
	return n, nil
}

func (f *shortFile) Truncate(size int64) error {
	f.data = f.data[:size]
	return nil
}

// TestWriterWholeLines: a write that fails part way leaves only whole
// lines (the half line is cut off), reports the error once, and drops
// later events rather than leave a hole in the transcript.
func TestWriterWholeLines(t *testing.T) {
	for _, flush := range []bool{true, false} {
		f := &shortFile{room: 300}
		var reported []error
		w := NewWriter(f, WriterOptions{Base64: true, Flush: flush, Cut: f.Truncate, OnError: func(err error) { reported = append(reported, err) }})
		for i := 0; i < 20; i++ {
			w.Write(&Event{Time: time.Unix(int64(i), 0), Kind: Data, Conn: 1, Dir: In, Data: []byte("hello")})
		}
		err := w.Flush()
		if !errors.Is(err, syscall.ENOSPC) || len(reported) != 1 || !errors.Is(reported[0], syscall.ENOSPC) {
			t.Fatalf("flush %v: Flush = %v, reported %v; want ENOSPC once", flush, err, reported)
		}
		if len(f.data) == 0 || f.data[len(f.data)-1] != '\n' {
			t.Fatalf("flush %v: the file ends in a cut-off line: %q", flush, f.data)
		}
		recs, rerr := ReadAll(bytes.NewReader(f.data))
		if rerr != nil || len(recs) == 0 {
			t.Fatalf("flush %v: what was kept does not read back: %v", flush, rerr)
		}
		writes := f.writes
		w.Write(&Event{Kind: Info, Msg: "later"})
		w.Flush()
		if f.writes != writes {
			t.Errorf("flush %v: wrote again after the failure", flush)
		}
	}
}

// TestWriterOneWritePerEvent: with Flush each event is one Write of one
// whole line (so concurrent readers of a pipe never see half an event).
func TestWriterOneWritePerEvent(t *testing.T) {
	f := &shortFile{room: 1 << 30}
	w := NewWriter(f, WriterOptions{Hex: true, Flush: true})
	for i := 0; i < 5; i++ {
		w.Write(&Event{Kind: Data, Dir: Out, Data: bytes.Repeat([]byte{'a'}, 100<<10)})
	}
	if f.writes != 5 || bytes.Count(f.data, []byte("\n")) != 5 {
		t.Fatalf("%d writes for 5 events", f.writes)
	}
}

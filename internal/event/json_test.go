package event

import (
	"bytes"
	"encoding/json"
	"strings"
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
	w.Write(&Event{Time: at, Kind: Refused, Peer: "10.0.0.1:5", Reason: "denied by --deny"})
	w.Flush()
	want := `{"t":"1970-01-01T00:00:00Z","event":"listen","proto":"udp","local":"127.0.0.1:9"}
{"t":"1970-01-01T00:00:00Z","event":"connect","conn":1,"proto":"tcp","peer":"p","frame":"len16"}
{"t":"1970-01-01T00:00:00Z","event":"close","conn":1,"reason":"peer closed","bytes_in":3,"bytes_out":4}
{"t":"1970-01-01T00:00:00Z","event":"refused","peer":"10.0.0.1:5","reason":"denied by --deny"}
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	recs, err := ReadAll(strings.NewReader(buf.String()))
	if err != nil || len(recs) != 4 || recs[1].Frame != "len16" || recs[2].BytesOut != 4 {
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

package event

import (
	"bytes"
	"testing"
	"time"
)

// FuzzParseLine checks that no line makes ParseLine panic, and that what it
// accepts is consistent: a data record's bytes decode and match its len,
// and writing them back out reads back the same.
func FuzzParseLine(f *testing.F) {
	f.Add([]byte(`{"t":"2026-11-26T10:00:00.123456789Z","event":"data","conn":1,"proto":"tcp","local":"127.0.0.1:8888","peer":"127.0.0.1:51234","dir":"in","len":5,"text":"hello","hex":"68656c6c6f"}`))
	f.Add([]byte(`{"t":"2026-11-26T10:00:00Z","event":"data","conn":2,"dir":"out","len":3,"text":"a\ufffdb","data":"YYBi"}`))
	f.Add([]byte(`{"t":"2026-11-26T10:00:00Z","event":"close","conn":1,"reason":"peer closed","bytes_in":5,"bytes_out":0}`))
	f.Add([]byte(`{"event":"connect","frame":"len16","conn":3}`))
	f.Add([]byte(`{"event":"open","frame":"len16","conn":3}`))
	f.Add([]byte(`{"event":"data","dir":"in","len":0,"text":""}`))
	f.Add([]byte(`{"event":"data","dir":"in","hex":"0"}`))
	f.Add([]byte(`{"event":"refused","peer":"[::1]:5","reason":"not in the allow list","option":"allow"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := ParseLine(line)
		if err != nil {
			return
		}
		if rec.Event != Data {
			return
		}
		b, err := rec.Bytes()
		if err != nil {
			t.Fatalf("accepted a data record whose bytes do not decode: %v", err)
		}
		if rec.Len != 0 && rec.Len != len(b) && (rec.Data != "" || rec.Hex != "") {
			t.Fatalf("accepted len %d for %d bytes", rec.Len, len(b))
		}
		var buf bytes.Buffer
		w := NewWriter(&buf, WriterOptions{Base64: true})
		w.Write(&Event{Time: time.Unix(1, 0), Kind: Data, Dir: rec.Dir, Data: b})
		w.Flush()
		back, err := ParseLine(bytes.TrimSpace(buf.Bytes()))
		if err != nil {
			t.Fatalf("our own line does not parse: %v\n%s", err, buf.Bytes())
		}
		b2, _ := back.Bytes()
		if !bytes.Equal(b, b2) {
			t.Fatalf("round trip changed %q to %q", b, b2)
		}
	})
}

// FuzzReadAll checks that no transcript makes ReadAll panic and that it
// either fails or returns only records ParseLine accepts.
func FuzzReadAll(f *testing.F) {
	f.Add([]byte("{\"event\":\"listen\",\"local\":\"127.0.0.1:1\"}\n{\"event\":\"connect\",\"conn\":1}\n{\"event\":\"data\",\"conn\":1,\"dir\":\"in\",\"data\":\"aGk=\"}\n"))
	f.Add([]byte("\n\r\n  \n"))
	f.Add([]byte("{\"event\":\"data\",\"dir\":\"out\",\"text\":\"x\"}\r\n{\"event\":\"close\"}"))
	f.Add([]byte("{\"event\":\"data\"}\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		recs, err := ReadAll(bytes.NewReader(in))
		if err != nil {
			return
		}
		for _, r := range recs {
			switch r.Event {
			case Listen, Connect, Data, Close, Refused, Error, Info:
			default:
				t.Fatalf("ReadAll returned event %q", r.Event)
			}
			if r.Event == Data {
				if _, err := r.Bytes(); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

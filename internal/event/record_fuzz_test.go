package event

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzRecordRoundTrip: whatever bytes, peer and reason an event carries,
// what --record (base64) and --json (hex) write is one line that reads back
// exactly: the bytes, and the strings as JSON carries them. (FuzzParseLine
// starts from lines; this starts from events.)
func FuzzRecordRoundTrip(f *testing.F) {
	f.Add([]byte("hello\r\n"), "127.0.0.1:5", "peer closed", true)
	f.Add([]byte{0, 0xff, 0xfe, '"', '\\', 0x7f}, "[::1]:9", "bad \xff name \u2028", false)
	f.Add([]byte{}, "", "", true)
	f.Fuzz(func(t *testing.T, data []byte, peer, reason string, in bool) {
		dir := Out
		if in {
			dir = In
		}
		e := &Event{Time: time.Unix(1, 5).UTC(), Kind: Data, Conn: 3, Proto: "tcp", Peer: peer, Dir: dir, Data: data, Reason: reason}
		for _, opt := range []WriterOptions{{Base64: true}, {Hex: true}} {
			var buf bytes.Buffer
			w := NewWriter(&buf, opt)
			w.Write(e)
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			line := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
			if bytes.ContainsRune(line, '\n') {
				t.Fatalf("one event became several lines: %q", line)
			}
			r, err := ParseLine(line)
			if err != nil {
				t.Fatalf("%+v wrote %q, which does not parse: %v", opt, line, err)
			}
			got, err := r.Bytes()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%+v: wrote %q, read back %q (%v)", opt, data, got, err)
			}
			if r.Peer != jsonString(peer) || r.Reason != jsonString(reason) || r.Dir != dir || r.Conn != 3 {
				t.Fatalf("%+v: fields changed: %+v", opt, r)
			}
		}
	})
}

// jsonString is s as encoding/json carries it (invalid UTF-8 as U+FFFD).
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	var out string
	json.Unmarshal(b, &out)
	return out
}

package event

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// schema is docs/events.md as a test reads it: the fields each kind can
// carry (its Kinds table) and every field (its Fields table).
type schema struct {
	kinds  map[Kind][]string
	fields []string
}

var codeSpan = regexp.MustCompile("`([a-z_]+)`")

func readSchema(t *testing.T) schema {
	t.Helper()
	b, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	s := schema{kinds: map[Kind][]string{}}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if h, ok := strings.CutPrefix(line, "## "); ok {
			section = h
			continue
		}
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		first := codeSpan.FindStringSubmatch(cells[1])
		if first == nil {
			continue
		}
		switch section {
		case "Kinds":
			var fields []string
			for _, m := range codeSpan.FindAllStringSubmatch(cells[3], -1) {
				fields = append(fields, m[1])
			}
			s.kinds[Kind(first[1])] = fields
		case "Fields":
			s.fields = append(s.fields, first[1])
		}
	}
	if len(s.kinds) == 0 || len(s.fields) == 0 {
		t.Fatal("docs/events.md: no Kinds or Fields table found")
	}
	return s
}

// TestSchemaDocumented keeps docs/events.md and the code in step: every
// kind sockit writes is documented and nothing else is; the fields the
// transcript reader knows are the documented fields; whatever the Writer
// writes is documented; and each kind's list names the fields it always
// carries. (test/servers checks every event the binary prints against the
// kinds' lists.)
func TestSchemaDocumented(t *testing.T) {
	s := readSchema(t)
	for _, k := range Kinds() {
		if _, ok := s.kinds[k]; !ok {
			t.Errorf("kind %q is written but not documented in docs/events.md", k)
		}
	}
	for k, fields := range s.kinds {
		if !slices.Contains(Kinds(), k) {
			t.Errorf("docs/events.md documents kind %q, which sockit does not write", k)
		}
		for _, f := range fields {
			if !slices.Contains(s.fields, f) {
				t.Errorf("kind %q lists field %q, which the Fields table lacks", k, f)
			}
		}
	}

	var tags []string
	rt := reflect.TypeOf(Record{})
	for i := 0; i < rt.NumField(); i++ {
		tags = append(tags, strings.Split(rt.Field(i).Tag.Get("json"), ",")[0])
	}
	slices.Sort(tags)
	documented := slices.Clone(s.fields)
	slices.Sort(documented)
	if !slices.Equal(tags, documented) {
		t.Errorf("fields read from transcripts %v differ from the documented fields %v", tags, documented)
	}

	always := map[Kind][]string{
		Data:  {"t", "event", "dir", "len", "text"},
		Close: {"t", "event", "bytes_in", "bytes_out"},
	}
	for _, k := range Kinds() {
		// Every field set: what the Writer writes must be documented, and
		// what it always writes for this kind must be in the kind's list.
		e := &Event{Time: time.Now(), Kind: k, Conn: 1, Proto: "tcp", Local: "l", Peer: "p", Dir: In,
			Data: []byte("x"), Err: "e", Reason: "r", Msg: "m", Frame: "line", BytesIn: 1, BytesOut: 1}
		var buf bytes.Buffer
		w := NewWriter(&buf, WriterOptions{Hex: true, Base64: true})
		w.Write(e)
		w.Flush()
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		for key := range m {
			if !slices.Contains(s.fields, key) {
				t.Errorf("%s event: field %q is written but not documented", k, key)
			}
		}
		for _, key := range append([]string{"t", "event"}, always[k]...) {
			if !slices.Contains(s.kinds[k], key) {
				t.Errorf("%s event always carries %q, but its row in docs/events.md does not list it", k, key)
			}
		}
	}
}

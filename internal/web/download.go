package web

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/event"
)

// serveLog sends a session's log as a file: N.jsonl is the --record format
// (event.Writer with the bytes in base64, so sockit replay can play it),
// N.txt is one line per event for people.
func (u *UI) serveLog(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	base, ext, _ := strings.Cut(file, ".")
	id, err := strconv.Atoi(base)
	if err != nil || (ext != "jsonl" && ext != "txt") {
		http.NotFound(w, r)
		return
	}
	s, err := u.mgr.get(id)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	recs, evicted := s.log.all()
	maxLog := s.log.info().Cap
	enc := s.encoding()
	name := fmt.Sprintf("sockit-session-%d-%s.%s", id, time.Now().Format("20060102-150405"), ext)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	bw := bufio.NewWriterSize(newDeadlineWriter(w, u.limits.write), 64<<10)
	defer bw.Flush()
	var dropped *event.Event
	if evicted > 0 {
		t := time.Now()
		if len(recs) > 0 {
			t = recs[0].ev.Time
		}
		dropped = &event.Event{Time: t, Kind: event.Info, Msg: fmt.Sprintf("%d earlier events are not in this log: sockit ui keeps the latest %s of events per session (--max-log)", evicted, humanSize(maxLog))}
	}
	if ext == "jsonl" {
		w.Header().Set("Content-Type", "application/x-ndjson; charset=utf-8")
		jw := event.NewWriter(bw, event.WriterOptions{Base64: true, Decode: func(p []byte) string { s, _ := enc.Decode(p); return s }})
		if dropped != nil {
			jw.Write(dropped)
		}
		for i := range recs {
			jw.Write(&recs[i].ev)
		}
		jw.Flush()
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if dropped != nil {
		bw.WriteString(textLine(nil, dropped, enc, false))
	}
	var buf []byte
	server := s.kind != kindClient
	for i := range recs {
		buf = buf[:0]
		bw.WriteString(textLine(buf, &recs[i].ev, enc, server))
	}
}

// textLine is one event of the text log: time, direction, peer, length,
// then the data as the terminal shows it (decoded, escaped, never a raw
// control byte), or the event in words.
func textLine(buf []byte, e *event.Event, enc *codec.Encoding, server bool) string {
	buf = e.Time.AppendFormat(buf, "2006-01-02 15:04:05.000000")
	switch {
	case e.Kind == event.Data && e.Dir == event.In:
		buf = append(buf, "  <- "...)
	case e.Kind == event.Data:
		buf = append(buf, "  -> "...)
	default:
		buf = append(buf, "  -- "...)
	}
	if e.Peer != "" {
		buf = append(buf, e.Peer...)
		buf = append(buf, "  "...)
	}
	if e.Kind == event.Data {
		buf = strconv.AppendInt(buf, int64(len(e.Data)), 10)
		buf = append(buf, " B  "...)
		buf = enc.AppendDisplay(buf, e.Data)
	} else {
		buf = append(buf, event.Describe(e, server)...)
	}
	return string(append(buf, '\n'))
}

// humanSize is n bytes as 64 MiB, 512 KiB or 100 B.
func humanSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

package cli

import (
	"strings"
	"sync"
	"time"

	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/event"
)

// encodingHint is an observer for learners: the first time received bytes
// are not UTF-8 but read as text in another encoding (codec.Guess: GBK,
// GB18030, UTF-16), it calls say once with a line that names the flag to
// try. It only looks; it never changes what is shown or written. It gives
// up after the first MiB received, so that a long binary transfer costs
// nothing more. At the prompt (prompt true) it also names /enc, which
// switches at once, without starting over.
func encodingHint(say func(line string), prompt bool) event.Sink {
	var (
		mu     sync.Mutex
		done   bool
		looked int
	)
	return func(e *event.Event) {
		if e.Kind != event.Data || e.Dir != event.In || len(e.Data) == 0 {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if done {
			return
		}
		p := e.Data[:min(len(e.Data), 4096)]
		looked += len(p)
		if looked > 1<<20 {
			done = true
		}
		if name := codec.Guess(p); name != "" {
			done = true
			line := "the bytes received are not UTF-8 but look like " + strings.ToUpper(name) +
				": try --recv-encoding " + name + " (or --encoding " + name + " for both ways)"
			if prompt {
				line += "; here, type /enc " + name
			}
			say(line)
		}
	}
}

// note returns how the conversation tells its person something: a log
// line above the prompt, or a line on stderr.
func (cv *conversation) note(st *stdio) func(string) {
	if cv.printer != nil {
		return func(s string) {
			cv.printer.Print(&event.Event{Time: time.Now(), Kind: event.Info, Msg: "note: " + s})
		}
	}
	return func(s string) { st.errorf("note: %s", s) }
}

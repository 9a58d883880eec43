package talk

import (
	"bufio"
	"context"
	"io"

	"github.com/sockit/sockit/internal/server"
	"github.com/sockit/sockit/internal/session"
)

// Feed sends in to every conversation of the hub's server until in ends
// or ctx does, as pipe mode does for a server of many clients (listen
// -k); what is read while no client is connected is held until one
// connects (server.Hub.Send, with the hub's Open as the server's OnOpen),
// not dropped. It is cut into lines and composed where Lines says so,
// and always on datagrams (and WebSocket and DTLS messages), which have
// no stream to copy into; otherwise in chunks as they come. A message
// that cannot be composed or sent is given to report, and the feed goes
// on; so is a failure to read in other than its end.
func (s *Setup) Feed(ctx context.Context, in io.Reader, hub *server.Hub, report func(error)) {
	br := bufio.NewReaderSize(in, 64<<10)
	buf := make([]byte, 64<<10)
	lines := s.Lines() || s.ep.Messages()
	for ctx.Err() == nil {
		var (
			unit []byte
			err  error
		)
		if lines {
			// Bounded: input without line ends must not grow it.
			unit, err = session.ReadLine(br, buf[:0], 0)
			buf = unit[:0]
		} else {
			var n int
			n, err = br.Read(buf)
			unit = buf[:n]
		}
		if len(unit) > 0 && (err == nil || err == io.EOF) {
			msg := unit
			if !s.compose.Passthrough() {
				var cerr error
				if msg, cerr = s.compose.Message(nil, unit, ""); cerr != nil {
					report(cerr)
					continue
				}
			}
			if serr := hub.Send(ctx, msg, false); serr != nil && ctx.Err() == nil {
				report(serr)
			}
		}
		if err != nil {
			if err != io.EOF {
				report(&InputError{Err: err})
			}
			return // the input ended: the server goes on
		}
	}
}

// InputError is a failure to read the input (stdin), not to send it.
type InputError struct{ Err error }

func (e *InputError) Error() string { return "stdin: " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

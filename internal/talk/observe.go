package talk

import (
	"github.com/sockit/sockit/internal/checksum"
	"github.com/sockit/sockit/internal/event"
)

// Observer sees a conversation's events.
type Observer struct {
	Sink event.Sink
	// Quiet says Sink wants connection events only (connect, close), so
	// that it does not take the conversation off the fast path.
	Quiet bool
}

// Observe adds an observer of the conversation's events: conversations
// opened after it see it.
func (s *Setup) Observe(o Observer) { s.observer = append(s.observer, o) }

// Sink is where the conversation's events go: every observer, after the
// checksum check (VerifyChecksum) that tells them of bad messages. nil
// when nobody observes.
func (s *Setup) Sink() event.Sink {
	sinks := make([]event.Sink, 0, len(s.observer)+1)
	for _, o := range s.observer {
		sinks = append(sinks, o.Sink)
	}
	if s.verify == nil {
		return event.Tee(sinks...)
	}
	return event.Tee(append([]event.Sink{checksumCheck(s.verify, sinks)}, sinks...)...)
}

// NoData reports whether no observer wants data events (and no checksum
// is checked): then the conversation can stay on the fast path.
func (s *Setup) NoData() bool {
	if s.verify != nil {
		return false
	}
	for _, o := range s.observer {
		if !o.Quiet {
			return false
		}
	}
	return true
}

// verified reports whether a message received passes the checksum check
// when there is one (VerifyChecksum): a message whose checksum is wrong
// is no answer to wait for, so it never satisfies an expectation.
func (s *Setup) verified(data []byte) bool {
	if s.verify == nil {
		return true
	}
	_, ok := s.verify.Verify(data)
	return ok
}

// checksumCheck reports received messages whose trailing checksum is wrong
// as error events to the others.
func checksumCheck(a *checksum.Algo, others []event.Sink) event.Sink {
	return func(e *event.Event) {
		if e.Kind != event.Data || e.Dir != event.In {
			return
		}
		if _, ok := a.Verify(e.Data); !ok {
			bad := *e
			bad.Kind, bad.Data = event.Error, nil
			bad.Err = "checksum mismatch: " + a.Name + " of the message does not match its last bytes"
			for _, s := range others {
				s(&bad)
			}
		}
	}
}

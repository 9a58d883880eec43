package event

import "testing"

// An event's option is left out of its line unless the front end names
// it, and then it follows the reason or error it explains.
func TestDescribeWithOption(t *testing.T) {
	flag := func(o string) string { return "--" + o }
	for _, c := range []struct {
		e              Event
		plain, flagged string
	}{
		{Event{Kind: Refused, Peer: "127.0.0.1:5", Reason: "connection limit (2) reached", Option: "max-conns"},
			"127.0.0.1:5 refused: connection limit (2) reached",
			"127.0.0.1:5 refused: connection limit (2) reached (see --max-conns)"},
		{Event{Kind: Close, Peer: "127.0.0.1:5", Reason: "error", Err: "message of 9 bytes exceeds the maximum message size (4 bytes)", Option: "max-message", BytesIn: 3},
			"127.0.0.1:5 closed: message of 9 bytes exceeds the maximum message size (4 bytes) (received 3 B, sent 0 B)",
			"127.0.0.1:5 closed: message of 9 bytes exceeds the maximum message size (4 bytes) (see --max-message) (received 3 B, sent 0 B)"},
		{Event{Kind: Close, Peer: "127.0.0.1:5", Reason: "no more replies within 1s", Option: "wait"},
			"127.0.0.1:5 closed: no more replies within 1s (received 0 B, sent 0 B)",
			"127.0.0.1:5 closed: no more replies within 1s (see --wait) (received 0 B, sent 0 B)"},
		{Event{Kind: Error, Err: "unmatched request \"x\": the match key does not match it", Option: "match-key"},
			"unmatched request \"x\": the match key does not match it",
			"unmatched request \"x\": the match key does not match it (see --match-key)"},
		{Event{Kind: Refused, Peer: "127.0.0.1:5", Reason: "denied"},
			"127.0.0.1:5 refused: denied", "127.0.0.1:5 refused: denied"},
	} {
		e := c.e
		if got := Describe(&e, true); got != c.plain {
			t.Errorf("Describe = %q, want %q", got, c.plain)
		}
		if got := DescribeWith(&e, true, flag); got != c.flagged {
			t.Errorf("DescribeWith = %q, want %q", got, c.flagged)
		}
		if e.Reason != c.e.Reason || e.Err != c.e.Err {
			t.Errorf("DescribeWith changed the event: %+v", e)
		}
	}
}

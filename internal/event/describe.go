package event

import "fmt"

// Describe words a non-data event in one line, as every front end shows
// it: the command line's log on stderr, the web UI's log and its
// downloads. server says whether the events are a server's (a connect
// names the client and its number) or a client's.
func Describe(e *Event, server bool) string {
	switch e.Kind {
	case Listen:
		return "listening on " + e.Local + " (" + e.Proto + ")" + suffix(e.Msg)
	case Connect:
		if server {
			return fmt.Sprintf("%s connected (#%d, %s)", e.Peer, e.Conn, e.Proto)
		}
		return fmt.Sprintf("connected to %s (%s, local %s)", e.Peer, e.Proto, e.Local)
	case Close:
		s := fmt.Sprintf("%s closed: %s (received %d B, sent %d B)", e.Peer, e.Reason, e.BytesIn, e.BytesOut)
		if e.Err != "" {
			s = fmt.Sprintf("%s closed: %s (received %d B, sent %d B)", e.Peer, e.Err, e.BytesIn, e.BytesOut)
		}
		return s
	case Refused:
		return fmt.Sprintf("%s refused: %s", e.Peer, e.Reason)
	case Error:
		if e.Peer != "" {
			return e.Peer + ": " + e.Err
		}
		return e.Err
	case Info:
		return e.Msg
	case Retry:
		// "127.0.0.1:7000: peer closed; reconnecting now (try 1 of 5)"
		why := e.Err
		if why == "" {
			why = e.Reason
		}
		if why == "" {
			return e.Msg
		}
		if e.Peer != "" {
			why = e.Peer + ": " + why
		}
		return why + "; " + e.Msg
	}
	return string(e.Kind)
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

package event

import "fmt"

// Describe words a non-data event in one line, as every front end shows
// it: the command line's log on stderr, the web UI's log and its
// downloads. server says whether the events are a server's (a connect
// names the client and its number) or a client's. It names no option:
// see DescribeWith.
func Describe(e *Event, server bool) string {
	return DescribeWith(e, server, nil)
}

// DescribeWith is Describe with the option the event is about (Option),
// written by name, after the reason or error it explains:
// "refused: connection limit (10) reached (see --max-conns)". A nil name,
// or one that returns "", leaves the option out.
func DescribeWith(e *Event, server bool, name func(option string) string) string {
	if name != nil && e.Option != "" {
		if n := name(e.Option); n != "" {
			see := " (see " + n + ")"
			c := *e
			if c.Err != "" {
				c.Err += see
			} else {
				c.Reason += see
			}
			e = &c
		}
	}
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

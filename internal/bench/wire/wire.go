// Package wire is the sockit bench protocol: what `sockit bench` and a
// bench server (`sockit listen --bench`) say to each other so that the
// server can count what arrives and report it back (receiver-side loss,
// reordering, duplicates and jitter for one-way UDP; received bytes and
// the server's own sending side for TCP). docs/bench-protocol.md is the
// specification; this package is its one implementation, shared by the
// client (package bench) and the server (package server).
//
// Control messages are one line of text, "SOCKIT-BENCH/1 KIND {json}",
// ended by a newline on streams and by the datagram on UDP. Data
// datagrams carry a 20-byte header (HeaderLen). The package parses and
// formats; it opens no sockets.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Version is the protocol version this package speaks.
const Version = 1

// Magic starts every control message; the version follows it.
const Magic = "SOCKIT-BENCH/"

// Prefix is Magic with this version and the space before the kind.
const Prefix = "SOCKIT-BENCH/1 "

// MaxLine is the longest control message, newline included. A peer that
// sends a longer one is refused.
const MaxLine = 1024

// Message kinds.
const (
	Hello  = "HELLO"  // client → server: the test this stream is part of
	OK     = "OK"     // server → client: accepted (Ack)
	Err    = "ERR"    // server → client: refused, and why (Refusal)
	Done   = "DONE"   // client → server, UDP: the stream has ended (End)
	Result = "RESULT" // server → client: what the server counted (Report)
)

// Modes a Hello names.
const (
	ModeTX    = "tx"    // the client sends, the server counts
	ModeRX    = "rx"    // the server sends, the client counts
	ModeBidir = "bidir" // both at once on one connection
	ModeRR    = "rr"    // the server echoes (request/response)
	ModeUDP   = "udp"   // datagrams, one way, counted by the server
)

// Message is one parsed control message.
type Message struct {
	Version int
	Kind    string
	Body    []byte // the JSON object after the kind
}

// Parse reads one control message (without or with its newline). It
// checks the framing only; Hello, Ack and the others check the body.
func Parse(b []byte) (Message, error) {
	var m Message
	if len(b) > MaxLine {
		return m, fmt.Errorf("control message of %d bytes (at most %d)", len(b), MaxLine)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if !bytes.HasPrefix(b, []byte(Magic)) {
		return m, errors.New("not a sockit bench message (it does not start with " + Magic + ")")
	}
	b = b[len(Magic):]
	sp := bytes.IndexByte(b, ' ')
	if sp < 1 || sp > 9 {
		return m, errors.New("no protocol version after " + Magic)
	}
	v, err := strconv.Atoi(string(b[:sp]))
	if err != nil || v < 1 {
		return m, fmt.Errorf("bad protocol version %q", b[:sp])
	}
	m.Version = v
	b = b[sp+1:]
	kind, body, _ := bytes.Cut(b, []byte(" "))
	switch k := string(kind); k {
	case Hello, OK, Err, Done, Result:
		m.Kind = k
	default:
		return m, fmt.Errorf("unknown message kind %.20q", kind)
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	if body[0] != '{' {
		return m, fmt.Errorf("%s: the body is not a JSON object", m.Kind)
	}
	m.Body = body
	return m, nil
}

// Format writes a control message: Prefix, kind, body as JSON, newline.
func Format(kind string, body any) []byte {
	j, err := json.Marshal(body)
	if err != nil {
		// Every body type here marshals; this is a bug.
		panic("wire: " + err.Error())
	}
	out := make([]byte, 0, len(Prefix)+len(kind)+len(j)+2)
	out = append(out, Prefix...)
	out = append(out, kind...)
	out = append(out, ' ')
	out = append(out, j...)
	return append(out, '\n')
}

// decode reads a body into v; unknown fields are ignored, so that a later
// version 1 peer may add some.
func decode(m Message, kind string, v any) error {
	if m.Kind != kind {
		return fmt.Errorf("want %s, got %s", kind, m.Kind)
	}
	if m.Version != Version {
		return fmt.Errorf("protocol version %d is not supported (this end speaks %d)", m.Version, Version)
	}
	if err := json.Unmarshal(m.Body, v); err != nil {
		return fmt.Errorf("%s: %v", kind, err)
	}
	return nil
}

// HelloMsg opens a test stream: on a stream connection, its first line;
// on UDP, a datagram before any data.
type HelloMsg struct {
	Mode    string `json:"mode"`
	Test    string `json:"test,omitempty"` // the run's id, shared by its streams
	Stream  int    `json:"stream"`         // this stream's index in the run, from 0
	Streams int    `json:"streams"`        // how many streams the run has
	Size    int    `json:"size,omitempty"` // bytes per write or datagram (informational)
	// Bitrate is the server's sending rate on this stream in bits/s for
	// rx and bidir; 0 is as fast as it can.
	Bitrate int64 `json:"bitrate,omitempty"`
	// Congestion is the congestion control the server's side of this
	// stream uses for rx and bidir (the client sets its own).
	Congestion string `json:"congestion,omitempty"`
	// OmitNS: udp datagrams sent before this many nanoseconds into the
	// stream (the sender's clock) are not counted (bench -O).
	OmitNS int64 `json:"omit_ns,omitempty"`
}

// Limits a Hello must keep.
const (
	MaxStreams = 1_000_000
	MaxSize    = 64 << 20
	MaxBitrate = 1e13 // 10 Tbit/s
)

// ParseHello reads and checks a Hello.
func ParseHello(m Message) (*HelloMsg, error) {
	h := &HelloMsg{}
	if err := decode(m, Hello, h); err != nil {
		return nil, err
	}
	switch h.Mode {
	case ModeTX, ModeRX, ModeBidir, ModeRR, ModeUDP:
	default:
		return nil, fmt.Errorf("unknown mode %.20q", h.Mode)
	}
	if h.Streams < 1 || h.Streams > MaxStreams || h.Stream < 0 || h.Stream >= h.Streams {
		return nil, fmt.Errorf("stream %d of %d is out of range", h.Stream, h.Streams)
	}
	if h.Size < 0 || h.Size > MaxSize {
		return nil, fmt.Errorf("size %d is out of range (0-%d)", h.Size, MaxSize)
	}
	if h.Bitrate < 0 || h.Bitrate > MaxBitrate {
		return nil, fmt.Errorf("bitrate %d is out of range", h.Bitrate)
	}
	if h.OmitNS < 0 {
		return nil, errors.New("omit_ns is negative")
	}
	if !token(h.Test, 64, false) {
		return nil, errors.New("test id: want at most 64 letters, digits, '.', '_' or '-'")
	}
	if !token(h.Congestion, 15, true) {
		return nil, errors.New("congestion: want a kernel algorithm name such as cubic or bbr")
	}
	return h, nil
}

// token reports whether s is at most n characters of [A-Za-z0-9._-]
// (lower case only when lower).
func token(s string, n int, lower bool) bool {
	if len(s) > n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
		case c >= 'A' && c <= 'Z', c == '.', c == '-':
			if lower {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// AckMsg is the server's OK.
type AckMsg struct {
	// Token identifies a UDP stream: every data datagram and the End carry
	// it. Never 0 (what a plain echo server's replies carry) and never the
	// first four bytes of Magic.
	Token  uint32 `json:"token,omitempty"`
	Server string `json:"server,omitempty"` // the server's name and version, for the log
}

// ParseAck reads an OK.
func ParseAck(m Message) (*AckMsg, error) {
	a := &AckMsg{}
	if err := decode(m, OK, a); err != nil {
		return nil, err
	}
	return a, nil
}

// RefusalMsg is the body of ERR.
type RefusalMsg struct {
	Error string `json:"error"`
}

// ParseRefusal reads an ERR. Any version is read: a server that does not
// speak this version says so in an ERR of its own.
func ParseRefusal(m Message) string {
	var r RefusalMsg
	if m.Kind != Err || json.Unmarshal(m.Body, &r) != nil || r.Error == "" {
		return "refused (no reason given)"
	}
	return r.Error
}

// EndMsg ends a UDP stream.
type EndMsg struct {
	Token uint32 `json:"token"`
	Sent  int64  `json:"sent"`  // datagrams sent and counted (not those before omit_ns)
	Bytes int64  `json:"bytes"` // their payload bytes
}

// ParseEnd reads a DONE.
func ParseEnd(m Message) (*EndMsg, error) {
	e := &EndMsg{}
	if err := decode(m, Done, e); err != nil {
		return nil, err
	}
	if e.Sent < 0 || e.Bytes < 0 {
		return nil, errors.New("negative counts")
	}
	return e, nil
}

// ReportMsg is what the server counted on one stream (RESULT).
type ReportMsg struct {
	Token   uint32  `json:"token,omitempty"` // udp: the stream's token
	Bytes   int64   `json:"bytes"`           // payload bytes the server received (udp: in counted datagrams)
	Seconds float64 `json:"seconds"`         // from the server's OK to the stream's end
	// SentBytes is what the server sent (rx, bidir).
	SentBytes int64    `json:"sent_bytes,omitempty"`
	UDP       *UDP     `json:"udp,omitempty"`
	TCP       *TCPInfo `json:"tcp,omitempty"` // rx, bidir: the server's sending side, where the kernel has TCP_INFO
	// Congestion is the algorithm the server sent with (rx, bidir).
	Congestion string `json:"congestion,omitempty"`
}

// ParseReport reads a RESULT.
func ParseReport(m Message) (*ReportMsg, error) {
	r := &ReportMsg{}
	if err := decode(m, Result, r); err != nil {
		return nil, err
	}
	return r, nil
}

// UDP is a receiver's count of one stream's datagrams.
type UDP struct {
	Sent        int64   `json:"sent"`     // as the sender said in its End
	Received    int64   `json:"received"` // distinct datagrams that arrived
	Lost        int64   `json:"lost"`     // sent - received, never below 0
	LossPercent float64 `json:"loss_percent"`
	Reordered   int64   `json:"reordered"`  // arrived after a later one
	Duplicates  int64   `json:"duplicates"` // arrived again
	// Late arrived so far behind the newest that the duplicate window no
	// longer covered them: counted as received and reordered, unchecked
	// for duplication.
	Late     int64   `json:"late,omitempty"`
	JitterUS float64 `json:"jitter_us"` // RFC 3550 interarrival jitter
}

// Finish fills Lost and LossPercent from Sent and Received.
func (u *UDP) Finish() {
	u.Lost = max(u.Sent-u.Received, 0)
	u.LossPercent = 0
	if u.Sent > 0 {
		u.LossPercent = 100 * float64(u.Lost) / float64(u.Sent)
	}
}

// Add sums o into u; jitter is averaged, weighted by datagrams received.
func (u *UDP) Add(o *UDP) {
	if u.Received+o.Received > 0 {
		u.JitterUS = (u.JitterUS*float64(u.Received) + o.JitterUS*float64(o.Received)) / float64(u.Received+o.Received)
	}
	u.Sent += o.Sent
	u.Received += o.Received
	u.Reordered += o.Reordered
	u.Duplicates += o.Duplicates
	u.Late += o.Late
	u.Finish()
}

// TCPInfo is a TCP sender's state from the kernel (TCP_INFO, Linux).
type TCPInfo struct {
	RTTUS       float64 `json:"rtt_us"`      // smoothed round-trip time
	RTTVarUS    float64 `json:"rttvar_us"`   // its variation
	CwndBytes   int64   `json:"cwnd_bytes"`  // congestion window: segments × MSS
	Retransmits int64   `json:"retransmits"` // segments retransmitted (in an interval: during it)
	MSS         int     `json:"mss,omitempty"`
}

package bench

import "github.com/sockit/sockit/internal/bench/wire"

// Interval and Result are the two kinds of line of `sockit bench --json`
// (NDJSON, one object a line: intervals as they happen, then the
// summary). docs/bench-json.md is their schema: change the two together,
// and raise SchemaVersion for a change that breaks a reader (adding a
// field does not).

// SchemaVersion is the "version" of every line.
const SchemaVersion = 1

// Interval is the traffic of one reporting interval.
type Interval struct {
	Type    string  `json:"type"` // "interval"
	Version int     `json:"version"`
	Start   float64 `json:"start"` // seconds since the run began (-O included)
	End     float64 `json:"end"`
	Omitted bool    `json:"omitted,omitempty"` // within -O: not in the summary
	Bytes   int64   `json:"bytes"`             // sent (tx, bidir, one-way udp) or received (rx, rr, udp echo)
	Bits    float64 `json:"bits_per_second"`
	Ops     int64   `json:"ops"`
	OpsRate float64 `json:"ops_per_second"`
	// RecvBytes is what bidir received (Bytes is what it sent).
	RecvBytes int64   `json:"received_bytes,omitempty"`
	RecvBits  float64 `json:"received_bits_per_second,omitempty"`
	// TCP is the senders' TCP_INFO (tx, bidir; Linux): retransmits during
	// the interval summed, RTT and its variation averaged, cwnd summed.
	TCP     *wire.TCPInfo    `json:"tcp,omitempty"`
	Streams []StreamInterval `json:"streams,omitempty"` // per connection, up to 128 connections
}

// StreamInterval is one connection's share of an Interval.
type StreamInterval struct {
	ID        int           `json:"id"`
	Bytes     int64         `json:"bytes"`
	Bits      float64       `json:"bits_per_second"`
	Ops       int64         `json:"ops"`
	RecvBytes int64         `json:"received_bytes,omitempty"`
	TCP       *wire.TCPInfo `json:"tcp,omitempty"`
}

// Result is a run's summary.
type Result struct {
	Type        string  `json:"type"` // "summary"
	Version     int     `json:"version"`
	Mode        string  `json:"mode"`
	Target      string  `json:"target,omitempty"`
	Host        string  `json:"host,omitempty"` // where the run ran
	Conns       int     `json:"connections"`
	Size        int     `json:"size"`
	Depth       int     `json:"depth,omitempty"`
	Seconds     float64 `json:"seconds"` // measured, after -O
	OmitSeconds float64 `json:"omit_seconds,omitempty"`
	Bytes       int64   `json:"bytes"` // payload bytes: sent (tx, bidir, one-way udp), received (rx, rr, udp echo)
	BitsPerSec  float64 `json:"bits_per_second"`
	Ops         int64   `json:"ops"` // writes (tx), reads (rx), responses (rr), connections (connect), datagrams (udp: replies, or sent one way)
	OpsPerSec   float64 `json:"ops_per_second"`
	// RecvBytes is what bidir received (Bytes is what it sent).
	RecvBytes      int64    `json:"received_bytes,omitempty"`
	RecvBitsPerSec float64  `json:"received_bits_per_second,omitempty"`
	Latency        *Latency `json:"latency_us,omitempty"`
	// Histogram is the latency histogram (nanoseconds, 1 ns to 100 s, 3
	// significant digits) in HdrHistogram's compressed V2 encoding, base64:
	// what `sockit bench merge` adds up.
	Histogram string    `json:"latency_histogram,omitempty"`
	UDP       *UDPStats `json:"udp,omitempty"` // udp echo: counted from the replies
	// Server is the bench protocol the peer spoke ("sockit-bench/1"), or
	// empty for a plain peer.
	Server     string         `json:"server,omitempty"`
	Receiver   *Receiver      `json:"receiver,omitempty"`
	TCP        *wire.TCPInfo  `json:"tcp,omitempty"` // senders' TCP_INFO at the end; retransmits summed over the run
	Congestion string         `json:"congestion,omitempty"`
	ZeroCopy   *ZeroCopyStats `json:"zerocopy,omitempty"` // --zerocopy
	Streams    []StreamResult `json:"streams,omitempty"`  // per connection, up to 128 connections
	Errors     int64          `json:"errors"`
	FirstError string         `json:"first_error,omitempty"`
	Agents     int            `json:"agents,omitempty"` // bench merge: how many summaries were added up
	Hosts      []string       `json:"hosts,omitempty"`  // bench merge: their hosts

	Intervals []Interval `json:"-"`
}

// Receiver is what a bench server counted, over all connections.
type Receiver struct {
	Bytes      int64   `json:"bytes"`   // received by the server
	Seconds    float64 `json:"seconds"` // the longest stream, as the server timed it
	BitsPerSec float64 `json:"bits_per_second"`
	SentBytes  int64   `json:"sent_bytes,omitempty"` // rx, bidir: sent by the server
	// UDP is the one-way datagram count, from the receiver's side.
	UDP *wire.UDP `json:"udp,omitempty"`
	// TCP is the server's sending side (rx, bidir; Linux server).
	TCP     *wire.TCPInfo `json:"tcp,omitempty"`
	Streams int           `json:"streams"` // connections that reported
}

// StreamResult is one connection's share of a Result.
type StreamResult struct {
	ID         int             `json:"id"`
	Bytes      int64           `json:"bytes"`
	BitsPerSec float64         `json:"bits_per_second"`
	Ops        int64           `json:"ops"`
	RecvBytes  int64           `json:"received_bytes,omitempty"`
	TCP        *wire.TCPInfo   `json:"tcp,omitempty"`
	Receiver   *wire.ReportMsg `json:"receiver,omitempty"`
	Error      string          `json:"error,omitempty"`
}

// ZeroCopyStats count the MSG_ZEROCOPY sends of --zerocopy.
type ZeroCopyStats struct {
	Sends     int64 `json:"sends"`
	Completed int64 `json:"completed"` // the kernel said it was done with them
	Copied    int64 `json:"copied"`    // of those, the kernel copied after all (always on loopback)
}

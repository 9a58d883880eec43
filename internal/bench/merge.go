package bench

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/sockit/sockit/internal/bench/wire"
	"github.com/sockit/sockit/internal/fail"
)

// Several `sockit bench` agents started at once by an orchestrator (a
// Kubernetes Job, a Nomad batch job, parallel over ssh) each print a
// summary; Merge adds them up into the summary one agent with all their
// connections would have printed. Counts and rates add up (the agents ran
// at the same time); latency percentiles do not, so each summary carries
// its histogram and the merged percentiles are read off the merged
// histogram.

// maxLine bounds one NDJSON line (a summary with 128 streams and a
// histogram is tens of KiB).
const maxLine = 16 << 20

// maxHistogram bounds one encoded histogram (a full one is a few KiB).
const maxHistogram = 1 << 20

// ReadSummaries returns every summary line of an NDJSON stream (interval
// lines and blank lines are skipped). name says where the stream came
// from, for errors.
func ReadSummaries(r io.Reader, name string) ([]*Result, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var out []*Result
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var head struct {
			Type    string `json:"type"`
			Version int    `json:"version"`
		}
		if err := json.Unmarshal(line, &head); err != nil {
			return nil, fail.Inputf("%s:%d: not a JSON object: %v", name, n, err).WithHint("Note that bench merge reads what sockit bench --json prints, one JSON object a line.")
		}
		switch head.Type {
		case "interval":
			continue
		case "summary":
		default:
			return nil, fail.Inputf("%s:%d: not a sockit bench line (type %q, want interval or summary)", name, n, head.Type)
		}
		if head.Version != SchemaVersion {
			return nil, fail.Inputf("%s:%d: summary version %d (this sockit reads version %d)", name, n, head.Version, SchemaVersion)
		}
		res := &Result{}
		if err := json.Unmarshal(line, res); err != nil {
			return nil, fail.Inputf("%s:%d: bad summary: %v", name, n, err)
		}
		out = append(out, res)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fail.Inputf("%s: a line longer than %d MiB", name, maxLine>>20)
		}
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return out, nil
}

// Merge adds up the summaries of agents that ran at the same time. It
// refuses summaries of different modes, and latency percentiles without
// the histogram they came from.
func Merge(sums []*Result) (*Result, error) {
	if len(sums) == 0 {
		return nil, fail.Inputf("no summaries to merge").WithHint("Note that each agent's output must end with its summary (sockit bench --json).")
	}
	first := sums[0]
	m := &Result{Type: "summary", Version: SchemaVersion, Mode: first.Mode, Target: first.Target, Size: first.Size,
		Depth: first.Depth, OmitSeconds: first.OmitSeconds, Server: first.Server, Congestion: first.Congestion}
	var hist *hdrhistogram.Histogram
	var tcpConns, rcvTCP int
	for i, s := range sums {
		if s.Mode != first.Mode {
			return nil, fail.Inputf("summary %d is of %s %s, summary 1 of %s %s: only runs of one mode add up", i+1, OptMode, s.Mode, OptMode, first.Mode)
		}
		if s.Target != m.Target {
			m.Target = ""
		}
		if s.Size != m.Size {
			m.Size = 0
		}
		if s.Depth != m.Depth {
			m.Depth = 0
		}
		if s.Server != m.Server {
			m.Server = ""
		}
		if s.Congestion != m.Congestion {
			m.Congestion = ""
		}
		agents := max(s.Agents, 1)
		m.Agents += agents
		if len(s.Hosts) > 0 {
			m.Hosts = append(m.Hosts, s.Hosts...)
		} else if s.Host != "" {
			m.Hosts = append(m.Hosts, s.Host)
		}
		m.Conns += s.Conns
		m.Seconds = max(m.Seconds, s.Seconds)
		m.Bytes += s.Bytes
		m.BitsPerSec += s.BitsPerSec
		m.Ops += s.Ops
		m.OpsPerSec += s.OpsPerSec
		m.RecvBytes += s.RecvBytes
		m.RecvBitsPerSec += s.RecvBitsPerSec
		m.Errors += s.Errors
		if m.FirstError == "" {
			m.FirstError = s.FirstError
		}
		if s.UDP != nil {
			if m.UDP == nil {
				m.UDP = &UDPStats{}
			}
			m.UDP.Add(s.UDP)
		}
		if s.TCP != nil {
			if m.TCP == nil {
				m.TCP = &wire.TCPInfo{}
			}
			addTCP(m.TCP, s.TCP, tcpConns, s.Conns)
			tcpConns += s.Conns
		}
		if r := s.Receiver; r != nil {
			if m.Receiver == nil {
				m.Receiver = &Receiver{}
			}
			mr := m.Receiver
			mr.Bytes += r.Bytes
			mr.SentBytes += r.SentBytes
			mr.BitsPerSec += r.BitsPerSec
			mr.Seconds = max(mr.Seconds, r.Seconds)
			if r.UDP != nil {
				if mr.UDP == nil {
					mr.UDP = &wire.UDP{}
				}
				mr.UDP.Add(r.UDP)
			}
			if r.TCP != nil {
				if mr.TCP == nil {
					mr.TCP = &wire.TCPInfo{}
				}
				addTCP(mr.TCP, r.TCP, rcvTCP, r.Streams)
				rcvTCP += r.Streams
			}
			mr.Streams += r.Streams
		}
		if s.Latency == nil && s.Histogram == "" {
			continue
		}
		if s.Histogram == "" {
			return nil, fail.Inputf("summary %d has latency percentiles but no histogram", i+1).WithHint("Note that percentiles cannot be averaged: each summary must carry its latency_histogram.")
		}
		h, err := decodeHist(s.Histogram)
		if err != nil {
			return nil, fail.Inputf("summary %d: bad latency_histogram: %v", i+1, err)
		}
		if hist == nil {
			hist = newHist()
		}
		hist.Merge(h)
	}
	if hist != nil && hist.TotalCount() > 0 {
		m.Latency = percentiles(hist)
		if enc, err := hist.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err == nil {
			m.Histogram = string(enc)
		}
	}
	slices.Sort(m.Hosts)
	m.Hosts = slices.Compact(m.Hosts)
	return m, nil
}

// addTCP adds o (over n connections) into t (over had connections):
// retransmits and cwnd add up, round-trip times are averaged by
// connection.
func addTCP(t, o *wire.TCPInfo, had, n int) {
	t.Retransmits += o.Retransmits
	t.CwndBytes += o.CwndBytes
	if had+n > 0 {
		t.RTTUS = (t.RTTUS*float64(had) + o.RTTUS*float64(n)) / float64(had+n)
		t.RTTVarUS = (t.RTTVarUS*float64(had) + o.RTTVarUS*float64(n)) / float64(had+n)
	}
	if t.MSS == 0 {
		t.MSS = o.MSS
	}
}

// decodeHist decodes a summary's histogram, after checking that its
// geometry is the one bench records with, so that a bad input cannot
// make it allocate a huge counts array.
func decodeHist(s string) (*hdrhistogram.Histogram, error) {
	if len(s) > maxHistogram {
		return nil, fmt.Errorf("%d bytes (at most %d)", len(s), maxHistogram)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(raw) < 8 {
		return nil, errors.New("too short")
	}
	z, err := zlib.NewReader(bytes.NewReader(raw[8:]))
	if err != nil {
		return nil, err
	}
	var hdr [40]byte
	if _, err := io.ReadFull(z, hdr[:]); err != nil {
		return nil, fmt.Errorf("header: %v", err)
	}
	digits := int32(binary.BigEndian.Uint32(hdr[12:]))
	low := int64(binary.BigEndian.Uint64(hdr[16:]))
	high := int64(binary.BigEndian.Uint64(hdr[24:]))
	if digits != 3 || low != 1 || high != histMax {
		return nil, fmt.Errorf("range %d-%d at %d digits, not sockit bench's 1-%d at 3", low, high, digits, histMax)
	}
	return hdrhistogram.Decode([]byte(s))
}

package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockit/sockit/internal/bench/wire"
	"github.com/sockit/sockit/internal/pace"
	"github.com/sockit/sockit/internal/session"
	"github.com/sockit/sockit/internal/tcpsock"
)

// The bench behaviour (listen --bench) is the receiving end of sockit
// bench, as iperf3 -s is of iperf3 -c, but for any number of clients at
// once: each connection or UDP sender says which test it is part of
// (wire.HelloMsg) and the server counts what arrives and reports it back
// (docs/bench-protocol.md). On streams it is a sink (tx), a source (rx),
// both (bidir) or an echo (rr); on UDP (bench_udp.go) it counts
// datagrams: loss, reordering, duplicates and jitter as the receiver
// sees them.

// helloTimeout bounds how long a new connection may take to say hello.
const helloTimeout = 10 * time.Second

// benchWriteTimeout bounds one write of a source that the client stopped
// reading without closing.
const benchWriteTimeout = 30 * time.Second

// benchData is what the server sends in rx and bidir: 128 KiB without a
// newline, so that the newline before RESULT marks the data's end.
var benchData = sync.OnceValue(func() []byte {
	b := make([]byte, 128<<10)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
})

// ServerName is what the bench server says it is in its OK.
var ServerName = "sockit"

// Bench serves one stream connection of a bench client.
func Bench(ctx context.Context, c *session.Conn) error {
	nc := c.NetConn()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()

	h, rest, err := readHello(nc)
	if err != nil {
		if errors.Is(err, io.EOF) && len(rest) == 0 {
			return nil // connected and left without a word (a port check)
		}
		benchRefuse(nc, err.Error())
		return fmt.Errorf("bench: %w", err)
	}
	c.AddStats(int64(len(rest)), 0)
	if h.Mode == wire.ModeUDP {
		msg := "mode udp needs a datagram server (sockit listen -u --bench)"
		benchRefuse(nc, msg)
		return errors.New("bench: " + msg)
	}
	if h.Congestion != "" && (h.Mode == wire.ModeRX || h.Mode == wire.ModeBidir) {
		if err := tcpsock.SetCongestion(nc, h.Congestion); err != nil {
			benchRefuse(nc, "congestion control "+h.Congestion+" on the server: "+err.Error())
			return fmt.Errorf("bench: %w", err)
		}
	}
	if h.Bitrate > 0 && (h.Mode == wire.ModeRX || h.Mode == wire.ModeBidir) {
		// Best effort: the kernel smooths the token bucket's bursts.
		tcpsock.SetMaxPacingRate(nc, h.Bitrate/8)
	}
	nc.SetReadDeadline(time.Time{})
	if err := writeConn(nc, wire.Format(wire.OK, wire.AckMsg{Server: ServerName})); err != nil {
		return err
	}
	start := time.Now()

	switch h.Mode {
	case wire.ModeRR:
		if len(rest) > 0 {
			if _, err := nc.Write(rest); err != nil {
				return endErr(err)
			}
			c.AddStats(0, int64(len(rest)))
		}
		if in, ok, err := echoOnLoop(ctx, nc); ok {
			c.AddStats(in, in)
			return endErr(err)
		}
		return endErr(echoFast(c))
	case wire.ModeTX:
		n, err := discardFast(nc)
		c.AddStats(n, 0)
		if err != nil && !errors.Is(err, io.EOF) { // TLS ends with EOF, splice with nil
			return err
		}
		rep := wire.ReportMsg{Bytes: int64(len(rest)) + n, Seconds: time.Since(start).Seconds()}
		return endErr(writeConn(nc, wire.Format(wire.Result, rep)))
	}

	// rx and bidir: send until the client half-closes its side.
	var (
		done  atomic.Bool
		sent  int64
		werr  error
		wg    sync.WaitGroup
		pacer *pace.Pacer
	)
	if h.Bitrate > 0 {
		pacer = pace.New(float64(h.Bitrate) / 8)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := benchData()
		for !done.Load() {
			if !pacer.Wait(ctx, sent, time.Time{}) {
				return
			}
			nc.SetWriteDeadline(time.Now().Add(benchWriteTimeout))
			n, err := nc.Write(buf)
			sent += int64(n)
			if err != nil {
				werr = err
				return
			}
		}
	}()
	n, rerr := discardFast(nc)
	done.Store(true)
	wg.Wait()
	c.AddStats(n, sent)
	if rerr != nil && !errors.Is(rerr, io.EOF) {
		return rerr
	}
	if werr != nil {
		return peerGone(werr)
	}
	rep := wire.ReportMsg{Bytes: int64(len(rest)) + n, Seconds: time.Since(start).Seconds(), SentBytes: sent}
	if ti, ok := tcpsock.Info(nc); ok {
		rep.TCP = &ti
	}
	rep.Congestion = tcpsock.Congestion(nc)
	nc.SetWriteDeadline(time.Now().Add(benchWriteTimeout))
	// The newline ends the data (which has none) before the report.
	msg := append([]byte{'\n'}, wire.Format(wire.Result, rep)...)
	return peerGone(writeConn(nc, msg))
}

// readHello reads the first line of a connection: a bench client's
// HELLO. It gives up at once on bytes that cannot start one, after
// wire.MaxLine bytes without a newline, or after helloTimeout. What
// follows the newline (a tx client sends at once) is returned in rest.
func readHello(nc net.Conn) (h *wire.HelloMsg, rest []byte, err error) {
	nc.SetReadDeadline(time.Now().Add(helloTimeout))
	buf := make([]byte, wire.MaxLine)
	got := 0
	for {
		n, err := nc.Read(buf[got:])
		got += n
		if i := bytes.IndexByte(buf[:got], '\n'); i >= 0 {
			m, perr := wire.Parse(buf[:i+1])
			if perr != nil {
				return nil, nil, fmt.Errorf("bad hello: %w", perr)
			}
			h, perr := wire.ParseHello(m)
			if perr != nil {
				return nil, nil, fmt.Errorf("bad hello: %w", perr)
			}
			return h, append([]byte(nil), buf[i+1:got]...), nil
		}
		k := min(got, len(wire.Magic))
		if !bytes.Equal(buf[:k], []byte(wire.Magic)[:k]) {
			return nil, buf[:got], errors.New("bad hello: not a sockit bench client (did you mean listen --discard or --echo?)")
		}
		if got == len(buf) {
			return nil, buf[:got], fmt.Errorf("bad hello: no newline in the first %d bytes", len(buf))
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if got == 0 {
					return nil, nil, io.EOF
				}
				return nil, buf[:got], errors.New("bad hello: the client closed before its end of line")
			}
			return nil, buf[:got], fmt.Errorf("reading hello: %w", err)
		}
	}
}

// benchRefuse tells a client why it is refused, as far as it listens.
func benchRefuse(nc net.Conn, why string) {
	nc.SetWriteDeadline(time.Now().Add(time.Second))
	nc.Write(wire.Format(wire.Err, wire.RefusalMsg{Error: why}))
}

func writeConn(nc net.Conn, b []byte) error {
	_, err := nc.Write(b)
	return err
}

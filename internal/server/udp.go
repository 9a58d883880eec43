package server

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockit/sockit/internal/endpoint"
	"github.com/sockit/sockit/internal/event"
)

// queueLen is how many datagrams wait for a slow peer handler before new
// ones are dropped (and counted): UDP may lose datagrams, a server must not
// grow without bound because one handler is slow.
const queueLen = 512

// maxQueued bounds the bytes of all the datagrams waiting for their
// handlers, across peers: queueLen datagrams of up to 64 KiB for each of
// DefaultMaxPeers peers would be 32 GiB.
const maxQueued = 64 << 20

// ServePacket reads datagrams on pc and sorts them by sender: a datagram
// from a new address starts a conversation (a peer) whose replies go back
// to that address; a peer ends when Handler returns, usually at its idle
// timeout. It returns when ctx is cancelled.
func (s *Server) ServePacket(ctx context.Context, pc net.PacketConn) error {
	s.init(protoOf(pc.LocalAddr()))
	s.emit(&event.Event{Kind: event.Listen, Local: pc.LocalAddr().String()})
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	defer s.refusedSummary()

	var (
		mu      sync.Mutex // peers, and each peer's queue against its close
		peers   = map[string]*udpPeer{}
		refused = map[string]bool{}
		first   string // with Once, the only peer served
		fd      = -1
		queued  = &s.queued // bytes waiting in all the peers' queues
		budget  = int64(maxQueued)
	)
	if s.queueBudget > 0 {
		budget = s.queueBudget
	}
	if s.Trace != nil {
		fd = endpoint.FD(pc)
	}
	buf := make([]byte, 65536)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if isTemporary(err) {
				continue
			}
			s.closeAll("server shutting down")
			s.wg.Wait()
			return err
		}
		if addr == nil {
			continue // an unnamed unixgram sender: nowhere to reply
		}
		key := addr.String()
		if s.Trace != nil {
			s.Trace("recvfrom(fd %d) -> %d bytes from %s", fd, n, key)
		}
		mu.Lock()
		p := peers[key]
		mu.Unlock()
		if p == nil {
			if s.Once && first != "" && key != first {
				if !refused[key] && len(refused) < 1024 {
					refused[key] = true
					s.refused(key, oneOnly("peer"))
				}
				continue
			}
			if !s.admit(addr) {
				continue
			}
			first = key
			p = &udpPeer{pc: pc, addr: addr, in: make(chan []byte, queueLen), closed: make(chan struct{}), trace: s.Trace, fd: fd, queued: queued}
			p.onClose = func() {
				mu.Lock()
				if peers[key] == p {
					delete(peers, key)
				}
				// What is still queued will never be read: give its bytes
				// back, and count it dropped. (Datagrams are queued under
				// mu, so none can come after this.)
				s.dropped.Add(int64(p.drain()))
				mu.Unlock()
			}
			mu.Lock()
			peers[key] = p
			mu.Unlock()
			s.start(ctx, p, true, nil)
		}
		if queued.Add(int64(n)) > budget {
			queued.Add(-int64(n))
			s.drop(key)
			continue
		}
		d := getBuf(n)
		copy(d, buf[:n])
		mu.Lock()
		select {
		case <-p.closed:
			// Ended since it was looked up (its queue may be drained
			// already): the datagram is dropped, as it would be a moment
			// later.
			queued.Add(-int64(n))
			putBuf(d)
			s.dropped.Add(1)
		default:
			select {
			case p.in <- d:
			default:
				queued.Add(-int64(n))
				putBuf(d)
				s.drop(key)
			}
		}
		mu.Unlock()
	}
	s.closeAll("server shutting down")
	s.wg.Wait()
	if n := s.dropped.Load(); n > 0 {
		s.emit(&event.Event{Kind: event.Error, Local: pc.LocalAddr().String(),
			Err: fmt.Sprintf("%s dropped in all: the handler did not keep up", datagrams(n))})
	}
	return ctx.Err()
}

// drop counts a datagram dropped because its peer's handler, or all of
// them, are not keeping up. It says so at the first drop and every
// 1000th, with the count so far; the total comes when the server ends.
func (s *Server) drop(peer string) {
	if n := s.dropped.Add(1); n%1000 == 1 {
		s.emit(&event.Event{Kind: event.Error, Peer: peer,
			Err: fmt.Sprintf("%s dropped so far: the handler is not keeping up (%d wait per peer)", datagrams(n), queueLen)})
	}
}

func datagrams(n int64) string {
	if n == 1 {
		return "1 datagram"
	}
	return strconv.FormatInt(n, 10) + " datagrams"
}

// Dropped is the number of datagrams read but never handed to a handler:
// dropped because a peer's queue, or the bytes queued for all peers, were
// full, or because the peer's conversation ended before they were read.
func (s *Server) Dropped() int64 { return s.dropped.Load() }

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func getBuf(n int) []byte {
	if n > 2048 {
		return make([]byte, n)
	}
	bp := bufPool.Get().(*[]byte)
	return (*bp)[:n]
}

func putBuf(b []byte) {
	if cap(b) == 2048 {
		b = b[:0]
		bufPool.Put(&b)
	}
}

// udpPeer is one sender on a shared datagram socket, seen as a net.Conn:
// Read returns its next datagram, Write sends one datagram back to it.
type udpPeer struct {
	pc      net.PacketConn
	addr    net.Addr
	in      chan []byte
	closed  chan struct{}
	once    sync.Once
	onClose func()
	trace   endpoint.Tracer
	fd      int
	queued  *atomic.Int64 // the server's bytes queued, this peer's included

	dmu      sync.Mutex
	deadline time.Time
	wake     chan struct{} // a new deadline was set while a Read waits
}

func (p *udpPeer) Read(b []byte) (int, error) {
	for {
		p.dmu.Lock()
		dl := p.deadline
		if p.wake == nil {
			p.wake = make(chan struct{}, 1)
		}
		wake := p.wake
		p.dmu.Unlock()
		var timeout <-chan time.Time
		var t *time.Timer
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			t = time.NewTimer(d)
			timeout = t.C
		}
		select {
		case d := <-p.in:
			stopTimer(t)
			n := copy(b, d)
			p.queued.Add(-int64(len(d)))
			putBuf(d)
			return n, nil
		case <-p.closed:
			stopTimer(t)
			return 0, net.ErrClosed
		case <-timeout:
			return 0, os.ErrDeadlineExceeded
		case <-wake:
			stopTimer(t)
		}
	}
}

func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

func (p *udpPeer) Write(b []byte) (int, error) {
	select {
	case <-p.closed:
		return 0, net.ErrClosed
	default:
	}
	n, err := p.pc.WriteTo(b, p.addr)
	if p.trace != nil {
		p.trace("sendto(fd %d, %s) <- %d bytes", p.fd, p.addr, n)
	}
	return n, err
}

// drain empties the queue of a peer that has ended, and says how many
// datagrams it held.
func (p *udpPeer) drain() (n int) {
	for {
		select {
		case d := <-p.in:
			p.queued.Add(-int64(len(d)))
			putBuf(d)
			n++
		default:
			return n
		}
	}
}

func (p *udpPeer) Close() error {
	p.once.Do(func() {
		close(p.closed)
		if p.onClose != nil {
			p.onClose()
		}
	})
	return nil
}

func (p *udpPeer) LocalAddr() net.Addr  { return p.pc.LocalAddr() }
func (p *udpPeer) RemoteAddr() net.Addr { return p.addr }

func (p *udpPeer) SetDeadline(t time.Time) error { return p.SetReadDeadline(t) }

func (p *udpPeer) SetReadDeadline(t time.Time) error {
	p.dmu.Lock()
	p.deadline = t
	if p.wake == nil {
		p.wake = make(chan struct{}, 1)
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
	p.dmu.Unlock()
	return nil
}

func (p *udpPeer) SetWriteDeadline(time.Time) error { return nil }

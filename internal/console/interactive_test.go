package console

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/sockit/sockit/internal/codec"
	"github.com/sockit/sockit/internal/event"
)

// session runs Interactive.Run on a pseudo-terminal while another
// goroutine keeps printing log lines through the Printer, as a receiving
// connection does.
type session struct {
	master *os.File
	mu     sync.Mutex
	sent   []string
	raw    [][]byte
	out    bytes.Buffer
	done   chan error
	ended  chan struct{} // closed when Run has returned
}

func runSession(t *testing.T, it *Interactive) *session {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { master.Close(); slave.Close() })
	pty.Setsize(master, &pty.Winsize{Rows: 40, Cols: 160})
	s := &session{master: master, done: make(chan error, 1), ended: make(chan struct{})}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			s.mu.Lock()
			s.out.Write(b[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	it.In, it.Out = slave, slave
	if it.Printer == nil {
		it.Printer = &Printer{W: slave}
	}
	if it.Send == nil {
		it.Send = func(line string) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.sent = append(s.sent, line)
			return nil
		}
	}
	if it.SendRaw == nil {
		it.SendRaw = func(b []byte) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.raw = append(s.raw, append([]byte(nil), b...))
			return nil
		}
	}
	// The receiving side prints while the prompt takes the terminal over.
	stop := make(chan struct{})
	printed := make(chan struct{})
	go func() {
		defer close(printed)
		e := &event.Event{Kind: event.Data, Dir: event.In, Peer: "127.0.0.1:9", Data: []byte("tick\n")}
		for {
			select {
			case <-stop:
				return
			default:
			}
			e.Time = time.Now()
			it.Printer.Print(e)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	go func() {
		err := it.Run(context.Background())
		close(stop)
		<-printed
		s.done <- err
		close(s.ended)
	}()
	t.Cleanup(func() {
		master.Write([]byte("\x04")) // end a session a failed test left open
		select {
		case <-s.ended:
		case <-time.After(5 * time.Second):
		}
	})
	s.waitOutput(t, "> ")
	return s
}

func (s *session) waitOutput(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		got := s.out.String()
		s.mu.Unlock()
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("terminal never showed %q; the last of it:\n%q", want, got[max(0, len(got)-1500):])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *session) end(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return")
	}
	return nil
}

func TestInteractiveKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys string
		want error
	}{
		{"ctrl-d", "\x04", nil},
		{"ctrl-c", "\x03", context.Canceled},
		{"ctrl-c-mid-line", "half a line\x03", context.Canceled},
		{"quit", "/quit\r", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := runSession(t, &Interactive{})
			s.master.Write([]byte(tc.keys))
			if err := s.end(t); !errors.Is(err, tc.want) && err != tc.want {
				t.Errorf("Run = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestInteractiveCommands(t *testing.T) {
	var enc *codec.Encoding
	var target string
	it := &Interactive{
		SetEncoding: func(e *codec.Encoding) { enc = e },
		Peers:       func() []Peer { return []Peer{{ID: 1, Addr: "127.0.0.1:5"}} },
		SetTarget:   func(addr string) error { target = addr; return nil },
	}
	s := runSession(t, it)
	for _, line := range []string{"plain text", "//starts with a slash", "/hex 48 65 6c 6c 6f", "/enc gbk", "/peers", "/to #1", "/bogus", "/hex 4"} {
		s.master.Write([]byte(line + "\r"))
	}
	s.waitOutput(t, "unknown command /bogus")
	s.waitOutput(t, "#1 127.0.0.1:5")
	s.master.Write([]byte("/quit\r"))
	if err := s.end(t); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if want := []string{"plain text", "/starts with a slash"}; strings.Join(s.sent, "|") != strings.Join(want, "|") {
		t.Errorf("sent lines %q, want %q", s.sent, want)
	}
	if len(s.raw) != 1 || string(s.raw[0]) != "Hello" {
		t.Errorf("/hex sent %q, want one message \"Hello\"", s.raw)
	}
	if enc == nil || enc.Name() != "gbk" {
		t.Errorf("/enc gbk set %v", enc)
	}
	if target != "#1" {
		t.Errorf("/to #1 set target %q", target)
	}
	if !strings.Contains(s.out.String(), "! ") {
		t.Errorf("a bad /hex printed no error line")
	}
}

func TestInteractiveDone(t *testing.T) {
	done := make(chan struct{})
	s := runSession(t, &Interactive{Done: done})
	close(done)
	if err := s.end(t); err != nil {
		t.Errorf("Run after Done = %v, want nil", err)
	}
}

// Printer.SetWriter may be called while another goroutine prints (the
// race detector checks it).
func TestPrinterSetWriterWhilePrinting(t *testing.T) {
	p := &Printer{W: io.Discard}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		e := &event.Event{Kind: event.Data, Dir: event.In, Peer: "x", Data: []byte("a")}
		for i := 0; i < 1000; i++ {
			p.Print(e)
		}
	}()
	var b bytes.Buffer
	for i := 0; i < 100; i++ {
		p.SetWriter(&b)
		p.SetWriter(io.Discard)
	}
	wg.Wait()
}

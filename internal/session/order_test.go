package session

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/event"
)

// TestCloseEventComesLast: a Close from another goroutine (Ctrl-C, a
// failed output) while a message just read is being reported waits for
// that data event, so a transcript ends with the close event and its
// bytes_in counts what the data events carry.
func TestCloseEventComesLast(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	var (
		mu    sync.Mutex
		kinds []event.Kind
		inLen int64
		total int64
	)
	inSink := make(chan struct{})
	release := make(chan struct{})
	closed := make(chan struct{}, 1)
	c := New(a, Options{Sink: func(e *event.Event) {
		mu.Lock()
		kinds = append(kinds, e.Kind)
		switch e.Kind {
		case event.Data:
			inLen += int64(len(e.Data))
		case event.Close:
			total = e.BytesIn
		}
		mu.Unlock()
		switch e.Kind {
		case event.Data:
			close(inSink)
			<-release // the reader is slow to report: Close comes meanwhile
		case event.Close:
			closed <- struct{}{}
		}
	}})
	go b.Write([]byte("hello"))
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		c.Read()
	}()
	<-inSink
	go c.Close(nil)
	early := false
	select {
	case <-closed:
		t.Error("the close event came while a data event was still being reported")
		early = true
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	<-readDone
	if !early {
		<-closed
	}
	mu.Lock()
	defer mu.Unlock()
	if kinds[len(kinds)-1] != event.Close || inLen != total {
		t.Fatalf("events %v, data %d bytes, close counts %d; want close last and the counts equal", kinds, inLen, total)
	}
}

// failingTap fails every write, as a stdout whose reader left does.
type failingTap struct{}

func (failingTap) Write([]byte) (int, error) { return 0, syscall.EPIPE }

// TestTapErrWhileReading: the owner may ask TapErr while the reading
// goroutine records the tap's failure (run with -race).
func TestTapErrWhileReading(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := New(a, Options{Tap: failingTap{}})
	defer c.Close(nil)
	go b.Write([]byte("x"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Read()
	}()
	for c.TapErr() == nil {
		select {
		case <-done:
			if c.TapErr() == nil {
				t.Fatal("the tap failed but TapErr is nil")
			}
		default:
		}
	}
	<-done
	if !errors.Is(c.TapErr(), syscall.EPIPE) {
		t.Fatalf("TapErr = %v", c.TapErr())
	}
}

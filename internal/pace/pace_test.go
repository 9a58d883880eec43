package pace

import (
	"context"
	"testing"
	"time"
)

func TestDue(t *testing.T) {
	p := &Pacer{Rate: 1000, Start: time.Unix(100, 0)}
	for d, want := range map[time.Duration]int64{0: 0, time.Millisecond: 1, 1500 * time.Millisecond: 1500} {
		if got := p.Due(p.Start.Add(d)); got != want {
			t.Errorf("Due(start+%v) = %d, want %d", d, got, want)
		}
	}
}

// TestWait: a paced sender cannot go faster than the rate (a lower bound
// only: a loaded machine may be slower, never faster).
func TestWait(t *testing.T) {
	p := New(1000) // units a second
	t0 := time.Now()
	for sent := int64(0); sent < 50; sent++ {
		if !p.Wait(context.Background(), sent, time.Time{}) {
			t.Fatal("Wait gave up")
		}
	}
	if el := time.Since(t0); el < 45*time.Millisecond {
		t.Fatalf("50 units at 1000/s in %v", el)
	}
	var none *Pacer
	if !none.Wait(context.Background(), 1e9, time.Time{}) {
		t.Fatal("a nil pacer waits")
	}
}

func TestWaitStops(t *testing.T) {
	p := New(1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if p.Wait(ctx, 100, time.Time{}) {
		t.Fatal("Wait went on after the context was done")
	}
	if p.Wait(context.Background(), 100, time.Now().Add(10*time.Millisecond)) {
		t.Fatal("Wait went on past the end")
	}
}

// TestBurst: after a stall (here: a start a second ago), the sender may
// catch up with at most Burst's worth, not the whole second's.
func TestBurst(t *testing.T) {
	p := &Pacer{Rate: 1000, Start: time.Now().Add(-time.Second), Burst: 50 * time.Millisecond}
	// As many units as Wait lets through at once.
	var sent int64
	for ; sent < 2000; sent++ {
		t0 := time.Now()
		p.Wait(context.Background(), sent, time.Time{})
		if time.Since(t0) > 500*time.Microsecond {
			break // it waited: caught up
		}
	}
	if sent > 80 {
		t.Fatalf("%d units at once after a 1 s stall at 1000/s (burst 50 ms: about 50)", sent)
	}
	if due := p.Due(time.Now()); due > sent+10 {
		t.Fatalf("Due = %d after %d sent: the debt was not forgiven", due, sent)
	}
}

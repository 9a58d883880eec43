package endpoint

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/exitcode"
)

func TestRetryBackoff(t *testing.T) {
	r := Retry{Delay: 100 * time.Millisecond, MaxDelay: time.Second}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := r.Backoff(i + 1); got != w*time.Millisecond {
			t.Errorf("Backoff(%d) = %s, want %s", i+1, got, w*time.Millisecond)
		}
	}
	if got := (Retry{}).Backoff(10); got != DefaultMaxRetryDelay {
		t.Errorf("default cap: Backoff(10) = %s, want %s", got, DefaultMaxRetryDelay)
	}
	if got := (Retry{Delay: time.Minute}).Backoff(3); got != time.Minute {
		t.Errorf("a first delay above the cap: Backoff(3) = %s, want 1m", got)
	}
}

// TestRetryConnectsOnceTheServerIsUp: a connect refused at first succeeds
// on a later try, once the server listens (started when the first failure
// is reported, not after a guess of how long that takes).
func TestRetryConnectsOnceTheServerIsUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	var tries []int
	var srv net.Listener
	d := &Dialer{Retry: Retry{Times: 5, Delay: 10 * time.Millisecond, OnRetry: func(n int, err error, wait time.Duration) {
		tries = append(tries, n)
		if exitcode.Code(err) != exitcode.Unreachable {
			t.Errorf("retry %d after %v (exit %d), want a refusal", n, err, exitcode.Code(err))
		}
		if n == 2 {
			if srv, err = net.Listen("tcp", addr); err != nil {
				t.Errorf("listen again on %s: %v", addr, err)
			}
		}
	}}}
	ep, _ := Parse("tcp://"+addr, Options{})
	c, err := d.Dial(context.Background(), ep)
	if err != nil {
		t.Fatalf("dial with retries: %v (tries %v)", err, tries)
	}
	c.Close()
	srv.Close()
	if len(tries) != 2 {
		t.Errorf("retries %v, want 2 before the server was up", tries)
	}
}

// TestRetryGivesUp: after Times retries the last error is returned, and
// errors another try cannot mend (usage, TLS) are not retried at all.
func TestRetryGivesUp(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	n := 0
	d := &Dialer{Retry: Retry{Times: 3, Delay: time.Millisecond, OnRetry: func(int, error, time.Duration) { n++ }}}
	ep, _ := Parse("tcp://127.0.0.1:"+strconv.Itoa(port), Options{})
	if _, err := d.Dial(context.Background(), ep); exitcode.Code(err) != exitcode.Unreachable {
		t.Errorf("after retries: %v, want refused", err)
	}
	if n != 3 {
		t.Errorf("%d retries, want 3", n)
	}
	n = 0
	d.NoDNS = true
	ep, _ = Parse("tcp://localhost:"+strconv.Itoa(port), Options{})
	if _, err := d.Dial(context.Background(), ep); exitcode.Code(err) != exitcode.Usage || n != 0 {
		t.Errorf("a usage error: %v, %d retries; want exit 2 and none", err, n)
	}
	// Forever ends with the context.
	ctx, cancel := context.WithCancel(context.Background())
	d = &Dialer{Retry: Retry{Forever: true, Delay: time.Millisecond, MaxDelay: 2 * time.Millisecond, OnRetry: func(n int, _ error, _ time.Duration) {
		if n == 20 {
			cancel()
		}
	}}}
	ep, _ = Parse("tcp://127.0.0.1:"+strconv.Itoa(port), Options{})
	if _, err := d.Dial(ctx, ep); err == nil {
		t.Error("--forever to nothing returned a connection")
	}
}

// TestAbstractUnix: unix://@name listens and connects in the abstract
// namespace (Linux), with no file left behind.
func TestAbstractUnix(t *testing.T) {
	name := "@sockit-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	ep, err := Parse("unix://"+name, Options{})
	if err != nil {
		t.Skip(err) // not Linux
	}
	ln, err := (&ListenConfig{}).Listen(context.Background(), ep)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("abstract"))
			c.Close()
		}
	}()
	c, err := (&Dialer{}).Dial(context.Background(), ep)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := make([]byte, 8)
	if _, err := c.Read(b); err != nil || string(b) != "abstract" {
		t.Fatalf("read %q, %v", b, err)
	}
}

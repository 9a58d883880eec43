package server

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/platform"
	"github.com/sockit/sockit/internal/sockittest"
)

// TestPlatformPaths: a Linux build echoes TCP on epoll loops, UDP in
// batches, and splices; the portable build (every other system, and Linux
// with -tags sockit_portable) must do none of it, so that the rest of this
// package's tests run the code macOS, Windows and FreeBSD run.
func TestPlatformPaths(t *testing.T) {
	client, srv := sockittest.Pair(t)
	if got := platform.Spliceable(srv); got != platform.Fast {
		t.Errorf("platform.Spliceable(TCP) = %v on a build with platform.Fast = %v", got, platform.Fast)
	}
	if got := (&Server{}).FastPacketEcho(); got != platform.Fast {
		t.Errorf("FastPacketEcho() = %v on a build with platform.Fast = %v", got, platform.Fast)
	}

	type result struct {
		handled bool
		err     error
	}
	done := make(chan result, 1)
	go func() {
		_, handled, err := echoOnLoop(context.Background(), srv)
		done <- result{handled, err}
	}()
	if !platform.Fast {
		r := <-done
		if r.handled || r.err != nil {
			t.Fatalf("echoOnLoop = %v, %v on the portable build, want not handled", r.handled, r.err)
		}
		return
	}
	// The loop took the connection: it echoes, and returns at EOF.
	client.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := client.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(client, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo on the loop: %q, %v", buf, err)
	}
	client.Close()
	if r := <-done; !r.handled {
		t.Fatalf("echoOnLoop did not take a TCP connection on Linux (%v)", r.err)
	}
}

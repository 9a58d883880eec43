//go:build unix

package endpoint

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sockit/sockit/internal/exitcode"
	"golang.org/x/sys/unix"
)

func TestUnixStaleSocket(t *testing.T) {
	dir := t.TempDir()
	for _, scheme := range []string{"unix", "unixgram"} {
		path := filepath.Join(dir, scheme+".sock")
		ep := mustParse(t, scheme+"://"+path, Options{Listen: true})
		// A server that was killed leaves its socket file behind.
		fd, err := unix.Socket(unix.AF_UNIX, map[string]int{"unix": unix.SOCK_STREAM, "unixgram": unix.SOCK_DGRAM}[scheme], 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
		if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSocket == 0 {
			t.Fatalf("no stale socket file at %s: %v", path, err)
		}
		lc := &ListenConfig{}
		var closer io.Closer
		if scheme == "unix" {
			ln, err := lc.Listen(context.Background(), ep)
			if err != nil {
				t.Fatalf("%s: listen over a stale socket: %v", scheme, err)
			}
			closer = ln
		} else {
			pc, err := lc.ListenPacket(context.Background(), ep)
			if err != nil {
				t.Fatalf("%s: listen over a stale socket: %v", scheme, err)
			}
			closer = pc
		}
		// A live one is not removed: the second listen fails and the
		// first keeps working.
		var err2 error
		if scheme == "unix" {
			_, err2 = lc.Listen(context.Background(), ep)
		} else {
			_, err2 = lc.ListenPacket(context.Background(), ep)
		}
		if !errors.Is(err2, syscall.EADDRINUSE) || exitcode.Code(err2) != exitcode.Unreachable {
			t.Errorf("%s: second listen on a live socket: %v (exit %d), want address already in use (exit 3)", scheme, err2, exitcode.Code(err2))
		}
		if _, err := os.Lstat(path); err != nil {
			t.Errorf("%s: the live socket file was removed: %v", scheme, err)
		}
		closer.Close()
	}

	// A regular file in the way is never removed.
	path := filepath.Join(dir, "file")
	os.WriteFile(path, []byte("keep"), 0o644)
	_, err := (&ListenConfig{}).Listen(context.Background(), mustParse(t, "unix://"+path, Options{Listen: true}))
	if err == nil {
		t.Fatal("listened over a regular file")
	}
	if b, _ := os.ReadFile(path); string(b) != "keep" {
		t.Error("the regular file was changed")
	}
}

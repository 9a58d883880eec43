//go:build linux

package optfile

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadRefuses(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(1 << 40) // sparse: 1 TiB that must never be read
	f.Close()
	link := filepath.Join(dir, "zero-link")
	os.Symlink("/dev/zero", link)

	for _, tc := range []struct{ path, want string }{
		{"/dev/zero", "/dev/zero is a character device, not a regular file"},
		{fifo, "is a named pipe (FIFO), not a regular file"},
		{dir, "is a directory, not a regular file"},
		{big, "is 1024 GiB, more than the 4 MiB sockit reads from it"},
		{link, "zero-link is a character device"},
		{filepath.Join(dir, "missing"), "no such file or directory"},
	} {
		done := make(chan error, 1)
		go func() {
			_, err := Read(context.Background(), tc.path, MaxPEM)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Read(%s) = %v, want an error with %q", tc.path, err, tc.want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("Read(%s) still blocked after 30s", tc.path)
		}
	}
}

func TestReadLimit(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int64{0, 1, 1000, 1001} {
		p := filepath.Join(dir, "f")
		data := bytes.Repeat([]byte{'a'}, int(n))
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := Read(context.Background(), p, 1000)
		switch {
		case n <= 1000 && (err != nil || !bytes.Equal(b, data)):
			t.Errorf("%d bytes under a limit of 1000: %d bytes, %v", n, len(b), err)
		case n > 1000 && (err == nil || !strings.Contains(err.Error(), "is 1001 bytes, more than the 1000 bytes")):
			t.Errorf("%d bytes over a limit of 1000: %v", n, err)
		}
	}
}

// TestReadProcFile: files that report size 0 but have content (/proc) are
// read, still within the limit.
func TestReadProcFile(t *testing.T) {
	b, err := Read(context.Background(), "/proc/self/status", MaxPEM)
	if err != nil || !bytes.Contains(b, []byte("Pid:")) {
		t.Fatalf("Read(/proc/self/status) = %d bytes, %v", len(b), err)
	}
	if _, err := Read(context.Background(), "/proc/self/status", 10); err == nil {
		t.Fatal("a /proc file past the limit was read")
	}
}

func TestReaderCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := Reader(ctx, &endless{})
	buf := make([]byte, 64<<10)
	if _, err := r.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.Copy(io.Discard, r); !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel: %v, want context.Canceled", err)
	}
}

type endless struct{}

func (*endless) Read(p []byte) (int, error) { return len(p), nil }

func TestOpenRegular(t *testing.T) {
	p := filepath.Join(t.TempDir(), "t.jsonl")
	os.WriteFile(p, []byte("x\n"), 0o600)
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil || string(b) != "x\n" {
		t.Fatalf("read %q, %v", b, err)
	}
}

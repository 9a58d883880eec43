// Package optfile reads the files that options name: --ca, --cert, --key,
// --client-cert, --client-key, --reply @FILE, --allow/--deny @FILE, the
// prompt's /file, the TLS paths a web UI page sets, and replay's
// transcript. Such a path may be anything: /dev/zero, a FIFO, a directory,
// a file of gigabytes. So a read here
//
//   - refuses what is not a regular file, before reading it, and opens
//     without blocking (open(2) of a FIFO blocks until a writer comes);
//   - refuses a file larger than the caller's limit (Read), or hands out a
//     reader for the caller to bound per line (Open, for transcripts);
//   - stops when its context is cancelled.
//
// It does not read data to send (stdin, --file): that streams, unbounded.
package optfile

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Limits for the files sockit reads whole. A CA bundle of every public
// root is about 0.2 MiB; a reply is one message, and 16 MiB is the
// default --max-message.
const (
	MaxPEM   = 4 << 20  // certificates, keys, CA bundles
	MaxList  = 4 << 20  // --allow/--deny @FILE
	MaxReply = 16 << 20 // --reply @FILE, the prompt's /file
)

// Open opens path for reading if it is a regular file.
func Open(path string) (*os.File, error) {
	// Stat first, so that a device is never opened at all (opening a tape
	// or a serial line has effects of its own).
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := regular(path, fi); err != nil {
		return nil, err
	}
	f, err := openNonblock(path)
	if err != nil {
		return nil, err
	}
	// Check again what was opened: the path may have been replaced since.
	if fi, err = f.Stat(); err == nil {
		err = regular(path, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// regular refuses what is not a regular file, saying what it is.
func regular(path string, fi fs.FileInfo) error {
	m := fi.Mode()
	if m.IsRegular() {
		return nil
	}
	what := "not a regular file"
	switch {
	case m.IsDir():
		what = "a directory"
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case m&fs.ModeCharDevice != 0:
		what = "a character device"
	case m&fs.ModeDevice != 0:
		what = "a block device"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	}
	return &Error{Path: path, Msg: "is " + what + ", not a regular file"}
}

// Read returns the contents of the regular file path, refusing one of
// more than max bytes.
func Read(ctx context.Context, path string, max int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > max {
		return nil, tooLarge(path, fi.Size(), max)
	}
	// The size may be 0 for files that have content (/proc) or grow while
	// read: read at most one byte past max to tell.
	b, err := io.ReadAll(Reader(ctx, io.LimitReader(f, max+1)))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, tooLarge(path, int64(len(b)), max)
	}
	return b, nil
}

func tooLarge(path string, size, max int64) error {
	return &Error{Path: path, Msg: fmt.Sprintf("is %s, more than the %s sockit reads from it", humanSize(size), humanSize(max))}
}

// humanSize shows a size for a person: bytes, MiB or GiB, whole when it is.
func humanSize(n int64) string {
	unit, name := int64(1<<30), "GiB"
	switch {
	case n < 1<<20:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<30:
		unit, name = 1<<20, "MiB"
	}
	if n%unit == 0 {
		return fmt.Sprintf("%d %s", n/unit, name)
	}
	return fmt.Sprintf("%.1f %s", float64(n)/float64(unit), name)
}

// Reader returns r, failing with ctx's error once ctx is done: checked
// before each Read, so a long read stops within one chunk.
func Reader(ctx context.Context, r io.Reader) io.Reader {
	return &ctxReader{ctx: ctx, r: r}
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Error is a path that cannot be read as an option file: what it is, or
// how large.
type Error struct {
	Path string
	Msg  string
}

func (e *Error) Error() string { return e.Path + " " + e.Msg }

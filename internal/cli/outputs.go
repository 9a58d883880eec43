package cli

import (
	"context"
	"io"
	"os"
	"sync"

	"github.com/sockit/sockit/internal/exitcode"
)

// outputs watches sockit's own outputs: stdout, -o FILE, --record FILE.
// A write to any of them that fails (a full disk, a closed pipe) must not
// pass silently: the first failure is kept, the run is cancelled so that
// conversations end and their observers flush, and run reports it instead
// of whatever error the cancellation caused.
type outputs struct {
	cancel context.CancelCauseFunc

	mu  sync.Mutex
	err *exitcode.OutputError
}

// fail records that writing name failed, and stops the run.
func (o *outputs) fail(name string, err error) {
	o.mu.Lock()
	if o.err == nil {
		o.err = &exitcode.OutputError{Name: name, Err: err}
	}
	first := o.err
	o.mu.Unlock()
	if o.cancel != nil {
		o.cancel(first) // the cause: close events say why the run stopped
	}
}

// failure is the first failed write, or nil.
func (o *outputs) failure() *exitcode.OutputError {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// guard returns w with its write errors reported as name's.
func (o *outputs) guard(name string, w io.Writer) io.Writer {
	return &guarded{w: w, name: name, o: o}
}

type guarded struct {
	w    io.Writer
	name string
	o    *outputs
}

func (g *guarded) Write(p []byte) (int, error) {
	n, err := g.w.Write(p)
	if err != nil {
		g.o.fail(g.name, err)
	}
	return n, err
}

// create makes the file behind -o or --record. It failing is a usage
// error (a directory that does not exist, no permission), found before
// any socket opens.
func create(flag, path string) (*os.File, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, exitcode.Usagef("%s: %v", flag, err)
	}
	return f, nil
}

// errStdinDir is what reading stdin gives when stdin is a directory
// (sockit connect … < /): the kernel's EISDIR, said for a person.
var errStdinDir = exitcode.WithHint("Note that sockit sends what stdin holds: redirect a file (< FILE), or use --file FILE.",
	"stdin is a directory, not something to send")

// stdinDir stands for a stdin that is a directory: every read fails with
// errStdinDir, so only commands that read stdin see it.
type stdinDir struct{}

func (stdinDir) Read([]byte) (int, error) { return 0, errStdinDir }

// received is where a conversation's received bytes go, besides its
// observers: stdout in pipe mode, -o FILE, or both (nil for neither).
// Commands that set the tap themselves (send, replay) use it, so that -o
// is written there too.
func (cv *conversation) received() io.Writer {
	switch {
	case cv.out != nil && cv.tap != nil:
		return io.MultiWriter(cv.out, cv.tap)
	case cv.out != nil:
		return cv.out
	}
	return cv.tap
}

package web

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sockit/sockit/internal/event"
	"github.com/sockit/sockit/internal/optfile"
)

// The assistants' "receive to file" and "send file": the bytes a session
// receives written raw to a file (every peer's, as they arrive, without
// framing or encoding: what the download's JSON would grow to 2.5 times),
// and a file sent in chunks with an optional pause between them, its
// progress shown. Both take a path on the machine sockit runs on, as the
// command line does.

// fileInfo is a file being received to or sent, as the page shows it.
type fileInfo struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`           // written, or sent
	Total  int64  `json:"total,omitempty"` // send: the file's size
	Active bool   `json:"active"`
	Error  string `json:"error,omitempty"`
}

// recvFile writes what a session receives to a file.
type recvFile struct {
	mu   sync.Mutex
	f    *os.File
	w    *bufio.Writer
	info fileInfo
}

func (r *recvFile) snapshot() fileInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.info
}

// write is called from the session's sink with each message received.
func (r *recvFile) write(p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.info.Active {
		return
	}
	if _, err := r.w.Write(p); err != nil {
		r.info.Error, r.info.Active = err.Error(), false
		r.f.Close()
		return
	}
	r.info.Bytes += int64(len(p))
}

func (r *recvFile) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.info.Active {
		return nil
	}
	r.info.Active = false
	err := r.w.Flush()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		r.info.Error = err.Error()
	}
	return err
}

// startRecvFile starts writing what the session receives to path, a new
// file: one that exists is not overwritten.
func (s *sess) startRecvFile(path string) error {
	if path == "" {
		return errors.New("receive to file needs a file name")
	}
	path = filepath.Clean(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists already: pick a new file name (sockit does not overwrite it)", path)
		}
		return fmt.Errorf("receive to file: %v", err)
	}
	r := &recvFile{f: f, w: bufio.NewWriterSize(f, 64<<10), info: fileInfo{Path: path, Active: true}}
	s.mu.Lock()
	old := s.recv
	s.recv = r
	s.mu.Unlock()
	if old != nil {
		old.close()
	}
	s.note(event.Info, "", "Receiving to "+path+".")
	s.touch()
	return nil
}

// recvInfo is the file received to, or nil.
func (s *sess) recvInfo() *fileInfo {
	s.mu.Lock()
	r := s.recv
	s.mu.Unlock()
	if r == nil {
		return nil
	}
	i := r.snapshot()
	return &i
}

// stopRecvFile stops writing to the file and closes it.
func (s *sess) stopRecvFile() error {
	s.mu.Lock()
	r := s.recv
	s.mu.Unlock()
	if r == nil || !r.snapshot().Active {
		return errors.New("not receiving to a file")
	}
	err := r.close()
	info := r.snapshot()
	s.note(event.Info, "", fmt.Sprintf("Received %d bytes to %s.", info.Bytes, info.Path))
	s.touch()
	return err
}

// fileSend is a file being sent.
type fileSend struct {
	cancel context.CancelFunc
	mu     sync.Mutex
	info   fileInfo
}

func (f *fileSend) snapshot() fileInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.info
}

// Chunks of a file sent: a datagram must fit the path (the page may ask
// for another size), a stream takes large writes.
const (
	defaultStreamChunk = 64 << 10
	defaultPacketChunk = 1024
	maxChunk           = 1 << 20
	maxChunkDelay      = 60_000 // ms
)

// sendFile sends the file at path to the command's target, as it is (no
// framing, encoding or line end), chunk bytes at a time (0: the default
// for the kind), pausing delay ms between chunks.
func (s *sess) sendFile(c *command) error {
	if c.Path == "" {
		return errors.New("send file needs a file name")
	}
	if c.Chunk < 0 || c.Chunk > maxChunk {
		return fmt.Errorf("chunk size %d is out of range (1-%d bytes, or 0 for the default)", c.Chunk, maxChunk)
	}
	if c.Delay < 0 || c.Delay > maxChunkDelay {
		return fmt.Errorf("delay %d ms is out of range (0-%d)", c.Delay, maxChunkDelay)
	}
	t, err := s.target(c.To)
	if err != nil {
		return err
	}
	f, err := optfile.Open(c.Path)
	if err != nil {
		return fmt.Errorf("send file: %v", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("send file: %v", err)
	}
	chunk := c.Chunk
	if chunk == 0 {
		chunk = defaultStreamChunk
		if s.ep.Messages() {
			chunk = defaultPacketChunk
		}
	}
	ctx, cancel := context.WithCancel(s.ctx)
	fs := &fileSend{cancel: cancel, info: fileInfo{Path: c.Path, Total: fi.Size(), Active: true}}
	s.mu.Lock()
	if s.sending != nil && s.sending.snapshot().Active {
		s.mu.Unlock()
		cancel()
		f.Close()
		return errors.New("a file is being sent already: stop it first")
	}
	s.sending = fs
	s.mu.Unlock()
	ok := s.goTracked(func() {
		defer f.Close()
		err := fs.run(ctx, f, chunk, time.Duration(c.Delay)*time.Millisecond, t.writeRaw, s.touch)
		fs.mu.Lock()
		fs.info.Active = false
		if err != nil {
			fs.info.Error = err.Error()
		}
		info := fs.info
		fs.mu.Unlock()
		switch {
		case err != nil:
			s.note(event.Error, t.peer, fmt.Sprintf("send file %s stopped after %d of %d bytes: %v", info.Path, info.Bytes, info.Total, err))
		default:
			s.note(event.Info, t.peer, fmt.Sprintf("Sent %s: %d bytes.", info.Path, info.Bytes))
		}
		s.touch()
	})
	if !ok {
		cancel()
		f.Close()
		return errors.New("session closed")
	}
	s.touch()
	return nil
}

func (fs *fileSend) run(ctx context.Context, r io.Reader, chunk int, delay time.Duration, write func([]byte) error, progress func()) error {
	buf := make([]byte, chunk)
	last := time.Now()
	for first := true; ; first = false {
		if !first && delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return errors.New("stopped")
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			return errors.New("stopped")
		}
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if werr := write(buf[:n]); werr != nil {
				return werr
			}
			fs.mu.Lock()
			fs.info.Bytes += int64(n)
			fs.mu.Unlock()
			if delay > 0 || time.Since(last) > 100*time.Millisecond {
				last = time.Now()
				progress()
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// stopFile stops a file being sent.
func (s *sess) stopFile() error {
	s.mu.Lock()
	fs := s.sending
	s.mu.Unlock()
	if fs == nil || !fs.snapshot().Active {
		return errors.New("no file is being sent")
	}
	fs.cancel()
	return nil
}

package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// The workspace is what sockit ui keeps between runs (README "Web UI"),
// in workspace.json beside saved.json: the sessions (the form they were
// opened with, their auto-reply rules, send history and view), which tab
// was shown, and the address and token the UI served on, so that a tab
// left open reconnects after a restart. The token makes the file a
// secret: it is written with mode 0600, whole, to a temporary file that
// is then renamed, so a crash never leaves half of it.
//
// Sessions are not reopened by themselves: a restart offers them to the
// page ("restore"), and they stay in the file until the page reopens or
// forgets them.
const workspaceVersion = 1

type workspaceFile struct {
	Version  int            `json:"version"`
	Token    string         `json:"token,omitempty"`
	Addr     string         `json:"addr,omitempty"`   // where the UI last served
	Active   string         `json:"active,omitempty"` // key of the tab shown
	Sessions []savedSession `json:"sessions"`
}

// savedSession is one session as the workspace keeps it.
type savedSession struct {
	Key     string    `json:"key"`
	Title   string    `json:"title,omitempty"`
	Open    command   `json:"open"` // the open command (op and req left out)
	Rules   []string  `json:"rules,omitempty"`
	History []string  `json:"history,omitempty"`
	View    viewState `json:"view"`
}

// viewState is how the page shows a session's log.
type viewState struct {
	Mode   string `json:"mode,omitempty"` // "text" (or "") or "hex"
	Filter string `json:"filter,omitempty"`
}

// restoreInfo is a session the page may reopen, as it lists it.
type restoreInfo struct {
	Key   string `json:"key"`
	Title string `json:"title"`
}

type workspace struct {
	path string
	logf func(string, ...any)
	poke chan struct{} // a change to write

	mu       sync.Mutex
	f        workspaceFile // Sessions: the ones not reopened yet
	readOnly bool          // a newer sockit's file: leave it alone
	collect  func() []savedSession
	stopped  bool
	version  uint64 // of the pending list, for the pages
	written  []byte // what the file holds, as this process last wrote it
}

func loadWorkspace(path string, logf func(string, ...any)) *workspace {
	w := &workspace{path: path, logf: logf, poke: make(chan struct{}, 1), version: 1}
	w.f.Version = workspaceVersion
	b, err := readSaved(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			logf("workspace: %v", err)
		}
		return w
	}
	var f workspaceFile
	if err := json.Unmarshal(b, &f); err != nil || f.Version < 1 {
		if err == nil {
			err = errors.New("no version")
		}
		bad := path + ".bad"
		os.Rename(path, bad)
		logf("workspace: %s is not a sockit workspace (%v); moved it to %s", path, err, bad)
		return w
	}
	if f.Version > workspaceVersion {
		logf("workspace: %s is version %d, newer than this sockit reads (%d): it is left as it is, and this run is not kept", path, f.Version, workspaceVersion)
		w.readOnly = true
		return w
	}
	f.Version = workspaceVersion
	for i := range f.Sessions {
		if f.Sessions[i].Key == "" {
			f.Sessions[i].Key = newKey()
		}
	}
	w.f = f
	return w
}

func newKey() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// token is the token kept from the last run, or a new one (kept from now).
func (w *workspace) token() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.f.Token) < 32 {
		b := make([]byte, 16)
		rand.Read(b)
		w.f.Token = hex.EncodeToString(b)
	}
	return w.f.Token
}

func (w *workspace) setToken(t string) {
	w.mu.Lock()
	w.f.Token = t
	w.mu.Unlock()
}

func (w *workspace) addr() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.f.Addr
}

func (w *workspace) setAddr(a string) {
	w.mu.Lock()
	w.f.Addr = a
	w.mu.Unlock()
	w.changed()
}

func (w *workspace) active() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.f.Active
}

func (w *workspace) setActive(key string) {
	w.mu.Lock()
	w.f.Active = key
	w.mu.Unlock()
	w.changed()
}

// pending are the sessions of the last run not reopened yet.
func (w *workspace) pending() ([]restoreInfo, uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]restoreInfo, 0, len(w.f.Sessions))
	for _, s := range w.f.Sessions {
		out = append(out, restoreInfo{Key: s.Key, Title: s.Title})
	}
	return out, w.version
}

func (w *workspace) pendingVersion() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.version
}

// take removes the pending sessions (all, or the one keyed key) and
// returns them.
func (w *workspace) take(key string) []savedSession {
	w.mu.Lock()
	var took, kept []savedSession
	for _, s := range w.f.Sessions {
		if key == "" || s.Key == key {
			took = append(took, s)
		} else {
			kept = append(kept, s)
		}
	}
	w.f.Sessions = kept
	w.version++
	w.mu.Unlock()
	w.changed()
	return took
}

// putBack returns sessions that could not be reopened to the pending list.
func (w *workspace) putBack(ss []savedSession) {
	if len(ss) == 0 {
		return
	}
	w.mu.Lock()
	w.f.Sessions = append(ss, w.f.Sessions...)
	w.version++
	w.mu.Unlock()
	w.changed()
}

// changed asks for the file to be written (soon, by run).
func (w *workspace) changed() {
	select {
	case w.poke <- struct{}{}:
	default:
	}
}

// run writes the file after each change until ctx ends; then stop
// writes it a last time.
func (w *workspace) run(ctx context.Context, collect func() []savedSession) {
	w.mu.Lock()
	w.collect = collect
	w.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.poke:
			if err := w.write(); err != nil {
				w.logf("workspace: %v", err)
			}
		}
	}
}

// stop writes the file a last time, with the sessions open now, and
// writes no more: the sessions closing as the UI shuts down stay in it.
func (w *workspace) stop() {
	if err := w.write(); err != nil {
		w.logf("workspace: %v", err)
	}
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
}

// write writes the file: the sessions open now, then those of the last
// run not reopened yet.
func (w *workspace) write() error {
	w.mu.Lock()
	if w.readOnly || w.stopped {
		w.mu.Unlock()
		return nil
	}
	collect := w.collect
	w.mu.Unlock()
	var open []savedSession
	if collect != nil {
		open = collect() // outside w.mu: it takes the sessions' locks
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return nil
	}
	f := w.f
	f.Sessions = append(open, w.f.Sessions...)
	if f.Sessions == nil {
		f.Sessions = []savedSession{}
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if bytes.Equal(b, w.written) {
		return nil // a tab clicked again, a send already in the history: nothing to write
	}
	if err := writeFileAtomic(w.path, b); err != nil {
		return err
	}
	w.written = b
	return nil
}

// writeFileAtomic writes b to path through a temporary file in the same
// directory, renamed over path: readers see the old file or the new one.
// The file is the user's own (0600), as is the directory (0700).
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %v", path, err)
	}
	return nil
}

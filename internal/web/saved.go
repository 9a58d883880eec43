package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/sockit/sockit/internal/optfile"
)

// savedMsg is a message kept for sending with one click: its text (or hex
// digits) and every setting it is sent with, so that it goes out exactly
// as it did when saved.
type savedMsg struct {
	Name     string `json:"name"`
	Data     string `json:"data"`
	Hex      bool   `json:"hex,omitempty"`
	Encoding string `json:"encoding,omitempty"` // "" is the session's
	EOL      string `json:"eol,omitempty"`
	Escapes  bool   `json:"escapes,omitempty"`
	Template bool   `json:"template,omitempty"`
	Checksum string `json:"checksum,omitempty"`
	ATCR     bool   `json:"atcr,omitempty"` // "AT: auto CR": a message beginning with AT ends in CR
}

// savedFile is the file's shape: an object, so fields can be added.
type savedFile struct {
	Messages []savedMsg `json:"messages"`
}

const maxSaved = 500

// savedStore keeps saved messages in a JSON file, written whole (to a
// temporary file, then renamed) on every change so that a crash never
// leaves half a file.
type savedStore struct {
	path string
	logf func(string, ...any)

	mu      sync.Mutex
	list    []savedMsg
	version uint64
}

func loadSaved(path string, logf func(string, ...any)) *savedStore {
	s := &savedStore{path: path, logf: logf, version: 1}
	b, err := readSaved(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			logf("saved messages: %v", err)
		}
		return s
	}
	var f savedFile
	if err := json.Unmarshal(b, &f); err != nil {
		// Keep the damaged file for the user rather than overwrite it.
		bad := path + ".bad"
		os.Rename(path, bad)
		logf("saved messages: %s is not valid JSON (%v); moved it to %s", path, err, bad)
		return s
	}
	s.list = f.Messages
	return s
}

func (s *savedStore) snapshot() ([]savedMsg, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]savedMsg{}, s.list...), s.version
}

func (s *savedStore) currentVersion() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// put adds m, or replaces the message of the same name.
func (s *savedStore) put(m savedMsg) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := append([]savedMsg(nil), s.list...)
	replaced := false
	for i := range list {
		if list[i].Name == m.Name {
			list[i], replaced = m, true
		}
	}
	if !replaced {
		if len(list) >= maxSaved {
			return fmt.Errorf("%d saved messages is the limit: delete some first", maxSaved)
		}
		list = append(list, m)
	}
	return s.commit(list)
}

func (s *savedStore) remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []savedMsg
	for _, m := range s.list {
		if m.Name != name {
			list = append(list, m)
		}
	}
	if len(list) == len(s.list) {
		return fmt.Errorf("no saved message %q", name)
	}
	return s.commit(list)
}

func (s *savedStore) commit(list []savedMsg) error {
	if list == nil {
		list = []savedMsg{}
	}
	b, err := json.MarshalIndent(savedFile{Messages: list}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("saving messages: %v", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".saved-*.json")
	if err != nil {
		return fmt.Errorf("saving messages: %v", err)
	}
	_, err = tmp.Write(append(b, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("saving messages: %v", err)
	}
	s.list = list
	s.version++
	return nil
}

// readSaved reads the saved messages' file if it is a regular file (a
// FIFO put there must not hang sockit ui). Its size is bounded by what
// sockit writes into it: maxSaved messages of at most maxData.
func readSaved(path string) ([]byte, error) {
	f, err := optfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

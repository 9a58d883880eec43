package web

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readWorkspace(t *testing.T, dir string) workspaceFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "workspace.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f workspaceFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("workspace.json: %v\n%s", err, b)
	}
	return f
}

// TestWorkspaceRestart stops a UI with two sessions and starts another on
// the same directory: the token is the same, the sessions are offered and
// not reopened until asked, then come back with their rules, history,
// encoding and view; the file is the user's alone.
func TestWorkspaceRestart(t *testing.T) {
	u := startUI(t)
	w := dialWS(t, u)
	m := w.ok(map[string]any{"op": "open", "kind": "tcp-server", "local": "127.0.0.1:0", "frame": "line", "name": "device hub"})
	srv := m.SID
	w.ok(map[string]any{"op": "rules", "sid": srv, "rules": []string{"^PING$=>PONG"}})
	w.ok(map[string]any{"op": "setenc", "sid": srv, "encoding": "gbk"})
	w.ok(map[string]any{"op": "view", "sid": srv, "view": "hex", "filter": "ping"})
	udp := w.ok(map[string]any{"op": "open", "kind": "udp", "local": "127.0.0.1:0", "remote": "127.0.0.1:9"}).SID
	w.ok(map[string]any{"op": "send", "sid": udp, "data": "hello"})
	w.ok(map[string]any{"op": "view", "sid": srv, "active": true})
	token := u.Token()
	u.stop()

	f := readWorkspace(t, u.dir)
	if f.Version != workspaceVersion || f.Token != token || f.Addr != u.addr || len(f.Sessions) != 2 {
		t.Fatalf("workspace after the stop: %+v", f)
	}
	if fi, err := os.Stat(filepath.Join(u.dir, "workspace.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("workspace.json mode %v (%v), want 0600: it holds the token", fi.Mode(), err)
	}
	if f.Active != f.Sessions[0].Key {
		t.Errorf("active tab %q, want the server's %q", f.Active, f.Sessions[0].Key)
	}

	// A restart on the same directory: same token; nothing reopened yet.
	if a := New(Options{ConfigDir: u.dir}).LastAddr(); a != u.addr {
		t.Errorf("LastAddr %q, want %q", a, u.addr)
	}
	u2 := startUIAt(t, u.dir, "127.0.0.1:0", defaultLimits)
	if u2.Token() != token {
		t.Fatalf("token %q after a restart, want the kept %q", u2.Token(), token)
	}
	w2 := dialWS(t, u2)
	r := w2.until(func(m message) bool { return m.Type == "restore" })
	if len(r.Restore) != 2 || r.Restore[0].Title != "device hub" || !strings.HasPrefix(r.Restore[1].Title, "UDP 127.0.0.1:") {
		t.Fatalf("offered %+v", r.Restore)
	}
	if n := len(u2.mgr.list()); n != 0 {
		t.Fatalf("%d sessions open before the page asked", n)
	}
	// Still kept when the UI stops before the page chose.
	if f := readWorkspace(t, u.dir); len(f.Sessions) != 2 {
		t.Fatalf("%d sessions kept while on offer, want 2", len(f.Sessions))
	}

	w2.ok(map[string]any{"op": "restore"})
	var got []sessState
	for len(got) < 2 {
		m := w2.until(func(m message) bool { return m.Type == "state" })
		got = append(got, *m.Session)
	}
	s := got[0]
	if s.Title != "device hub" || s.Encoding != "gbk" || s.Frame != "line" || s.View.Mode != "hex" || s.View.Filter != "ping" ||
		len(s.Rules) != 1 || s.Rules[0] != "^PING$=>PONG" || s.Key != f.Active {
		t.Errorf("restored server: %+v", s)
	}
	if h := got[1].History; len(h) != 1 || h[0] != "hello" || got[1].Remote != "udp://127.0.0.1:9" {
		t.Errorf("restored UDP session: %+v", got[1])
	}
	if r := w2.until(func(m message) bool { return m.Type == "restore" }); len(r.Restore) != 0 {
		t.Errorf("still offered after restoring: %+v", r.Restore)
	}
	// The rules answer.
	c, err := net.Dial("tcp", s.Local)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("PING\n"))
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "PONG\n" {
		t.Fatalf("reply %q %v, want PONG", buf[:n], err)
	}
}

// TestWorkspaceForgetAndFailures: a session that cannot be reopened (its
// port is taken) stays on offer with the reason; forget drops them.
func TestWorkspaceForgetAndFailures(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	ws := workspaceFile{Version: 1, Token: strings.Repeat("ab", 16), Sessions: []savedSession{
		{Key: "k1", Title: "busy", Open: command{Kind: "tcp-server", Local: taken.Addr().String()}},
		{Key: "k2", Title: "client", Open: command{Kind: "tcp-client", Remote: taken.Addr().String()}},
	}}
	b, _ := json.Marshal(ws)
	os.WriteFile(filepath.Join(dir, "workspace.json"), b, 0o600)

	u := startUIAt(t, dir, "127.0.0.1:0", defaultLimits)
	w := dialWS(t, u)
	m := w.do(map[string]any{"op": "restore"})
	if m.Type != "error" || !strings.Contains(m.Error, "busy:") || !strings.Contains(m.Error, "in use") {
		t.Fatalf("restore with a port taken: %+v", m)
	}
	r := w.until(func(m message) bool { return m.Type == "restore" && len(m.Restore) == 1 })
	if r.Restore[0].Key != "k1" {
		t.Fatalf("offered %+v, want the busy one", r.Restore)
	}
	if n := len(u.mgr.list()); n != 1 {
		t.Fatalf("%d sessions open, want the client", n)
	}
	w.ok(map[string]any{"op": "forget"})
	w.until(func(m message) bool { return m.Type == "restore" && len(m.Restore) == 0 })
	u.stop()
	if f := readWorkspace(t, dir); len(f.Sessions) != 1 || f.Sessions[0].Open.Kind != "tcp-client" {
		t.Fatalf("kept %+v, want the client only", f.Sessions)
	}
}

// TestWorkspaceDamaged: a file that is not a workspace is moved aside,
// not overwritten; one from a newer sockit is left alone.
func TestWorkspaceDamaged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "workspace.json")
	os.WriteFile(path, []byte("{not json"), 0o600)
	w := loadWorkspace(path, t.Logf)
	if b, err := os.ReadFile(path + ".bad"); err != nil || string(b) != "{not json" {
		t.Fatalf("damaged file not kept aside: %q %v", b, err)
	}
	if err := w.write(); err != nil {
		t.Fatal(err)
	}
	if f := readWorkspace(t, dir); f.Version != workspaceVersion {
		t.Fatalf("new file: %+v", f)
	}

	newer := []byte(`{"version": 99, "sessions": []}`)
	os.WriteFile(path, newer, 0o600)
	w = loadWorkspace(path, t.Logf)
	w.changed()
	if err := w.write(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != string(newer) {
		t.Fatalf("a newer version's file was overwritten: %s", b)
	}
}

// readWorkspaceQuiet is the workspace file, or nil while it is not there.
func readWorkspaceQuiet(dir string) *workspaceFile {
	b, err := os.ReadFile(filepath.Join(dir, "workspace.json"))
	if err != nil {
		return nil
	}
	var f workspaceFile
	if json.Unmarshal(b, &f) != nil {
		return nil
	}
	return &f
}

package endpoints

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/sockittest"
)

// nodePeer is a running test/endpoints/node/wspeer.js: Node's ws package,
// the WebSocket peer that is not sockit.
type nodePeer struct {
	t      *testing.T
	proc   *sockittest.Proc
	stdin  io.WriteCloser
	events chan map[string]any
	port   int
}

// wspeer starts wspeer.js with args ("server …" or "client URL …").
func wspeer(t *testing.T, args ...string) *nodePeer {
	t.Helper()
	node := sockittest.Need(t, "node")
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ws", "package.json")); err != nil {
		sockittest.Missing(t, "Node's ws package is not installed in %s (scripts/install-peers.sh installs it)", dir)
	}
	cmd := exec.Command(node, append([]string{filepath.Join(dir, "wspeer.js")}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &nodePeer{t: t, events: make(chan map[string]any, 256)}
	p.proc = sockittest.StartCmd(t, cmd)
	p.stdin = p.proc.Stdin
	go func() {
		defer close(p.events)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 256<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				p.events <- m
			}
		}
	}()
	if args[0] == "server" {
		m := p.next("port")
		p.port = int(m["port"].(float64))
	}
	return p
}

// next returns the next event of the given kind ("port" for the port
// line), failing on a timeout or the peer's exit.
func (p *nodePeer) next(kind string) map[string]any {
	p.t.Helper()
	timeout := time.After(sockittest.Patience)
	for {
		select {
		case m, ok := <-p.events:
			if !ok {
				p.t.Fatalf("node peer ended before a %q event; stderr:\n%s", kind, p.proc.Stderr())
			}
			if kind == "port" && m["port"] != nil || m["ev"] == kind {
				return m
			}
			if m["ev"] == "error" {
				p.t.Logf("node peer error: %v", m["message"])
			}
		case <-timeout:
			p.t.Fatalf("no %q event from the node peer within %s; stderr:\n%s", kind, sockittest.Patience, p.proc.Stderr())
		}
	}
}

// send writes one command line to a client peer.
func (p *nodePeer) send(m map[string]any) {
	p.t.Helper()
	b, _ := json.Marshal(m)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatal(err)
	}
}

func (p *nodePeer) addr() string { return "127.0.0.1:" + itoa(p.port) }

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// message is a received message event's payload and type.
func message(t *testing.T, m map[string]any) ([]byte, bool) {
	t.Helper()
	b, err := hex.DecodeString(m["hex"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return b, m["binary"].(bool)
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fingerprint is the SHA-256 of the PEM certificate at path, as --pin takes it.
func fingerprint(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	s := sha256.Sum256(blk.Bytes)
	return strings.ToUpper(hex.EncodeToString(s[:]))
}

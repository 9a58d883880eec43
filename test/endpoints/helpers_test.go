package endpoints

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
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
		if os.Getenv("SOCKIT_REQUIRE_PEERS") == "1" {
			t.Fatalf("Node's ws package is not installed in %s (scripts/install-peers.sh installs it)", dir)
		}
		t.Skipf("Node's ws package is not installed; run scripts/install-peers.sh")
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

// certs writes a CA, a server certificate for 127.0.0.1 and localhost
// signed by it, and a client certificate signed by it, as PEM files, and
// returns their paths.
type certFiles struct {
	ca, cert, key, clientCert, clientKey string
}

var (
	certOnce sync.Once
	certSet  certFiles
	certDir  string
)

func certs(t *testing.T) certFiles {
	t.Helper()
	certOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sockit-endpoints-certs-")
		if err != nil {
			panic(err)
		}
		certDir = dir
		caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		caTmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sockit test CA"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		}
		caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
		if err != nil {
			panic(err)
		}
		caCert, _ := x509.ParseCertificate(caDER)
		leaf := func(name string, serial int64, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
				NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
				KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
				DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
			if err != nil {
				panic(err)
			}
			return der, k
		}
		write := func(name, typ string, der []byte) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
				panic(err)
			}
			return p
		}
		keyPEM := func(k *ecdsa.PrivateKey) []byte {
			b, _ := x509.MarshalPKCS8PrivateKey(k)
			return b
		}
		certSet.ca = write("ca.pem", "CERTIFICATE", caDER)
		sd, sk := leaf("sockit test server", 2, x509.ExtKeyUsageServerAuth)
		certSet.cert = write("server.pem", "CERTIFICATE", sd)
		certSet.key = write("server-key.pem", "PRIVATE KEY", keyPEM(sk))
		cd, ck := leaf("sockit test client", 3, x509.ExtKeyUsageClientAuth)
		certSet.clientCert = write("client.pem", "CERTIFICATE", cd)
		certSet.clientKey = write("client-key.pem", "PRIVATE KEY", keyPEM(ck))
	})
	return certSet
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

func TestMain(m *testing.M) {
	code := m.Run()
	if certDir != "" {
		os.RemoveAll(certDir)
	}
	os.Exit(code)
}

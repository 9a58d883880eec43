// Package testpki makes certificates for tests of TLS, DTLS, WSS and
// mutual TLS: a certificate authority made for one test and the server
// and client certificates it signs, written as PEM files that sockit's
// --ca/--cert/--key options and peers such as openssl and ncat read.
//
// It imports only the standard library, so that any package's tests can
// use it, the engine's internal tests included.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// CA is a certificate authority made for one test. Its files are in the
// test's temporary directory.
type CA struct {
	// File is the CA's certificate, PEM: what --ca (or openssl's
	// -CAfile) takes.
	File string
	// Cert is the CA's certificate, for a Go peer's pool.
	Cert *x509.Certificate

	dir string
	key *ecdsa.PrivateKey
}

// New makes a CA ("sockit test CA", valid from an hour ago for a day).
func New(t testing.TB) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: "sockit test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("testpki: the CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("testpki: the CA certificate: %v", err)
	}
	ca := &CA{Cert: cert, dir: t.TempDir(), key: key}
	ca.File = ca.write(t, "ca", ".pem", "CERTIFICATE", der)
	return ca
}

// Leaf says what certificate Issue signs.
type Leaf struct {
	Name  string           // the subject's common name
	Usage x509.ExtKeyUsage // x509.ExtKeyUsageServerAuth or ClientAuth
	// Hosts are the DNS names and IP addresses the certificate is for
	// (none for most client certificates).
	Hosts []string
	// NotAfter is when it expires; zero is a day from now. A time in the
	// past makes an expired certificate.
	NotAfter time.Time
}

// Issue signs a certificate as l says and returns the files of the
// certificate and of its private key (PKCS #8, as openssl writes it).
func (ca *CA) Issue(t testing.TB, l Leaf) (certFile, keyFile string) {
	t.Helper()
	key := newKey(t)
	if l.NotAfter.IsZero() {
		l.NotAfter = time.Now().Add(24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: l.Name},
		NotBefore:    time.Now().Add(-2 * time.Hour),
		NotAfter:     l.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{l.Usage},
	}
	for _, h := range l.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("testpki: the certificate for %q: %v", l.Name, err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("testpki: the key for %q: %v", l.Name, err)
	}
	name := strings.ReplaceAll(l.Name, " ", "-")
	return ca.write(t, name, ".pem", "CERTIFICATE", der), ca.write(t, name, ".key", "PRIVATE KEY", kder)
}

// Pool is a certificate pool that holds the CA alone.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}

// Files are a CA and what most TLS tests need from it: a server
// certificate for localhost and 127.0.0.1, and a client certificate.
type Files struct {
	CA                    string // the CA's certificate
	Cert, Key             string // "sockit test server"
	ClientCert, ClientKey string // "sockit test client"
}

// Standard makes a new CA and the server and client certificates of
// Files.
func Standard(t testing.TB) Files {
	t.Helper()
	ca := New(t)
	f := Files{CA: ca.File}
	f.Cert, f.Key = ca.Issue(t, Leaf{Name: "sockit test server", Usage: x509.ExtKeyUsageServerAuth, Hosts: []string{"localhost", "127.0.0.1"}})
	f.ClientCert, f.ClientKey = ca.Issue(t, Leaf{Name: "sockit test client", Usage: x509.ExtKeyUsageClientAuth})
	return f
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testpki: a P-256 key: %v", err)
	}
	return key
}

// serial is a random serial number, so that no two certificates a test
// makes share one (a peer may cache or refuse a repeated issuer/serial).
func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatalf("testpki: a serial number: %v", err)
	}
	return n
}

// write writes a PEM block to a new file named prefix-*suffix in the CA's
// directory and returns its path.
func (ca *CA) write(t testing.TB, prefix, suffix, typ string, der []byte) string {
	t.Helper()
	f, err := os.CreateTemp(ca.dir, prefix+"-*"+suffix)
	if err != nil {
		t.Fatalf("testpki: %v", err)
	}
	err = pem.Encode(f, &pem.Block{Type: typ, Bytes: der})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("testpki: %v", err)
	}
	return f.Name()
}

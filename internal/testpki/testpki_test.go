package testpki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"
	"time"
)

func load(t *testing.T, certFile, keyFile string) *x509.Certificate {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("%s and %s: %v", certFile, keyFile, err)
	}
	return pair.Leaf
}

// TestStandardVerifies: the CA file holds the CA; the server certificate
// verifies against it for localhost and 127.0.0.1 (not another name) as a
// server, the client certificate as a client, and each key matches its
// certificate.
func TestStandardVerifies(t *testing.T) {
	f := Standard(t)
	b, err := os.ReadFile(f.CA)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s holds no PEM block", f.CA)
	}
	ca, err := x509.ParseCertificate(blk.Bytes)
	if err != nil || !ca.IsCA {
		t.Fatalf("%s: %v, IsCA %v", f.CA, err, ca != nil && ca.IsCA)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	srv, cli := load(t, f.Cert, f.Key), load(t, f.ClientCert, f.ClientKey)
	for _, host := range []string{"localhost", "127.0.0.1"} {
		if _, err := srv.Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
			t.Errorf("server certificate for %s: %v", host, err)
		}
	}
	if _, err := srv.Verify(x509.VerifyOptions{Roots: pool, DNSName: "other.test"}); err == nil {
		t.Error("the server certificate verifies for other.test")
	}
	if _, err := cli.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	if _, err := srv.Verify(x509.VerifyOptions{Roots: New(t).Pool(), DNSName: "localhost"}); err == nil {
		t.Error("the server certificate verifies against another CA")
	}
}

// TestIssueExpired: a NotAfter in the past makes a certificate that does
// not verify now, for the expired-certificate tests.
func TestIssueExpired(t *testing.T) {
	ca := New(t)
	cert, key := ca.Issue(t, Leaf{Name: "old", Usage: x509.ExtKeyUsageServerAuth, Hosts: []string{"127.0.0.1"}, NotAfter: time.Now().Add(-time.Hour)})
	_, err := load(t, cert, key).Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "127.0.0.1"})
	if ce, ok := err.(x509.CertificateInvalidError); !ok || ce.Reason != x509.Expired {
		t.Errorf("verify: %v, want expired", err)
	}
}

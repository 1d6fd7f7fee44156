package inputs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"pulse/protocol"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key
// into dir, and returns their paths and a pool trusting the certificate.
func selfSigned(t testing.TB, dir string) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pulse test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}

func TestHTTPTLS(t *testing.T) {
	certFile, keyFile, roots := selfSigned(t, t.TempDir())
	lc := newLaterCommitter(t)
	s := startHTTP(t, HTTPOptions{Format: FormatPulse, TLSCertFile: certFile, TLSKeyFile: keyFile, AuthToken: "tok"}, lc.emit)

	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	r := post(t, client, "POST", s.url+protocol.Path, protocol.Compress(nil, pulseBody("secure", "events")),
		"Authorization", "Bearer tok", "Content-Encoding", "zstd", protocol.HeaderEvents, "2")
	if r.status != http.StatusOK {
		t.Fatalf("status %d %q, want 200", r.status, r.body)
	}
	equal(t, "events", lc.rec.events(), []string{"secure", "events"})

	// A client that does not trust the certificate gets no answer.
	untrusting := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	if _, err := send(untrusting, "POST", s.url+protocol.Path, pulseBody("x"), "Authorization", "Bearer tok"); err == nil {
		t.Error("a client without the root got an answer")
	}
	// Nor does plain HTTP.
	if r, err := send(nil, "POST", "http://"+s.h.Addr()+protocol.Path, pulseBody("x"), "Authorization", "Bearer tok"); err == nil && r.status == 200 {
		t.Error("plain HTTP accepted by a TLS input")
	}
	if n := lc.rec.count(); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
	// Failed handshakes carried no request: they are not counted as such.
	if st := s.h.Stats(); st.Requests != 1 || st.Rejected.Total() != 0 {
		t.Errorf("stats %+v, want 1 request, none rejected", st)
	}
}

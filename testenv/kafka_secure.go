package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// Kafka's names of the SASL mechanisms a KafkaOptions may enable.
const (
	KafkaPlain       = "PLAIN"
	KafkaScramSHA256 = "SCRAM-SHA-256"
	KafkaScramSHA512 = "SCRAM-SHA-512"
)

// KafkaOptions say what StartKafkaWith starts: Brokers brokers (1 or 3)
// whose client listener speaks TLS, SASL, or both (SASL_SSL). Without
// either it is StartKafka's cluster.
type KafkaOptions struct {
	Brokers int
	// TLS: the client listener takes TLS only, with a server certificate
	// for 127.0.0.1 and localhost issued by a CA made for the test
	// (Kafka.CAFile, Kafka.ClientTLS).
	TLS bool
	// SASL lists the mechanisms the client listener offers, by Kafka's
	// names (KafkaPlain, KafkaScramSHA256, KafkaScramSHA512); none: no
	// authentication.
	SASL []string
	// Users are the user names and passwords each of those mechanisms
	// knows: PLAIN's from the listener's JAAS config, SCRAM's credentials
	// stored in the cluster metadata when the storage is formatted. Names
	// and passwords are letters, digits, '.', '_' and '-' (they go into a
	// JAAS config and a command line unquoted).
	Users map[string]string
}

// StartKafkaWith starts a cluster as StartKafka does, with one more
// listener, CLIENT, secured as o says: SSL, SASL_PLAINTEXT or SASL_SSL.
// Brokers names its addresses; the PLAINTEXT listener, without TLS or
// authentication, stays the brokers' own (inter-broker, beside the
// plaintext CONTROLLER one) and serves testenv's CreateTopic and Records
// (PlainBrokers). The TLS material is generated in Go in the test's temp
// dir and handed to Kafka as PEM, so no keytool is needed.
func StartKafkaWith(t testing.TB, o KafkaOptions) *Kafka {
	t.Helper()
	sec, err := newKafkaSecurity(o)
	if err != nil {
		t.Fatalf("testenv: StartKafkaWith: %v", err)
	}
	return startKafka(t, o.Brokers, sec)
}

// PlainBrokers returns the brokers' PLAINTEXT addresses, in node order,
// whatever the client listener's security: for a test's own set-up and
// checks, past TLS and SASL.
func (k *Kafka) PlainBrokers() []string {
	out := make([]string, len(k.nodes))
	for i, nd := range k.nodes {
		out[i] = nd.addr
	}
	return out
}

// Protocol is the client listener's security protocol: PLAINTEXT, SSL,
// SASL_PLAINTEXT or SASL_SSL.
func (k *Kafka) Protocol() string {
	if k.sec == nil {
		return "PLAINTEXT"
	}
	return k.sec.protocol
}

// CAFile is the PEM file of the CA that issued the brokers' certificate;
// "" without TLS.
func (k *Kafka) CAFile() string {
	if k.sec == nil || k.sec.ca == nil {
		return ""
	}
	return k.sec.ca.CertFile
}

// ClientTLS returns a client TLS config that trusts the brokers' CA (and
// no other); nil without TLS.
func (k *Kafka) ClientTLS() *tls.Config {
	if k.sec == nil || k.sec.ca == nil {
		return nil
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: k.sec.ca.Pool()}
}

// kafkaSecurity is the CLIENT listener of StartKafkaWith. Its methods
// take a nil receiver: no such listener.
type kafkaSecurity struct {
	protocol   string // SSL, SASL_PLAINTEXT or SASL_SSL
	tls        bool
	mechanisms []string
	users      map[string]string

	// Made by prepare.
	ca            *CA
	chain, keyPEM []byte // the brokers' certificate (then the CA's) and key
}

// kafkaSecretRE is what a user name or password may be.
var kafkaSecretRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

func newKafkaSecurity(o KafkaOptions) (*kafkaSecurity, error) {
	if !o.TLS && len(o.SASL) == 0 {
		return nil, nil
	}
	s := &kafkaSecurity{tls: o.TLS, users: o.Users}
	for _, m := range o.SASL {
		switch m {
		case KafkaPlain, KafkaScramSHA256, KafkaScramSHA512:
		default:
			return nil, fmt.Errorf("SASL mechanism %q: want %s, %s or %s", m, KafkaPlain, KafkaScramSHA256, KafkaScramSHA512)
		}
		if !slices.Contains(s.mechanisms, m) {
			s.mechanisms = append(s.mechanisms, m)
		}
	}
	if len(s.mechanisms) > 0 && len(o.Users) == 0 {
		return nil, fmt.Errorf("SASL %v without users", s.mechanisms)
	}
	for name, pw := range o.Users {
		if !kafkaSecretRE.MatchString(name) || !kafkaSecretRE.MatchString(pw) {
			return nil, fmt.Errorf("user %q: names and passwords are letters, digits, '.', '_' and '-'", name)
		}
	}
	switch {
	case o.TLS && len(s.mechanisms) > 0:
		s.protocol = "SASL_SSL"
	case o.TLS:
		s.protocol = "SSL"
	default:
		s.protocol = "SASL_PLAINTEXT"
	}
	return s, nil
}

// prepare makes the TLS material in dir.
func (s *kafkaSecurity) prepare(t testing.TB, dir string) {
	t.Helper()
	if !s.tls {
		return
	}
	s.ca = NewCA(t, filepath.Join(dir, "ca"))
	cert, key := s.ca.Issue(t, "127.0.0.1", "localhost")
	s.chain = append(append([]byte{}, cert...), s.ca.PEM...)
	s.keyPEM = key
}

// listeners returns what nd's listeners, advertised.listeners and
// listener.security.protocol.map gain: ",CLIENT://addr" and so on.
func (s *kafkaSecurity) listeners(nd *kafkaNode) (listeners, advertised, protocols string) {
	if s == nil {
		return "", "", ""
	}
	return ",CLIENT://" + nd.client, ",CLIENT://" + nd.client, ",CLIENT:" + s.protocol
}

// props are the CLIENT listener's settings in server.properties, every one
// prefixed with the listener's name so that PLAINTEXT stays as it is.
func (s *kafkaSecurity) props() []string {
	if s == nil {
		return nil
	}
	const p = "listener.name.client."
	var out []string
	if s.tls {
		out = append(out,
			p+"ssl.keystore.type=PEM",
			p+"ssl.keystore.certificate.chain="+propValue(s.chain),
			p+"ssl.keystore.key="+propValue(s.keyPEM),
			// Only for client certificates, which the listener does not
			// ask for; set so that Kafka does not look for a JKS file.
			p+"ssl.truststore.type=PEM",
			p+"ssl.truststore.certificates="+propValue(s.ca.PEM),
			p+"ssl.client.auth=none",
		)
	}
	if len(s.mechanisms) == 0 {
		return out
	}
	out = append(out, p+"sasl.enabled.mechanisms="+strings.Join(s.mechanisms, ","))
	for _, m := range s.mechanisms {
		mp := p + strings.ToLower(m) + ".sasl.jaas.config="
		if m == KafkaPlain {
			var users []string
			for _, name := range sortedKeys(s.users) {
				users = append(users, fmt.Sprintf("user_%s=%q", name, s.users[name]))
			}
			out = append(out, mp+"org.apache.kafka.common.security.plain.PlainLoginModule required "+strings.Join(users, " ")+";")
			continue
		}
		out = append(out, mp+"org.apache.kafka.common.security.scram.ScramLoginModule required;")
	}
	return out
}

// formatArgs are the storage format's --add-scram arguments: every user's
// credential for every SCRAM mechanism, written into the cluster metadata
// (KRaft has no ZooKeeper to hold them, and no broker to take them yet).
func (s *kafkaSecurity) formatArgs() []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, m := range s.mechanisms {
		if m == KafkaPlain {
			continue
		}
		for _, name := range sortedKeys(s.users) {
			out = append(out, "--add-scram", fmt.Sprintf("%s=[name=%s,password=%s]", m, name, s.users[name]))
		}
	}
	return out
}

// describe is the listener for the start's log line.
func (s *kafkaSecurity) describe() string {
	if s == nil {
		return ""
	}
	if len(s.mechanisms) == 0 {
		return " (" + s.protocol + ")"
	}
	return fmt.Sprintf(" (%s %s)", s.protocol, strings.Join(s.mechanisms, ","))
}

// propValue is a PEM block as one server.properties value: Java's
// Properties.load reads "\n" back as a newline.
func propValue(pem []byte) string {
	return strings.ReplaceAll(strings.TrimSpace(string(pem)), "\n", `\n`)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// CA is a certificate authority made for one test: an ECDSA P-256 key and
// a self-signed certificate, valid for a day, written to CertFile.
type CA struct {
	CertFile string // the CA's certificate, PEM
	PEM      []byte // CertFile's content

	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA makes a CA and writes its certificate to dir/ca.pem.
func NewCA(t testing.TB, dir string) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: "pulse test CA " + filepath.Base(dir)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("testenv: CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &CA{CertFile: filepath.Join(dir, "ca.pem"), PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), cert: cert, key: key}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ca.CertFile, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return ca
}

// Pool is a certificate pool holding the CA alone.
func (c *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.cert)
	return p
}

// Issue returns a server certificate for hosts (IP addresses or DNS
// names) signed by the CA, and its key (unencrypted PKCS#8, as Kafka's
// PEM key store takes it), both PEM.
func (c *CA) Issue(t testing.TB, hosts ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatalf("testenv: certificate for %v: %v", hosts, err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

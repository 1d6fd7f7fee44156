package kafka

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"pulse/kafkaclient"
	"pulse/outputs"
	"pulse/testenv"
)

// secureUsers are the users of the SASL_SSL broker of TestSecureBroker.
var secureUsers = map[string]string{"alice": "alice-pw", "bob": "bob-pw"}

// TestSecureBroker: the output produces through TLS (the brokers' CA
// trusted) with each SASL mechanism, every batch acked once its records
// are in the topic; with a CA that did not issue the brokers' certificate,
// or a wrong password, nothing is acked, nothing set aside, and the log
// and the error counters say why. One broker, SASL_SSL with PLAIN,
// SCRAM-SHA-256 and SCRAM-SHA-512.
func TestSecureBroker(t *testing.T) {
	kf := testenv.StartKafkaWith(t, testenv.KafkaOptions{Brokers: 1, TLS: true,
		SASL:  []string{testenv.KafkaPlain, testenv.KafkaScramSHA256, testenv.KafkaScramSHA512},
		Users: secureUsers})
	kf.CreateTopic(t, "secure", 3, 1, nil)
	for _, mech := range []string{kafkaclient.SASLPlain, kafkaclient.SASLScramSHA256, kafkaclient.SASLScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			testSecureProduce(t, kf, &kafkaclient.SASL{Mechanism: mech, Username: "alice", Password: "alice-pw"})
		})
	}
	otherCA := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: testenv.NewCA(t, t.TempDir()).Pool()}
	t.Run("WrongCA", func(t *testing.T) {
		testSecureRefused(t, kf, otherCA, &kafkaclient.SASL{Mechanism: kafkaclient.SASLScramSHA512, Username: "bob", Password: "bob-pw"},
			"tls_certificate", "certificate signed by unknown authority")
	})
	for _, mech := range []string{kafkaclient.SASLPlain, kafkaclient.SASLScramSHA512} {
		t.Run("WrongPassword/"+mech, func(t *testing.T) {
			testSecureRefused(t, kf, kf.ClientTLS(), &kafkaclient.SASL{Mechanism: mech, Username: "bob", Password: "alice-pw"},
				"sasl_authentication_failed", "SASL_AUTHENTICATION_FAILED")
		})
	}
}

// Every batch is acked, every record is in the topic once.
func testSecureProduce(t *testing.T, kf *testenv.Kafka, auth *kafkaclient.SASL) {
	before := len(kf.Records(t, "secure"))
	k, err := New(Options{Name: "secure", Brokers: kf.Brokers(), Topic: "secure", Key: "k",
		TLS: kf.ClientTLS(), SASL: auth, DeadLetterDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	const batches, per = 10, 200
	var bs []outputs.Batch
	for i := range batches {
		var evs []string
		for j := range per {
			evs = append(evs, fmt.Sprintf("mech=%s k=%d id=%d", auth.Mechanism, j%5, i*per+j))
		}
		bs = append(bs, pulseBatch(uint64(i+1), evs...))
	}
	src := newMemSource(bs)
	runUntil(t, k, src, batches)
	recs := kf.Records(t, "secure")[before:]
	seen := map[string]bool{}
	for _, r := range recs {
		seen[string(r.Value)] = true
	}
	if len(recs) != batches*per || len(seen) != batches*per {
		t.Errorf("%d records (%d distinct) in the topic, want %d", len(recs), len(seen), batches*per)
	}
	if s := k.Stats(); s.Records != batches*per || s.Batches != batches || s.DeadRecords != 0 || s.Failures != 0 {
		t.Errorf("stats = %+v", s)
	}
}

// Nothing is acked or set aside, the output retries, and its log and its
// error counters name the cause (reason, and want in the log). The batches
// stay in the buffer.
func testSecureRefused(t *testing.T, kf *testenv.Kafka, tc *tls.Config, auth *kafkaclient.SASL, reason, want string) {
	before := len(kf.Records(t, "secure"))
	dead := t.TempDir()
	var logs testenv.SyncBuffer
	k, err := New(Options{Name: "refused", Brokers: kf.Brokers(), Topic: "secure", TLS: tc, SASL: auth,
		Timeout: 2 * time.Second, RetryInitial: 100 * time.Millisecond, RetryMax: 500 * time.Millisecond,
		DeadLetterDir: dead, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	src := newMemSource([]outputs.Batch{pulseBatch(1, "a=1", "a=2"), pulseBatch(2, "a=3")})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx, src) }()
	// Two rounds of retries: the output keeps at it.
	if !testenv.Eventually(time.Minute, func() bool {
		s := k.Stats()
		return s.Errors[reason] >= 2 && s.Retries >= 2
	}) {
		cancel()
		<-done
		t.Fatalf("no failed records counted under %s after a minute: stats %+v\n%s", reason, k.Stats(), logs.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	s := k.Stats()
	t.Logf("stats %+v", s)
	if src.ackedN() != 0 || s.Batches != 0 || s.Records != 0 || s.DeadRecords != 0 {
		t.Errorf("%d batches acked, stats %+v: want none acked, delivered or set aside", src.ackedN(), s)
	}
	if letters, _ := os.ReadDir(dead); len(letters) != 0 {
		t.Errorf("%d files in the dead letters", len(letters))
	}
	if n := len(kf.Records(t, "secure")) - before; n != 0 {
		t.Errorf("%d records reached the topic", n)
	}
	log := logs.String()
	if !strings.Contains(log, "records not acknowledged, will produce them again") || !strings.Contains(log, want) {
		t.Errorf("the log does not say %q:\n%s", want, log)
	}
}

package kafka

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"pulse/kafkaclient"
	"pulse/testenv"
)

// TestSecureBroker: the input consumes through TLS (the brokers' CA
// trusted) with each SASL mechanism, every record emitted once and every
// offset committed; with a CA that did not issue the brokers' certificate,
// or a wrong password, nothing is emitted or committed, and the log says
// why. One broker, SASL_SSL with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512.
func TestSecureBroker(t *testing.T) {
	kf := testenv.StartKafkaWith(t, testenv.KafkaOptions{Brokers: 1, TLS: true,
		SASL:  []string{testenv.KafkaPlain, testenv.KafkaScramSHA256, testenv.KafkaScramSHA512},
		Users: map[string]string{"alice": "alice-pw", "bob": "bob-pw"}})
	kf.CreateTopic(t, "secure", 3, 1, nil)
	const n = 2000
	var vals []string
	for i := range n {
		vals = append(vals, fmt.Sprintf("id=%d", i))
	}
	produce(t, kf, "secure", vals)
	for _, mech := range []string{kafkaclient.SASLPlain, kafkaclient.SASLScramSHA256, kafkaclient.SASLScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			group := "g-" + mech
			rec := &recorder{}
			in := newSecureInput(t, kf, group, kf.ClientTLS(), &kafkaclient.SASL{Mechanism: mech, Username: "alice", Password: "alice-pw"}, nil)
			stop := start(t, in, rec.emit)
			testenv.WaitFor(t, time.Minute, "every offset committed", func() bool { return committedOrUnknown(t, kf, group, "secure") == n })
			stop()
			rec.wg.Wait()
			seen := map[string]bool{}
			for _, ev := range rec.events {
				seen[ev] = true
			}
			if len(rec.events) != n || len(seen) != n {
				t.Errorf("%d events (%d distinct), want %d", len(rec.events), len(seen), n)
			}
			if s := in.Stats(); s.Records != n || s.FetchErrors != 0 || s.CommitErrors != 0 || len(s.TurnedAway) != 0 {
				t.Errorf("stats = %+v", s)
			}
		})
	}
	otherCA := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: testenv.NewCA(t, t.TempDir()).Pool()}
	t.Run("WrongCA", func(t *testing.T) {
		testSecureRefused(t, kf, otherCA, &kafkaclient.SASL{Mechanism: kafkaclient.SASLScramSHA256, Username: "bob", Password: "bob-pw"},
			kafkaclient.ReasonTLSCertificate, "certificate signed by unknown authority")
	})
	for _, mech := range []string{kafkaclient.SASLPlain, kafkaclient.SASLScramSHA512} {
		t.Run("WrongPassword/"+mech, func(t *testing.T) {
			testSecureRefused(t, kf, kf.ClientTLS(), &kafkaclient.SASL{Mechanism: mech, Username: "bob", Password: "alice-pw"},
				kafkaclient.ReasonSASLFailed, "SASL_AUTHENTICATION_FAILED")
		})
	}
}

// The client keeps trying, nothing is emitted or committed; the stats
// count the connections turned away under reason, and the log names the
// cause (want).
func testSecureRefused(t *testing.T, kf *testenv.Kafka, tc *tls.Config, auth *kafkaclient.SASL, reason, want string) {
	group := "g-refused-" + strings.ReplaceAll(t.Name(), "/", "-")
	var logs testenv.SyncBuffer
	rec := &recorder{}
	in := newSecureInput(t, kf, group, tc, auth, slog.New(slog.NewTextHandler(&logs, nil)))
	stop := start(t, in, rec.emit)
	if !testenv.Eventually(time.Minute, func() bool { return strings.Contains(logs.String(), want) && in.Stats().TurnedAway[reason] >= 2 }) {
		stop()
		t.Fatalf("after a minute, the log does not say %q or the stats count no %s; stats %+v\n%s", want, reason, in.Stats(), logs.String())
	}
	stop()
	s := in.Stats()
	t.Logf("stats %+v", s)
	if rec.count() != 0 || s.Records != 0 || s.Commits != 0 {
		t.Errorf("%d events emitted, stats %+v: want none", rec.count(), s)
	}
	var c int64
	testenv.WaitFor(t, time.Minute, "the group's offsets", func() bool { c = committedOrUnknown(t, kf, group, "secure"); return c >= 0 })
	if c != 0 {
		t.Errorf("the group committed %d", c)
	}
}

func newSecureInput(t *testing.T, kf *testenv.Kafka, group string, tc *tls.Config, auth *kafkaclient.SASL, log *slog.Logger) *Input {
	t.Helper()
	in, err := New(Options{Name: group, Brokers: kf.Brokers(), Topics: []string{"secure"}, Group: group,
		TLS: tc, SASL: auth, SessionTimeout: 6 * time.Second, DrainTimeout: 20 * time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

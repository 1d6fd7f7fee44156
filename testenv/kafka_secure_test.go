package testenv

import (
	"context"
	"crypto/tls"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// TestKafkaSecureListeners: StartKafkaWith's client listener speaks what
// was asked — TLS alone (SSL), SASL without TLS (SASL_PLAINTEXT, PLAIN and
// SCRAM-SHA-256) — records produced through it are there for Records (over
// PLAINTEXT), and a client that does not speak it is turned away. SASL_SSL
// with every mechanism is tested by outputs/kafka and inputs/kafka.
func TestKafkaSecureListeners(t *testing.T) {
	t.Run("SSL", func(t *testing.T) {
		k := StartKafkaWith(t, KafkaOptions{Brokers: 1, TLS: true})
		if k.Protocol() != "SSL" || k.CAFile() == "" || k.Brokers()[0] == k.PlainBrokers()[0] {
			t.Fatalf("protocol %s, CA %q, brokers %v, plain %v", k.Protocol(), k.CAFile(), k.Brokers(), k.PlainBrokers())
		}
		k.CreateTopic(t, "tls", 1, 1, nil)
		secureProduce(t, k, "tls", 100, kgo.DialTLSConfig(k.ClientTLS()))
		began := time.Now()
		if err := tryConnect(k, kgo.DialTLSConfig(&tls.Config{RootCAs: NewCA(t, t.TempDir()).Pool()})); err == nil {
			t.Errorf("a client trusting another CA produced")
		} else {
			t.Logf("another CA: %v after %v", err, time.Since(began).Round(time.Millisecond))
		}
	})
	t.Run("SASL_PLAINTEXT", func(t *testing.T) {
		k := StartKafkaWith(t, KafkaOptions{Brokers: 1, SASL: []string{KafkaPlain, KafkaScramSHA256},
			Users: map[string]string{"alice": "alice-pw", "bob": "bob-pw"}})
		if k.Protocol() != "SASL_PLAINTEXT" || k.CAFile() != "" || k.ClientTLS() != nil {
			t.Fatalf("protocol %s, CA %q", k.Protocol(), k.CAFile())
		}
		k.CreateTopic(t, "sasl", 1, 1, nil)
		secureProduce(t, k, "sasl", 100, kgo.SASL(plain.Auth{User: "alice", Pass: "alice-pw"}.AsMechanism()))
		secureProduce(t, k, "sasl", 200, kgo.SASL(scram.Auth{User: "bob", Pass: "bob-pw"}.AsSha256Mechanism()))
		for _, m := range []kgo.Opt{
			kgo.SASL(plain.Auth{User: "alice", Pass: "bob-pw"}.AsMechanism()),
			kgo.SASL(scram.Auth{User: "bob", Pass: "alice-pw"}.AsSha256Mechanism()),
			kgo.SASL(scram.Auth{User: "alice", Pass: "alice-pw"}.AsSha512Mechanism()), // not enabled
		} {
			began := time.Now()
			err := tryConnect(k, m)
			t.Logf("wrong credentials: %v after %v", err, time.Since(began).Round(time.Millisecond))
			if !errors.Is(err, kerr.SaslAuthenticationFailed) && !errors.Is(err, kerr.UnsupportedSaslMechanism) {
				t.Errorf("wrong credentials: %v, want an authentication error", err)
			}
		}
	})
}

// secureProduce produces n records to topic through the client listener
// with opts, and checks that the topic then holds total records.
func secureProduce(t *testing.T, k *Kafka, topic string, total int, opts ...kgo.Opt) {
	t.Helper()
	before := len(k.Records(t, topic))
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(k.Brokers()...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var recs []*kgo.Record
	for i := before; i < total; i++ {
		recs = append(recs, &kgo.Record{Topic: topic, Value: []byte("r" + strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce through %s: %v", k.Protocol(), err)
	}
	if got := len(k.Records(t, topic)); got != total {
		t.Fatalf("%d records in %s, want %d", got, topic, total)
	}
}

// tryConnect asks the client listener for its API versions with opts:
// the connection goes through TLS and SASL first.
func tryConnect(k *Kafka, opts ...kgo.Opt) error {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(k.Brokers()...)}, opts...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return cl.Ping(ctx)
}

package testenv_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"pulse/testenv"
)

// produce sends n records "<prefix>-<i>" to topic with acks=all and
// returns the values the cluster acknowledged.
func produce(t *testing.T, k *testenv.Kafka, topic, prefix string, n int, opts ...kgo.Opt) map[string]bool {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(k.Brokers()...), kgo.DefaultProduceTopic(topic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = kgo.StringRecord(fmt.Sprintf("%s-%d", prefix, i))
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce %d records to %s: %v", n, topic, err)
	}
	acked := make(map[string]bool, n)
	for _, r := range recs {
		acked[string(r.Value)] = true
	}
	return acked
}

// TestKafkaOneBroker: a topic on a single broker holds exactly the 1,000
// records produced to it, read back by Records.
func TestKafkaOneBroker(t *testing.T) {
	start := time.Now()
	k := testenv.StartKafka(t, 1)
	t.Logf("1 broker ready in %v (%s)", time.Since(start).Round(10*time.Millisecond), k.Brokers()[0])
	k.CreateTopic(t, "one", 3, 1, nil)
	want := produce(t, k, "one", "r", 1000)
	got := k.Records(t, "one")
	if len(got) != len(want) {
		t.Fatalf("Records: %d records, want %d", len(got), len(want))
	}
	seen := map[string]bool{}
	for _, r := range got {
		v := string(r.Value)
		if !want[v] || seen[v] {
			t.Fatalf("Records: unexpected or repeated %q", v)
		}
		seen[v] = true
	}
}

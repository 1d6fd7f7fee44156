package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKafkaOneBroker: a topic on a single broker holds exactly the 1,000
// records produced to it, read back by Records and by kcat; after a
// SIGTERM and a restart they are all still there.
func TestKafkaOneBroker(t *testing.T) {
	k := StartKafka(t, 1)
	k.CreateTopic(t, "one", 3, 1, nil)
	want := produceAll(t, k, "one", "r", 1000)
	checkRecords(t, k, "one", want)
	kcatCount(t, k, "one", len(want))
	logRSS(t, k)

	k.Stop(0)
	k.Restart(0)
	checkRecords(t, k, "one", want)
}

// TestKafkaThreeBrokers: with replication factor 3 and min.insync.replicas
// 2, a broker killed with SIGKILL in the middle of an acks=all produce
// loses no acknowledged record, and comes back into the cluster and into
// every ISR on Restart; the cluster stopped whole and restarted keeps them.
func TestKafkaThreeBrokers(t *testing.T) {
	k := StartKafka(t, 3)
	const topic, parts, total, killAt = "three", 3, 5000, 1000
	k.CreateTopic(t, topic, parts, 3, map[string]string{"min.insync.replicas": "2"})

	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers()...), kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.MaxBufferedRecords(200))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var (
		mu    sync.Mutex
		acked = map[string]bool{}
		errs  []error
		kill  = make(chan struct{}) // closed by the killAt-th ack
		once  sync.Once
	)
	killed := false
	produced := time.Now()
	// Produce asynchronously; the 1,000th acknowledgment kills broker 1
	// while the rest are buffered or in flight.
	for i := range total {
		r := kgo.StringRecord(fmt.Sprintf("v-%d", i))
		cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			acked[string(r.Value)] = true
			if len(acked) == killAt {
				once.Do(func() { close(kill) })
			}
		})
		if killed {
			continue
		}
		select {
		case <-kill:
			k.Kill(1)
			killed = true
			t.Logf("killed broker 1 after %d acks, %d records handed to the producer", killAt, i+1)
		default:
		}
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if !killed {
		t.Fatalf("broker 1 was never killed: %d acks", len(acked))
	}
	t.Logf("%d records acknowledged, %v after the start of the produce", len(acked), time.Since(produced).Round(10*time.Millisecond))
	if len(errs) > 0 {
		t.Fatalf("%d records failed, first: %v", len(errs), errs[0])
	}
	checkRecords(t, k, topic, acked)
	kcatCount(t, k, topic, len(acked))

	restarted := time.Now()
	k.Restart(1)
	t.Logf("broker 1 back in the cluster %v after Restart", time.Since(restarted).Round(10*time.Millisecond))
	adm := kadm.NewClient(cl)
	md, err := adm.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Brokers) != 3 {
		t.Fatalf("after Restart(1), metadata lists brokers %v, want 3", md.Brokers.NodeIDs())
	}
	// Broker 1 catches up and is back in every partition's ISR.
	WaitFor(t, time.Minute, "broker 1 back in every ISR", func() bool {
		md, err := adm.Metadata(ctx, topic)
		if err != nil {
			return false
		}
		for _, p := range md.Topics[topic].Partitions {
			if len(p.ISR) != 3 {
				return false
			}
		}
		return true
	})
	t.Logf("broker 1 in every ISR %v after Restart", time.Since(restarted).Round(10*time.Millisecond))
	logRSS(t, k)

	// The whole cluster down — two clean stops, the last broker killed —
	// and back: the first Restart has no quorum to wait for, the second
	// brings it; every record is still there.
	k.Stop(2)
	k.Stop(0)
	k.Kill(1)
	restarted = time.Now()
	for i := range 3 {
		k.Restart(i)
	}
	t.Logf("cluster back %v after the first Restart", time.Since(restarted).Round(10*time.Millisecond))
	checkRecords(t, k, topic, acked)
}

// produceAll produces n records "<prefix>-<i>" to topic, waits for every
// acknowledgment, and returns the values.
func produceAll(t *testing.T, k *Kafka, topic, prefix string, n int) map[string]bool {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers()...), kgo.DefaultProduceTopic(topic))
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
	want := make(map[string]bool, n)
	for _, r := range recs {
		want[string(r.Value)] = true
	}
	return want
}

// checkRecords fails unless Records returns each value of want exactly
// once, and nothing else.
func checkRecords(t *testing.T, k *Kafka, topic string, want map[string]bool) {
	t.Helper()
	got := k.Records(t, topic)
	seen := map[string]int{}
	for _, r := range got {
		seen[string(r.Value)]++
	}
	var missing, extra, dup int
	for v := range want {
		if seen[v] == 0 {
			missing++
		}
	}
	for v, c := range seen {
		switch {
		case !want[v]:
			extra++
		case c > 1:
			dup += c - 1
		}
	}
	if missing+extra+dup > 0 || len(got) != len(want) {
		t.Fatalf("Records(%s): %d records for %d produced: %d missing, %d unexpected, %d duplicates", topic, len(got), len(want), missing, extra, dup)
	}
}

// kcatCount reads topic with kcat, the independent client other tests use,
// and fails unless it counts want records.
func kcatCount(t *testing.T, k *Kafka, topic string, want int) {
	t.Helper()
	kcat, ok := OptionalTool(t, "kcat", "kcat")
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, kcat, "-C", "-b", strings.Join(k.Brokers(), ","), "-t", topic,
		"-o", "beginning", "-e", "-q", "-f", "%s\n").Output()
	if err != nil {
		t.Fatalf("kcat -C -t %s: %v", topic, err)
	}
	if got := strings.Count(string(out), "\n"); got != want {
		t.Fatalf("kcat read %d records from %s, want %d", got, topic, want)
	}
}

// logRSS logs each running broker's resident memory.
func logRSS(t *testing.T, k *Kafka) {
	t.Helper()
	for _, nd := range k.nodes {
		if !nd.proc.Running() {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", nd.proc.PID()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "VmRSS:") {
				t.Logf("broker %d: %s", nd.id, strings.Join(strings.Fields(line), " "))
			}
		}
	}
}

package kafka

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"pulse/outputs"
	"pulse/protocol"
	"pulse/testenv"
)

// memSource is a Source of fixed batches that records their acks.
type memSource struct {
	mu      sync.Mutex
	batches []outputs.Batch
	acked   map[uint64]bool
	ch      chan outputs.Batch
}

func newMemSource(batches []outputs.Batch) *memSource {
	s := &memSource{batches: batches, acked: map[uint64]bool{}, ch: make(chan outputs.Batch, len(batches))}
	for _, b := range batches {
		s.ch <- b
	}
	return s
}

func (s *memSource) Next(ctx context.Context) (outputs.Batch, error) {
	select {
	case b := <-s.ch:
		return b, nil
	case <-ctx.Done():
		return outputs.Batch{}, ctx.Err()
	}
}

func (s *memSource) Ack(id uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.acked[id] {
		return fmt.Errorf("batch %d acked twice", id)
	}
	s.acked[id] = true
	return nil
}

func (s *memSource) ackedN() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.acked)
}

// pulseBatch frames events as the agent stores a kafka output's batches.
func pulseBatch(id uint64, events ...string) outputs.Batch {
	var w protocol.Writer
	w.Reset(nil)
	for _, e := range events {
		w.Append([]byte(e))
	}
	return outputs.Batch{ID: id, Payload: append([]byte(nil), w.Bytes()...), Events: len(events)}
}

// runUntil runs k on src until every batch is acked (or the test's time
// is up) and returns once Run has returned.
func runUntil(t *testing.T, k *Kafka, src *memSource, want int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx, src) }()
	testenv.WaitFor(t, 60*time.Second, "every batch acked", func() bool { return src.ackedN() == want })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestWithBroker(t *testing.T) {
	kf := testenv.StartKafka(t, 1)
	t.Run("ProduceAndAck", func(t *testing.T) { testProduceAndAck(t, kf) })
	t.Run("DeadLetters", func(t *testing.T) { testDeadLetters(t, kf) })
}

// Every record of every batch is in the topic, keyed by its field, before
// the batch is acked; records of one key share a partition.
func testProduceAndAck(t *testing.T, kf *testenv.Kafka) {
	kf.CreateTopic(t, "logs-web", 3, 1, nil)
	kf.CreateTopic(t, "logs-other", 1, 1, nil)
	k, err := New(Options{Name: "bus", Brokers: kf.Brokers(), Topic: "logs-{app}", DefaultTopic: "logs-other",
		Key: "dyno", DeadLetterDir: t.TempDir(), MaxInFlight: 3})
	if err != nil {
		t.Fatal(err)
	}
	const batches, per = 20, 500
	var bs []outputs.Batch
	for i := range batches {
		var evs []string
		for j := range per {
			n := i*per + j
			if n%10 == 0 {
				evs = append(evs, fmt.Sprintf("id=%d msg=\"no app\nsecond line\"", n))
				continue
			}
			evs = append(evs, fmt.Sprintf("app=web dyno=web.%d id=%d", n%7, n))
		}
		bs = append(bs, pulseBatch(uint64(i+1), evs...))
	}
	src := newMemSource(bs)
	runUntil(t, k, src, batches)

	web := kf.Records(t, "logs-web")
	other := kf.Records(t, "logs-other")
	if len(web) != batches*per*9/10 || len(other) != batches*per/10 {
		t.Fatalf("%d records in logs-web, %d in logs-other; want %d and %d", len(web), len(other), batches*per*9/10, batches*per/10)
	}
	partOf := map[string]int32{}
	seen := map[string]bool{}
	for _, r := range web {
		key := string(r.Key)
		if !strings.HasPrefix(string(r.Value), "app=web dyno="+key+" ") {
			t.Fatalf("record %q has key %q", r.Value, key)
		}
		if p, ok := partOf[key]; ok && p != r.Partition {
			t.Fatalf("key %s in partitions %d and %d", key, p, r.Partition)
		}
		partOf[key] = r.Partition
		seen[string(r.Value)] = true
	}
	if len(seen) != len(web) {
		t.Errorf("%d distinct of %d records: duplicates", len(seen), len(web))
	}
	if !strings.Contains(string(other[0].Value), "\nsecond line") || other[0].Key != nil {
		t.Errorf("a record with a newline came out as %q, key %q", other[0].Value, other[0].Key)
	}
	s := k.Stats()
	if s.Records != batches*per || s.Batches != batches || s.DefaultTopic != batches*per/10 || s.DeadRecords != 0 || s.InFlight != 0 {
		t.Errorf("stats = %+v", s)
	}
}

// A record larger than its topic takes is set aside with its reason, and
// the others of its batch are delivered: with the topic's limit known (a
// fixed topic) and with it unknown (a field names the topic), where the
// broker refuses the whole record batch and the records go again one by
// one.
func testDeadLetters(t *testing.T, kf *testenv.Kafka) {
	small := map[string]string{"max.message.bytes": "2048"}
	kf.CreateTopic(t, "small", 1, 1, small)
	kf.CreateTopic(t, "dyn-small", 1, 1, small)
	kf.CreateTopic(t, "dyn-other", 1, 1, nil)
	// Incompressible, so that the broker refuses it compressed too.
	rnd := rand.New(rand.NewPCG(1, 2))
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
	b := make([]byte, 6000)
	for i := range b {
		b[i] = letters[rnd.IntN(len(letters))]
	}
	big := "big " + string(b)
	for _, tc := range []struct{ name, topic, want string }{
		{"fixed topic", "small", "small"},
		{"field topic", "dyn-{t}", "dyn-small"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			k, err := New(Options{Name: "bus", Brokers: kf.Brokers(), Topic: tc.topic, DefaultTopic: "dyn-other", DeadLetterDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			before := len(kf.Records(t, tc.want))
			var evs []string
			for i := range 50 {
				evs = append(evs, fmt.Sprintf("t=small i=%d", i))
				if i == 25 {
					evs = append(evs, "t=small "+big)
				}
			}
			src := newMemSource([]outputs.Batch{pulseBatch(1, evs...), pulseBatch(2, "t=small after")})
			runUntil(t, k, src, 2)
			recs := kf.Records(t, tc.want)
			if got := len(recs) - before; got != 51 {
				t.Errorf("%d records delivered, want 51", got)
			}
			s := k.Stats()
			if s.DeadRecords != 1 || s.Errors["message_too_large"] == 0 {
				t.Errorf("stats = %+v", s)
			}
			reasons, _ := filepath.Glob(filepath.Join(dir, "*.reason"))
			letters, _ := filepath.Glob(filepath.Join(dir, "*.batch"))
			if len(reasons) != 1 || len(letters) != 1 {
				t.Fatalf("%d reasons and %d batches in the dead letters, want 1 each", len(reasons), len(letters))
			}
			reason, _ := os.ReadFile(reasons[0])
			if !strings.Contains(string(reason), "MESSAGE_TOO_LARGE") || !strings.Contains(string(reason), "events: 1") {
				t.Errorf("reason:\n%s", reason)
			}
			letter, _ := os.ReadFile(letters[0])
			var got []string
			if err := EachRecord(letter, func(r []byte) { got = append(got, string(r)) }); err != nil || len(got) != 1 || got[0] != "t=small "+big {
				t.Errorf("dead letter holds %d records (%v)", len(got), err)
			}
		})
	}
}

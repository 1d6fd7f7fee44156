package kafka

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"pulse/event"
	"pulse/testenv"
)

func TestWithBroker(t *testing.T) {
	kf := testenv.StartKafka(t, 1)
	t.Run("CommitAfterStored", func(t *testing.T) { testCommitAfterStored(t, kf) })
	t.Run("BadRecords", func(t *testing.T) { testBadRecords(t, kf) })
	t.Run("RebalanceDrains", func(t *testing.T) { testRebalanceDrains(t, kf) })
}

// produce writes values to topic, round the partitions, over the
// brokers' PLAINTEXT listener (a secure cluster's too).
func produce(t *testing.T, kf *testenv.Kafka, topic string, values []string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kf.PlainBrokers()...), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Topic: topic, Value: []byte(v)}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// committed returns the sum of the group's committed offsets on topic.
func committed(t *testing.T, kf *testenv.Kafka, group, topic string) int64 {
	t.Helper()
	sum, err := fetchCommitted(t, kf, group, topic)
	if err != nil {
		t.Fatalf("fetch offsets: %v", err)
	}
	return sum
}

// committedOrUnknown is committed, or -1 while the brokers cannot tell
// (the offsets topic is created at a group's first use).
func committedOrUnknown(t *testing.T, kf *testenv.Kafka, group, topic string) int64 {
	t.Helper()
	sum, err := fetchCommitted(t, kf, group, topic)
	if err != nil {
		return -1
	}
	return sum
}

// fetchCommitted sums the group's committed offsets on topic, asked over
// the PLAINTEXT listener.
func fetchCommitted(t *testing.T, kf *testenv.Kafka, group, topic string) (int64, error) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kf.PlainBrokers()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err != nil {
		return 0, err
	}
	var sum int64
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.Err == nil && o.At > 0 {
			sum += o.At
		}
	})
	return sum, nil
}

// recorder is an Emit that keeps every event and the batches' Commits.
type recorder struct {
	mu      sync.Mutex
	events  []string
	commits []func()
	// hold, if set, keeps Commits for the test to call; else they run
	// after delay, from another goroutine, as the pipeline calls them.
	hold  bool
	delay time.Duration
	wg    sync.WaitGroup
}

func (r *recorder) emit(_ context.Context, b *event.Batch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range b.Events {
		r.events = append(r.events, string(ev))
	}
	if !b.Replayable || b.Commit == nil {
		panic("a kafka batch is replayable and has a Commit")
	}
	if r.hold {
		r.commits = append(r.commits, b.Commit)
		return nil
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		time.Sleep(r.delay)
		b.Commit()
	}()
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func newInput(t *testing.T, kf *testenv.Kafka, topic, group, format string) *Input {
	t.Helper()
	in, err := New(Options{Name: group, Brokers: kf.Brokers(), Topics: []string{topic}, Group: group, Format: format,
		SessionTimeout: 6 * time.Second, DrainTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// start runs in until the returned stop is called; stop waits for Run.
func start(t *testing.T, in *Input, emit event.Emit) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, emit) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// Offsets move only once the batches are stored: none while the Commits
// are held, all of them once they run.
func testCommitAfterStored(t *testing.T, kf *testenv.Kafka) {
	const n = 3000
	kf.CreateTopic(t, "commit", 3, 1, nil)
	var vals []string
	for i := range n {
		vals = append(vals, "id="+strconv.Itoa(i))
	}
	produce(t, kf, "commit", vals)
	rec := &recorder{hold: true}
	in := newInput(t, kf, "commit", "g-commit", FormatLines)
	stop := start(t, in, rec.emit)
	testenv.WaitFor(t, time.Minute, "every record emitted", func() bool { return rec.count() == n })
	time.Sleep(3 * commitEvery) // room for a wrong commit to happen
	if c := committed(t, kf, "g-commit", "commit"); c != 0 {
		t.Fatalf("offsets committed before any batch was stored: %d", c)
	}
	rec.mu.Lock()
	commits := rec.commits
	rec.mu.Unlock()
	// In reverse: the marks wait for the first ones.
	for i := len(commits) - 1; i > 0; i-- {
		commits[i]()
	}
	time.Sleep(3 * commitEvery)
	if c := committed(t, kf, "g-commit", "commit"); c >= n {
		t.Fatalf("all %d committed with the first batches not stored", c)
	}
	commits[0]()
	testenv.WaitFor(t, 30*time.Second, "all offsets committed", func() bool { return committed(t, kf, "g-commit", "commit") == n })
	stop()
	if s := in.Stats(); s.Records != n || s.Commits == 0 || len(s.Bad) != 0 {
		t.Errorf("stats = %+v", s)
	}
}

// A record that does not decode is counted and skipped, and the offset
// moves past it.
func testBadRecords(t *testing.T, kf *testenv.Kafka) {
	kf.CreateTopic(t, "bad", 1, 1, nil)
	produce(t, kf, "bad", []string{`{"a":1}`, `not json`, ``, `{"b":2}` + "\n", `[3]`})
	rec := &recorder{}
	in := newInput(t, kf, "bad", "g-bad", FormatNDJSON)
	stop := start(t, in, rec.emit)
	testenv.WaitFor(t, time.Minute, "committed past the bad records", func() bool { return committed(t, kf, "g-bad", "bad") == 5 })
	stop()
	rec.wg.Wait()
	if fmt.Sprint(rec.events) != `[{"a":1} {"b":2}]` {
		t.Errorf("events = %q", rec.events)
	}
	s := in.Stats()
	if s.Bad[ReasonNotJSON] != 2 || s.Bad[ReasonEmpty] != 1 {
		t.Errorf("bad = %v", s.Bad)
	}
}

// A second member joins while the first has batches in the pipeline: the
// revoked partitions are drained and committed before they move, so the
// second starts exactly past what the first stored — no record is read
// twice, none is missed.
func testRebalanceDrains(t *testing.T, kf *testenv.Kafka) {
	const topic, group, per, maxRounds = "rebalance", "g-rebalance", 500, 200
	kf.CreateTopic(t, topic, 6, 1, nil)
	a := &recorder{delay: 300 * time.Millisecond}
	b := &recorder{delay: 300 * time.Millisecond}
	inA := newInput(t, kf, topic, group, FormatLines)
	inB := newInput(t, kf, topic, group, FormatLines)
	stopA := start(t, inA, a.emit)
	var stopB func()
	// Records keep coming until the second member has read some of them
	// for a while (at most maxRounds rounds).
	rounds, since := 0, -1
	for ; rounds < maxRounds && (since < 0 || rounds-since < 10); rounds++ {
		var vals []string
		for i := range per {
			vals = append(vals, fmt.Sprintf("id=%d", rounds*per+i))
		}
		produce(t, kf, topic, vals)
		switch {
		case rounds == 5:
			testenv.WaitFor(t, time.Minute, "the first member reading", func() bool { return a.count() > 0 })
			stopB = start(t, inB, b.emit)
		case stopB != nil && since < 0 && b.count() > 0:
			since = rounds
		}
		time.Sleep(50 * time.Millisecond)
	}
	n := rounds * per
	testenv.WaitFor(t, 2*time.Minute, "every record read", func() bool { return a.count()+b.count() >= n })
	testenv.WaitFor(t, time.Minute, "every offset committed", func() bool { return committed(t, kf, group, topic) == int64(n) })
	stopB()
	stopA()
	a.wg.Wait()
	b.wg.Wait()
	seen := map[string]int{}
	for _, ev := range append(a.events, b.events...) {
		seen[ev]++
	}
	dups := 0
	for _, c := range seen {
		dups += c - 1
	}
	sa, sb := inA.Stats(), inB.Stats()
	t.Logf("first member: %d records, %d partitions revoked; second: %d records; %d distinct, %d duplicates",
		sa.Records, sa.Revoked, sb.Records, len(seen), dups)
	if len(seen) != n || dups != 0 {
		t.Errorf("%d distinct of %d, %d duplicates; want all once", len(seen), n, dups)
	}
	if sa.Revoked == 0 || sb.Records == 0 || sa.Undrained != 0 || sa.Lost != 0 {
		t.Errorf("no clean rebalance: first %+v, second %+v", sa, sb)
	}
}

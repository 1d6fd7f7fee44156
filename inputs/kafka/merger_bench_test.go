package kafka

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"pulse/event"
	"pulse/merger"
	"pulse/metrics"
	"pulse/testenv"
)

// benchFragments builds n encoded fragments: keys × agents × windows of
// counters and measures (a measure's sketch of a few dozen values), in
// windows long closed, and their record keys.
func benchFragments(keys, agents, windows int) (vals, recKeys [][]byte) {
	base := time.Now().Add(-2 * time.Hour).Truncate(10 * time.Second)
	for w := range windows {
		start := base.Add(time.Duration(w) * 10 * time.Second)
		for a := range agents {
			agg := metrics.NewAggregator(metrics.AggOptions{Agent: fmt.Sprintf("agent-%d", a), Window: 10 * time.Second,
				LateWindows: 1 << 20, Grace: -1, Now: func() time.Time { return start },
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			for k := range keys {
				kind := metrics.Counter
				if k%2 == 0 {
					kind = metrics.Measure
				}
				key := metrics.Key{Name: "bench." + kind.String(), Kind: kind, Unit: "ms", Dims: []metrics.Dim{{Name: "k", Value: fmt.Sprint(k)}}}
				for v := range 20 {
					agg.Observe(key, float64(1+(k*7+v*13)%500), start.Add(time.Duration(v)*time.Millisecond), nil)
				}
			}
			for _, f := range agg.FlushAll() {
				vals = append(vals, metrics.AppendFragment(nil, f))
				recKeys = append(recKeys, f.Key.AppendCanonical(nil))
			}
		}
	}
	return vals, recKeys
}

// BenchmarkMergerLog measures how fast mergers take fragments from Kafka:
// a real broker holds a backlog of fragments on 6 partitions, and 1, then
// 3 merger.Groups over MergerLogs (in this process, one consumer group per
// iteration) consume and merge all of it — snapshots and commits
// included, emission into a discarding sink. fragments/s is the group's,
// fragments/s/merger that divided by the members. Run it with
//
//	go test ./inputs/kafka -run '^$' -bench BenchmarkMergerLog -benchtime 3x
func BenchmarkMergerLog(b *testing.B) {
	k := testenv.StartKafka(b, 1)
	k.CreateTopic(b, "fragments", 6, 1, nil)
	vals, keys := benchFragments(2000, 4, 25) // 200,000 fragments
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers()...), kgo.DefaultProduceTopic("fragments"), kgo.ProducerBatchMaxBytes(1<<20))
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]*kgo.Record, len(vals))
	var bytes int
	for i := range vals {
		recs[i] = &kgo.Record{Key: keys[i], Value: vals[i]}
		bytes += len(vals[i])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}
	cl.Close()
	b.Logf("%d fragments, %.1f MiB, on 6 partitions; GOMAXPROCS %d", len(vals), float64(bytes)/(1<<20), runtime.GOMAXPROCS(0))

	group := 0
	for _, members := range []int{1, 3} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			var took time.Duration
			var read uint64
			for range b.N {
				group++
				d, r := consumeAll(b, k.Brokers(), fmt.Sprintf("bench-%d", group), members)
				took += d
				read += r
			}
			total := float64(len(vals)) * float64(b.N) / took.Seconds()
			b.ReportMetric(total, "fragments/s")
			b.ReportMetric(total/float64(members), "fragments/s/merger")
			b.ReportMetric(float64(read)/float64(len(vals)*b.N), "reads/fragment")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// consumeAll runs members Groups in group until the group has committed
// every partition to its end — every fragment merged, every window
// finalized and emitted — and returns how long that took and how many
// records the members read (more than the fragments when a rebalance
// made a member replay what another had read).
func consumeAll(b *testing.B, brokers []string, group string, members int) (time.Duration, uint64) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	discard := func(_ context.Context, bt *event.Batch) error { bt.Commit(); return nil }
	ctx, cancel := context.WithCancel(context.Background())
	groups := make([]*merger.Group, members)
	done := make(chan error, members)
	start := time.Now()
	for i := range groups {
		log, err := NewMergerLog(Options{Name: fmt.Sprintf("m%d", i), Brokers: brokers, Topics: []string{"fragments"}, Group: group, SessionTimeout: 6 * time.Second, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		groups[i], err = merger.NewGroup(merger.GroupOptions{Log: log, Interval: 200 * time.Millisecond, FinalizeAfter: time.Minute, Emit: discard, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		go func() { done <- groups[i].Run(ctx) }()
	}
	adm, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		b.Fatal(err)
	}
	defer adm.Close()
	testenv.WaitFor(b, 5*time.Minute, "the group committed at the end", func() bool { return committedAtEnd(kadm.NewClient(adm), group, "fragments") })
	took := time.Since(start)
	cancel()
	for range groups {
		if err := <-done; err != nil {
			b.Error(err)
		}
	}
	var read uint64
	for _, g := range groups {
		read += g.Stats().Records
	}
	return took, read
}

// committedAtEnd reports whether group's commits of topic are at its end.
func committedAtEnd(adm *kadm.Client, group, topic string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return false
	}
	got, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return false
	}
	ok := true
	ends.Each(func(e kadm.ListedOffset) {
		if c, found := got.Lookup(topic, e.Partition); !found || c.At != e.Offset {
			ok = false
		}
	})
	return ok
}

package kafka

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"pulse/event"
	"pulse/merger"
	"pulse/metrics"
	"pulse/testenv"
)

// mergerWindow is the windows' length in these tests.
const mergerWindow = time.Second

// mergerFragGen makes fragments of a few counter and measure keys, from several
// agents, for chosen windows, and the reference they merge into.
type mergerFragGen struct {
	rng  *rand.Rand
	now  time.Time
	aggs []*metrics.Aggregator
	ref  map[string]*mergerRef
}

// mergerRef is what a key and window must show.
type mergerRef struct {
	count    uint64
	sum      float64
	min, max float64
}

func newMergerFragGen(seed uint64, agents int) *mergerFragGen {
	g := &mergerFragGen{rng: rand.New(rand.NewPCG(seed, 1)), ref: map[string]*mergerRef{}}
	for a := range agents {
		g.aggs = append(g.aggs, metrics.NewAggregator(metrics.AggOptions{
			Agent: fmt.Sprintf("agent-%d", a), Window: mergerWindow, LateWindows: 1 << 20, Grace: -1,
			Now:    func() time.Time { return g.now },
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		}))
	}
	return g
}

// frags observes n values in window start (a window's start) over 40 keys
// and returns the encoded fragments, each agent flushing twice.
func (g *mergerFragGen) frags(start time.Time, n int) [][]byte {
	g.now = start
	var out [][]byte
	for i := range n {
		a := g.aggs[g.rng.IntN(len(g.aggs))]
		kind := metrics.Counter
		if i%2 == 0 {
			kind = metrics.Measure
		}
		k := metrics.Key{Name: "m" + kind.String(), Kind: kind, Dims: []metrics.Dim{{Name: "k", Value: fmt.Sprint(g.rng.IntN(20))}}}
		v := float64(1 + g.rng.IntN(1000))
		t := start.Add(time.Duration(g.rng.Int64N(int64(mergerWindow))))
		a.Observe(k, v, t, nil)
		sk := mergerSeries(k, metrics.WindowAt(t, mergerWindow).Start)
		r := g.ref[sk]
		if r == nil {
			r = &mergerRef{min: v, max: v}
			g.ref[sk] = r
		}
		r.count++
		r.sum += v
		r.min, r.max = min(r.min, v), max(r.max, v)
		if i == n/2 || i == n-1 {
			for _, a := range g.aggs {
				for _, f := range a.FlushAll() {
					out = append(out, metrics.AppendFragment(nil, f))
				}
			}
		}
	}
	return out
}

func mergerSeries(k metrics.Key, start time.Time) string {
	return k.String() + "@" + start.UTC().Format(time.RFC3339Nano)
}

// produceFragments writes fragments keyed by metric key, as the kafka output does,
// and dups of them again.
func produceFragments(t *testing.T, brokers []string, topic string, frags [][]byte, dups int, rng *rand.Rand) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, 0, len(frags)+dups)
	for i := range len(frags) + dups {
		v := frags[i%len(frags)]
		if i >= len(frags) {
			v = frags[rng.IntN(len(frags))]
		}
		f, err := metrics.DecodeFragment(v)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Key: f.Key.AppendCanonical(nil), Value: v})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// mergerFinals records the final snapshots a member emits.
type mergerFinals struct {
	mu     sync.Mutex
	finals map[string]metrics.Snapshot
	all    int
}

func (s *mergerFinals) emit(_ context.Context, b *event.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range b.Events {
		var sn metrics.Snapshot
		if err := sn.UnmarshalJSON(ev); err != nil {
			return err
		}
		s.all++
		if sn.Final {
			k := metrics.Key{Name: sn.Name, Kind: sn.Kind, Unit: sn.Unit, Dims: sn.Dims}
			s.finals[mergerSeries(k, sn.WindowStart)] = sn
		}
	}
	b.Commit()
	return nil
}

func (s *mergerFinals) get() map[string]metrics.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]metrics.Snapshot, len(s.finals))
	for k, v := range s.finals {
		out[k] = v
	}
	return out
}

// mergerMember is one merger.Group over a MergerLog.
type mergerMember struct {
	name string
	*merger.Group
	sink *mergerFinals
	stop context.CancelFunc
	done chan error
}

func startMergerMember(t *testing.T, brokers []string, name string, finalize time.Duration) *mergerMember {
	t.Helper()
	log, err := NewMergerLog(Options{Name: name, Brokers: brokers, Topics: []string{"fragments"}, Group: "mergers", SessionTimeout: 6 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	m := &mergerMember{name: name, sink: &mergerFinals{finals: map[string]metrics.Snapshot{}}, done: make(chan error, 1)}
	m.Group, err = merger.NewGroup(merger.GroupOptions{Log: log, Interval: 100 * time.Millisecond, FinalizeAfter: finalize, Emit: m.sink.emit,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.stop = cancel
	go func() { m.done <- m.Run(ctx) }()
	t.Cleanup(func() { m.shutdown(t) })
	return m
}

func (m *mergerMember) shutdown(t *testing.T) {
	t.Helper()
	if m.done == nil {
		return
	}
	m.stop()
	select {
	case err := <-m.done:
		if err != nil {
			t.Errorf("%s: %v", m.name, err)
		}
	case <-time.After(time.Minute):
		t.Fatalf("%s: Run did not return", m.name)
	}
	m.done = nil
}

// mergerComplete reports whether the union of finals reaches every count.
func mergerComplete(ref map[string]*mergerRef, finals ...map[string]metrics.Snapshot) bool {
	for k, r := range ref {
		var n uint64
		for _, f := range finals {
			n += f[k].Count
		}
		if n < r.count {
			return false
		}
	}
	return true
}

// TestMergerLogRebalance runs merger.Groups over MergerLogs on a real
// broker: a first member replays a backlog of old windows, finalizes them
// and commits the topic's end with its closed horizon; a second member
// joins and the group balances (cooperative: the first member revokes,
// commits and drops what moves); windows produced after are each
// finalized by the one member holding their key's partition; when the
// second leaves, its partitions go back to the first without a replay of
// anything final. Counts, sums, minima and maxima are exact, and no key
// and window is finalized by both.
func TestMergerLogRebalance(t *testing.T) {
	k := testenv.StartKafka(t, 1)
	k.CreateTopic(t, "fragments", 4, 1, nil)
	gen := newMergerFragGen(1, 3)
	rng := rand.New(rand.NewPCG(2, 3))

	// A backlog of windows long closed: final at the first interval after
	// the replay.
	old := time.Now().Add(-time.Hour).Truncate(mergerWindow)
	var backlog [][]byte
	for w := range 3 {
		backlog = append(backlog, gen.frags(old.Add(time.Duration(w)*mergerWindow), 600)...)
	}
	produceFragments(t, k.Brokers(), "fragments", backlog, 100, rng)
	oldRef := len(gen.ref)

	const finalize = 2 * time.Second
	a := startMergerMember(t, k.Brokers(), "a", finalize)
	testenv.WaitFor(t, 2*time.Minute, "a finalized the backlog", func() bool { return mergerComplete(gen.ref, a.sink.get()) })
	checkMergerCommitted(t, k.Brokers(), "mergers", "fragments")

	b := startMergerMember(t, k.Brokers(), "b", finalize)
	testenv.WaitFor(t, 2*time.Minute, "the group balanced over a and b", func() bool {
		sa, sb := a.Stats(), b.Stats()
		return sa.Partitions > 0 && sb.Partitions > 0 && sa.Partitions+sb.Partitions == 4 && sa.Replaying+sb.Replaying == 0
	})
	// Windows a few seconds ahead: open for a while whatever the load.
	ahead := time.Now().Add(5 * time.Second).Truncate(mergerWindow)
	var live [][]byte
	for w := range 3 {
		live = append(live, gen.frags(ahead.Add(time.Duration(w)*mergerWindow), 600)...)
	}
	produceFragments(t, k.Brokers(), "fragments", live, 100, rng)
	testenv.WaitFor(t, 2*time.Minute, "every window finalized", func() bool { return mergerComplete(gen.ref, a.sink.get(), b.sink.get()) })

	fa, fb := a.sink.get(), b.sink.get()
	for key, r := range gen.ref {
		sa, inA := fa[key]
		sb, inB := fb[key]
		s := sa
		switch {
		case inA && inB:
			t.Errorf("%s finalized by both members (counts %d and %d)", key, sa.Count, sb.Count)
			continue
		case inB:
			s = sb
		case !inA:
			t.Errorf("%s: no final snapshot", key)
			continue
		}
		if s.Count != r.count || s.Sum != r.sum || s.Min != r.min || s.Max != r.max {
			t.Errorf("%s: count %d sum %v min %v max %v, want %d %v %v %v", key, s.Count, s.Sum, s.Min, s.Max, r.count, r.sum, r.min, r.max)
		}
	}
	if len(fb) == 0 || len(fa) <= oldRef {
		t.Errorf("finals: a %d (backlog %d), b %d: want live windows on both", len(fa), oldRef, len(fb))
	}
	sa := a.Stats()
	b.shutdown(t)
	testenv.WaitFor(t, 2*time.Minute, "a holds every partition again", func() bool { return a.Stats().Partitions == 4 && a.Stats().Replaying == 0 })
	checkMergerCommitted(t, k.Brokers(), "mergers", "fragments")
	for _, m := range []*mergerMember{a, b} {
		st := m.Stats()
		t.Logf("%s: %+v", m.name, st)
		if st.TooLate != 0 || st.BadRecords != 0 || st.StrayRecords != 0 || st.Invalid != 0 {
			t.Errorf("%s: stats %+v: want nothing too late, bad, stray or invalid", m.name, st)
		}
	}
	if got := a.Stats().Records; got != sa.Records {
		t.Errorf("a took back b's partitions and read %d records again: their commits are at the end", got-sa.Records)
	}
}

// checkMergerCommitted waits until the group's committed offsets of topic are
// at its end, each with a closed horizon in its metadata.
func checkMergerCommitted(t *testing.T, brokers []string, group, topic string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var last string
	if !testenv.Eventually(time.Minute, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			last = err.Error()
			return false
		}
		got, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			last = err.Error()
			return false
		}
		ok := true
		ends.Each(func(e kadm.ListedOffset) {
			c, found := got.Lookup(topic, e.Partition)
			if !found || c.At != e.Offset || len(c.Metadata) <= len("pulse-merger/1 closed=") {
				last = fmt.Sprintf("partition %d: committed %+v, end %d", e.Partition, c, e.Offset)
				ok = false
			}
		})
		return ok
	}) {
		t.Fatalf("committed offsets not at the end with a horizon: %s", last)
	}
}

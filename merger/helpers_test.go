package merger

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pulse/event"
	"pulse/metrics"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// seriesKey identifies a key and window in tests: name, dims and window
// start.
func seriesKey(name string, dims []metrics.Dim, start time.Time) string {
	var b strings.Builder
	b.WriteString(name)
	for _, d := range dims {
		fmt.Fprintf(&b, ",%s=%s", d.Name, d.Value)
	}
	fmt.Fprintf(&b, "@%d", start.UnixNano())
	return b.String()
}

// refSeries is what a key and window must show: computed from the raw
// observations, not from fragments.
type refSeries struct {
	kind     metrics.Kind
	values   []float64
	sum      float64
	sumSq    float64
	agents   map[string]bool
	distinct map[string]bool
	last     float64
	lastTime time.Time
}

func (r *refSeries) observe(agent string, v float64, t time.Time, raw string) {
	if len(r.values) == 0 || t.After(r.lastTime) || (t.Equal(r.lastTime) && v > r.last) {
		r.last, r.lastTime = v, t
	}
	r.values = append(r.values, v)
	r.sum += v
	r.sumSq += v * v
	r.agents[agent] = true
	r.distinct[raw] = true
}

// workload is a set of fragments from several agents and the reference
// they must merge into.
type workload struct {
	frags [][]byte // encoded fragments, each unique
	ref   map[string]*refSeries
}

// testSeries are the metrics observed: one of each kind, some with
// dimensions.
var testSeries = []struct {
	name string
	kind metrics.Kind
	unit string
	dims []metrics.Dim
}{
	{"router.service", metrics.Measure, "ms", []metrics.Dim{{Name: "dyno", Value: "web"}}},
	{"router.service", metrics.Measure, "ms", []metrics.Dim{{Name: "dyno", Value: "worker"}}},
	{"router.requests", metrics.Counter, "", []metrics.Dim{{Name: "status", Value: "2xx"}}},
	{"router.requests", metrics.Counter, "", []metrics.Dim{{Name: "status", Value: "5xx"}}},
	{"load.avg", metrics.Sample, "", nil},
	{"users", metrics.Unique, "", nil},
}

const testWindow = 10 * time.Second

// newWorkload observes n values spread over windows of testWindow from
// base into aggregators of the given number of agents, flushing each
// aggregator several times, so that one agent sends several fragments of
// a key and window. Values are integers or quarters: sums are exact in
// any order.
func newWorkload(rng *rand.Rand, base time.Time, agents, windows, n, flushes int) *workload {
	base = base.Truncate(testWindow)
	now := base.Add(time.Duration(windows) * testWindow)
	w := &workload{ref: make(map[string]*refSeries)}
	aggs := make([]*metrics.Aggregator, agents)
	for a := range aggs {
		aggs[a] = metrics.NewAggregator(metrics.AggOptions{
			Agent:       fmt.Sprintf("agent-%d", a),
			Window:      testWindow,
			LateWindows: windows + 1,
			Grace:       -1,
			Now:         func() time.Time { return now },
			Logger:      quietLogger(),
		})
	}
	for i := range n {
		a := rng.IntN(agents)
		s := testSeries[rng.IntN(len(testSeries))]
		t := base.Add(time.Duration(rng.Int64N(int64(windows)*int64(testWindow/time.Millisecond))) * time.Millisecond)
		var v float64
		switch s.kind {
		case metrics.Measure:
			v = float64(1 + rng.IntN(5000))
		case metrics.Counter:
			v = float64(1 + rng.IntN(3))
		case metrics.Sample:
			v = float64(rng.IntN(64)) / 4
		case metrics.Unique:
			v = 1
		}
		raw := fmt.Sprintf("user-%d", rng.IntN(40))
		k := metrics.Key{Name: s.name, Kind: s.kind, Unit: s.unit, Dims: slices.Clone(s.dims)}
		aggs[a].Observe(k, v, t, []byte(raw))
		sk := seriesKey(s.name, s.dims, metrics.WindowAt(t, testWindow).Start)
		r := w.ref[sk]
		if r == nil {
			r = &refSeries{kind: s.kind, agents: map[string]bool{}, distinct: map[string]bool{}}
			w.ref[sk] = r
		}
		r.observe(fmt.Sprintf("agent-%d", a), v, t, raw)
		if (i+1)%(n/flushes+1) == 0 || i == n-1 {
			for _, agg := range aggs {
				for _, f := range agg.FlushAll() {
					w.frags = append(w.frags, metrics.AppendFragment(nil, f))
				}
			}
		}
	}
	return w
}

// batches cuts the fragments, shuffled, into batches of 1 to maxSize, then
// adds dups batches made of fragments already sent (retries, and
// fragments sent again in another grouping), at random places.
func (w *workload) batches(rng *rand.Rand, maxSize, dups int) [][][]byte {
	frags := slices.Clone(w.frags)
	rng.Shuffle(len(frags), func(i, j int) { frags[i], frags[j] = frags[j], frags[i] })
	var out [][][]byte
	for len(frags) > 0 {
		n := min(1+rng.IntN(maxSize), len(frags))
		out = append(out, frags[:n])
		frags = frags[n:]
	}
	for range dups {
		var b [][]byte
		if rng.IntN(2) == 0 {
			b = out[rng.IntN(len(out))] // the same batch again
		} else {
			for range 1 + rng.IntN(maxSize) {
				b = append(b, w.frags[rng.IntN(len(w.frags))])
			}
		}
		i := rng.IntN(len(out) + 1)
		out = slices.Insert(out, i, b)
	}
	return out
}

// snapshotSink is a recording snapshot Emit: it keeps the latest snapshot
// of every key and window, and commits each batch.
type snapshotSink struct {
	mu      sync.Mutex
	latest  map[string]metrics.Snapshot
	n       int   // snapshots received
	batches int   // batches received
	err     error // the first bad event
}

func newSnapshotSink() *snapshotSink {
	return &snapshotSink{latest: make(map[string]metrics.Snapshot)}
}

func (s *snapshotSink) emit(_ context.Context, b *event.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.Input != "merger" || b.Source != "snapshots" {
		s.err = cmp.Or(s.err, fmt.Errorf("batch from %q/%q", b.Input, b.Source))
	}
	s.batches++
	for _, ev := range b.Events {
		s.add(ev)
	}
	if b.Commit != nil {
		b.Commit()
	}
	return nil
}

func (s *snapshotSink) add(ev []byte) {
	var snap metrics.Snapshot
	if err := snap.UnmarshalJSON(ev); err != nil {
		s.err = cmp.Or(s.err, fmt.Errorf("event %q: %w", ev, err))
		return
	}
	s.n++
	s.latest[seriesKey(snap.Name, snap.Dims, snap.WindowStart)] = snap
}

func (s *snapshotSink) snapshot() (map[string]metrics.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.latest), s.err
}

// complete reports whether got has a snapshot of every series in ref with
// its full count.
func complete(got map[string]metrics.Snapshot, ref map[string]*refSeries) bool {
	for k, r := range ref {
		if got[k].Count != uint64(len(r.values)) {
			return false
		}
	}
	return true
}

// checkSnapshots compares the latest snapshots with the reference: count,
// sum, min, max, mean, last and agents exactly, quantiles within the
// sketch's 1%, the unique count within HyperLogLog's error, and no series
// missing or extra.
func checkSnapshots(t testing.TB, got map[string]metrics.Snapshot, ref map[string]*refSeries) {
	t.Helper()
	if len(got) != len(ref) {
		t.Errorf("%d series in snapshots, want %d", len(got), len(ref))
	}
	for k, r := range ref {
		s, ok := got[k]
		if !ok {
			t.Errorf("%s: no snapshot", k)
			continue
		}
		vals := slices.Clone(r.values)
		slices.Sort(vals)
		n := uint64(len(vals))
		if s.Kind != r.kind || s.Count != n || s.Sum != r.sum || s.Min != vals[0] || s.Max != vals[n-1] ||
			s.Mean != r.sum/float64(n) || s.Agents != len(r.agents) {
			t.Errorf("%s: got %s count %d sum %v min %v max %v mean %v agents %d; want %s %d %v %v %v %v %d",
				k, s.Kind, s.Count, s.Sum, s.Min, s.Max, s.Mean, s.Agents,
				r.kind, n, r.sum, vals[0], vals[n-1], r.sum/float64(n), len(r.agents))
		}
		mean := r.sum / float64(n)
		if sd := math.Sqrt(max(r.sumSq/float64(n)-mean*mean, 0)); math.Abs(s.Stddev-sd) > 1e-9*max(1, sd) {
			t.Errorf("%s: stddev %v, want %v", k, s.Stddev, sd)
		}
		switch r.kind {
		case metrics.Measure:
			for _, q := range []struct {
				q   float64
				got float64
			}{{0.50, s.P50}, {0.90, s.P90}, {0.95, s.P95}, {0.99, s.P99}} {
				want := vals[int(math.Floor(q.q*float64(n-1)))]
				if math.Abs(q.got-want) > 0.01*want+1e-9 {
					t.Errorf("%s: p%v %v, want %v within 1%%", k, q.q*100, q.got, want)
				}
			}
		case metrics.Unique:
			want := float64(len(r.distinct))
			if math.Abs(float64(s.Unique)-want) > max(1, 0.02*want) {
				t.Errorf("%s: unique %d, want %v", k, s.Unique, want)
			}
		case metrics.Sample:
			if s.Last != r.last || !s.LastTime.Equal(r.lastTime) {
				t.Errorf("%s: last %v at %v, want %v at %v", k, s.Last, s.LastTime, r.last, r.lastTime)
			}
		}
	}
	for k := range got {
		if ref[k] == nil {
			t.Errorf("%s: snapshot of a series never observed", k)
		}
	}
}

// runMerger runs m until the test ends (or stop is called) and checks
// that Run returns nil.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func runMerger(t testing.TB, m *Merger) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- m.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t testing.TB) {
	t.Helper()
	if r.done == nil {
		return
	}
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	r.done = nil
}

// newTestMerger opens a Merger in dir with short periods for tests.
func newTestMerger(t testing.TB, dir string, emit event.Emit) *Merger {
	t.Helper()
	m, err := New(Options{
		Dir:             dir,
		Interval:        20 * time.Millisecond,
		CheckpointEvery: 10 * time.Millisecond,
		FinalizeAfter:   24 * time.Hour,
		MaxBufferBytes:  4 << 20,
		Emit:            emit,
		Logger:          quietLogger(),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// emitBatch emits one batch of records into m and reports whether it was
// committed.
func emitBatch(ctx context.Context, m *Merger, recs [][]byte) (committed bool, err error) {
	b := &event.Batch{Input: "in", Source: "test", Time: time.Now(), Events: recs, Commit: func() { committed = true }}
	err = m.Emit(ctx, b)
	return committed, err
}

package merger

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"pulse/event"
	"pulse/metrics"
	"pulse/testenv"
)

// benchFragments returns n encoded fragments of keys distinct keys (of
// kind), each from its own agent and id, so that every one is merged.
func benchFragments(tb testing.TB, kind metrics.Kind, keys, n int) [][]byte {
	tb.Helper()
	now := time.Now().Add(-time.Hour)
	agg := metrics.NewAggregator(metrics.AggOptions{
		Agent: "template", Window: testWindow, Grace: -1,
		Now: func() time.Time { return now }, Logger: quietLogger(),
	})
	rng := rand.New(rand.NewPCG(41, 42))
	for i := range keys {
		k := metrics.Key{Name: "bench", Kind: kind, Unit: "ms", Dims: []metrics.Dim{{Name: "route", Value: fmt.Sprint(i)}}}
		for range 20 { // a sketch with some spread, as a busy key's fragment has
			agg.Observe(k, float64(1+rng.IntN(2000)), now, nil)
		}
	}
	var templates []*metrics.Fragment
	for _, f := range agg.FlushAll() {
		// Through the codec: the decoded form is what Run merges.
		d, err := metrics.DecodeFragment(metrics.AppendFragment(nil, f))
		if err != nil {
			tb.Fatal(err)
		}
		templates = append(templates, d)
	}
	out := make([][]byte, n)
	for i := range out {
		f := templates[i%len(templates)]
		f.Agent, f.ID = fmt.Sprintf("agent-%d", i/len(templates)%500), uint64(i)
		out[i] = metrics.AppendFragment(nil, f)
	}
	return out
}

// BenchmarkEmitMerge measures fragments per second through the stage:
// Emit (decode to validate, store in the buffer), Run (take from the
// buffer, decode, Add), checkpoints every second. Batches of 1,000
// fragments into 10,000 keys. An op is one fragment.
func BenchmarkEmitMerge(b *testing.B) {
	for _, kind := range []metrics.Kind{metrics.Counter, metrics.Measure} {
		b.Run(kind.String(), func(b *testing.B) {
			const batch = 1000
			frags := benchFragments(b, kind, 10000, b.N)
			m, err := New(Options{Dir: b.TempDir(), Emit: func(_ context.Context, bt *event.Batch) error {
				bt.Commit()
				return nil
			}, Interval: time.Hour, FinalizeAfter: 24 * time.Hour, Logger: quietLogger()})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			r := runMerger(b, m)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < len(frags); i += batch {
				bt := &event.Batch{Input: "bench", Events: frags[i:min(i+batch, len(frags))], Commit: func() {}}
				if err := m.Emit(context.Background(), bt); err != nil {
					b.Fatal(err)
				}
			}
			testenv.WaitFor(b, 10*time.Minute, "all merged", func() bool { return m.Stats().Merged == uint64(b.N) })
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fragments/s")
			r.stop(b)
		})
	}
}

// BenchmarkCheckpoint measures one checkpoint of a state of 100,000 keys,
// each merged from two agents' fragments: Save to a tmp file, fsync,
// rename, fsync of the directory. It reports the checkpoint's size and
// the time to load it back.
func BenchmarkCheckpoint(b *testing.B) {
	for _, kind := range []metrics.Kind{metrics.Counter, metrics.Measure} {
		b.Run(kind.String()+"/100k-keys", func(b *testing.B) {
			const keys = 100_000
			state := metrics.NewMerger(metrics.MergeOptions{FinalizeAfter: 24 * time.Hour, Logger: quietLogger()})
			for _, rec := range benchFragments(b, kind, keys, 2*keys) {
				f, err := metrics.DecodeFragment(rec)
				if err != nil {
					b.Fatal(err)
				}
				state.Add(f)
			}
			if st := state.Stats(); st.Keys != keys {
				b.Fatalf("%d keys, want %d", st.Keys, keys)
			}
			path := filepath.Join(b.TempDir(), stateFile)
			var size int64
			b.ResetTimer()
			for b.Loop() {
				var err error
				if size, err = saveState(path, state); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size), "bytes")
			b.ReportMetric(float64(size)/keys, "bytes/key")

			start := time.Now()
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if _, err := metrics.LoadMerger(bufio.NewReader(f), metrics.MergeOptions{Logger: quietLogger()}); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(time.Since(start).Milliseconds()), "load-ms")
		})
	}
}

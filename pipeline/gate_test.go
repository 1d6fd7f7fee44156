package pipeline

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"pulse/metrics"
)

// A replayable batch (a file's) is committed only once the fragments of
// its events are stored too; other batches as soon as their events are.
func TestCommitWaitsForFragments(t *testing.T) {
	win := 10 * time.Second
	now := time.Date(2026, 11, 21, 10, 0, 3, 0, time.UTC) // 3 s into a window
	clock := func() time.Time { return now }
	tests := []struct {
		name       string
		replayable bool
		line       string
		gated      bool
	}{
		{"file batch with a metric", true, "2026-11-21T10:00:01Z at=info service=12ms", true},
		{"file batch without a metric", true, "2026-11-21T10:00:01Z at=debug msg=hello", false},
		{"http batch with a metric", false, "2026-11-21T10:00:01Z at=info service=12ms", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := &memSink{}
			frags := &fragSink{merger: metrics.NewMerger(metrics.MergeOptions{FinalizeAfter: time.Hour}), keys: map[string]uint64{}}
			agg := metrics.NewAggregator(metrics.AggOptions{Agent: "a", Window: win, LateWindows: 30, Grace: time.Second, IDs: &seqIDs{}, Now: clock})
			r, err := NewRouter("a", []OutputOptions{
				{Name: "events", Encoding: Lines, MaxEvents: 1, MaxBytes: 1 << 20, MaxWait: time.Hour, Sink: events},
				{Name: "mergers", Stream: "fragments", Encoding: Pulse, MaxEvents: 1, MaxBytes: 1 << 20, MaxWait: time.Hour, Sink: frags},
			}, &MetricsOptions{Aggregator: agg, Rules: []Rule{
				{Name: "service", Match: map[string]string{"at": "info"}, Value: "service", Kind: metrics.Measure},
			}})
			if err != nil {
				t.Fatal(err)
			}
			var committed atomic.Int32
			b := batchOf(tt.line)
			b.Replayable = tt.replayable
			b.Commit = func() { committed.Add(1) }
			if err := r.Emit(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			if _, n := events.all(); len(n) != 1 {
				t.Fatalf("events stored in %d batches, want 1", len(n))
			}
			if got, want := committed.Load(), int32(1); tt.gated {
				want = 0
				if got != want {
					t.Fatalf("committed %d times before the fragments were stored, want %d", got, want)
				}
			} else if got != want {
				t.Fatalf("committed %d times, want %d", got, want)
			}
			// The window is still open: nothing flushed, still held.
			if err := r.flushFragments(context.Background(), now, false); err != nil {
				t.Fatal(err)
			}
			if tt.gated && committed.Load() != 0 {
				t.Fatal("committed before the window closed")
			}
			// Closed (end 10:00:10 + grace 1 s): flushed, stored, committed.
			if err := r.flushFragments(context.Background(), now.Add(8*time.Second), false); err != nil {
				t.Fatal(err)
			}
			if committed.Load() != 1 {
				t.Fatalf("committed %d times after the fragments were stored, want 1", committed.Load())
			}
		})
	}
}

// A fragment batch that cannot be stored keeps the commits it covers: the
// file is read again after a restart.
func TestCommitHeldWhenFragmentsFail(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 3, 0, time.UTC)
	frags := &memSink{}
	frags.blocked.Store(true)
	agg := metrics.NewAggregator(metrics.AggOptions{Agent: "a", Window: 10 * time.Second, LateWindows: 30, Grace: time.Second, IDs: &seqIDs{}, Now: func() time.Time { return now }})
	r, err := NewRouter("a", []OutputOptions{
		{Name: "events", Encoding: Lines, MaxEvents: 1, MaxBytes: 1 << 20, MaxWait: time.Hour, Sink: &memSink{}},
		{Name: "mergers", Stream: "fragments", Encoding: Pulse, MaxEvents: 1, MaxBytes: 1 << 20, MaxWait: time.Hour, Sink: frags},
	}, &MetricsOptions{Aggregator: agg, L2met: true})
	if err != nil {
		t.Fatal(err)
	}
	var committed atomic.Int32
	b := batchOf("2026-11-21T10:00:01Z count#hits=1", "2026-11-21T10:00:02Z count#hits=2")
	b.Replayable = true
	b.Commit = func() { committed.Add(1) }
	if err := r.Emit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := r.flushFragments(ctx, now.Add(time.Minute), false); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("flush = %v, want the blocked sink's deadline", err)
	}
	if committed.Load() != 0 {
		t.Fatal("committed although its fragments were never stored")
	}
}

package merger

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"pulse/event"
	"pulse/lograte"
	"pulse/metrics"
	"pulse/testenv"
)

// A snapshot batch the outputs refuse is emitted again until they take it.
func TestSnapshotEmitRetries(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	w := newWorkload(rng, time.Now().Add(-time.Hour), 2, 2, 300, 1)
	sink := newSnapshotSink()
	var calls atomic.Int32
	flaky := func(ctx context.Context, b *event.Batch) error {
		if calls.Add(1) <= 2 {
			return errors.New("outputs closed for a moment")
		}
		return sink.emit(ctx, b)
	}
	m := newTestMerger(t, t.TempDir(), flaky)
	if _, err := emitBatch(context.Background(), m, w.frags); err != nil {
		t.Fatal(err)
	}
	runMerger(t, m)
	testenv.WaitFor(t, 10*time.Second, "snapshots complete", func() bool {
		got, _ := sink.snapshot()
		return complete(got, w.ref)
	})
	got, err := sink.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshots(t, got, w.ref)
	// The sink has them a moment before the stats count them.
	testenv.WaitFor(t, 10*time.Second, "snapshots counted", func() bool { return m.Stats().Snapshots == uint64(len(w.ref)) })
	if st := m.Stats(); st.SnapshotErrors != 2 || st.SnapshotsDropped != 0 || st.Snapshots != uint64(len(w.ref)) {
		t.Errorf("stats %+v: want 2 snapshot errors, %d snapshots", st, len(w.ref))
	}
}

// Snapshots taken but not emitted when Run stops (the outputs stayed full)
// are not recorded as sent: the next run emits them.
func TestSnapshotsUnsentAtShutdown(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	w := newWorkload(rng, time.Now().Add(-time.Hour), 2, 2, 300, 1)
	dir := t.TempDir()
	var calls atomic.Int32
	full := func(ctx context.Context, _ *event.Batch) error {
		calls.Add(1)
		<-ctx.Done()
		return ctx.Err()
	}
	m := newTestMerger(t, dir, full)
	// One batch, merged whole before the snapshots that do not get out.
	if _, err := emitBatch(context.Background(), m, w.frags); err != nil {
		t.Fatal(err)
	}
	r := runMerger(t, m)
	testenv.WaitFor(t, 10*time.Second, "snapshots emitted into full outputs", func() bool { return calls.Load() > 0 })
	r.stop(t)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.Snapshots != 0 || st.Merged != uint64(len(w.frags)) || st.Buffer.InFlight != 0 {
		t.Fatalf("stats %+v: want all merged and acknowledged, no snapshot out", st)
	}

	sink := newSnapshotSink()
	m = newTestMerger(t, dir, sink.emit)
	runMerger(t, m)
	testenv.WaitFor(t, 10*time.Second, "the snapshots emitted after the restart", func() bool {
		got, _ := sink.snapshot()
		return complete(got, w.ref)
	})
	got, err := sink.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshots(t, got, w.ref)
}

// A batch the outputs commit is counted as emitted even when Run's context
// ends before Emit returns: the outputs have it, so the stats must say so.
// (Both were ready at once and select picked either, half the time.)
func TestSnapshotCommittedAsContextEnds(t *testing.T) {
	var snapshots, batches, errs, dropped atomic.Uint64
	for i := range 200 {
		ctx, cancel := context.WithCancel(context.Background())
		s := snapshotSender{
			emit: func(_ context.Context, b *event.Batch) error {
				b.Commit()
				cancel()
				return nil
			},
			log: quietLogger(), failLog: &lograte.Limiter{Every: time.Minute},
			snapshots: &snapshots, batches: &batches, errors: &errs, dropped: &dropped,
		}
		err := s.send(ctx, time.Now(), make([]metrics.Snapshot, 3))
		cancel()
		if err != nil {
			t.Fatalf("send %d: %v, want nil: the batch was committed", i, err)
		}
	}
	if snapshots.Load() != 600 || batches.Load() != 200 || errs.Load() != 0 {
		t.Errorf("counted %d snapshots in %d batches, %d errors; want 600 in 200, 0", snapshots.Load(), batches.Load(), errs.Load())
	}
}

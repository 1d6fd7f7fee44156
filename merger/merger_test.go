package merger

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"pulse/buffer"
	"pulse/event"
	"pulse/metrics"
	"pulse/testenv"
)

// Fragments of several agents, sent in batches out of order and some
// twice, merge into snapshots equal to what the raw observations give;
// the stats count every batch and fragment.
func TestMergeExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	w := newWorkload(rng, time.Now().Add(-time.Hour), 4, 6, 4000, 5)
	batches := w.batches(rng, 12, 30)
	sink := newSnapshotSink()
	m := newTestMerger(t, t.TempDir(), sink.emit)
	run := runMerger(t, m)

	// Emit from several goroutines, as concurrent HTTP requests do.
	const senders = 4
	var wg sync.WaitGroup
	errs := make(chan error, len(batches))
	var records int
	for _, b := range batches {
		records += len(b)
	}
	for s := range senders {
		wg.Go(func() {
			for i := s; i < len(batches); i += senders {
				committed, err := emitBatch(context.Background(), m, batches[i])
				if err == nil && !committed {
					err = errors.New("Emit returned nil without Commit")
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Emit: %v", err)
	}

	testenv.WaitFor(t, 20*time.Second, "snapshots of every series with its full count", func() bool {
		got, _ := sink.snapshot()
		return complete(got, w.ref)
	})
	got, err := sink.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshots(t, got, w.ref)

	// Everything merged is checkpointed and acknowledged.
	testenv.WaitFor(t, 10*time.Second, "every batch acknowledged", func() bool {
		st := m.Stats()
		return st.Unacked == 0 && st.Buffer.InFlight == 0 && st.Buffer.Batches == 0
	})
	st := m.Stats()
	windows := map[int64]bool{}
	for _, s := range got {
		windows[s.WindowStart.UnixNano()] = true
	}
	want := Stats{
		Batches: uint64(len(batches)), Fragments: uint64(records), BatchesMerged: uint64(len(batches)),
		Merged: uint64(len(w.frags)), Duplicates: uint64(records - len(w.frags)),
		Windows: len(windows), Keys: len(w.ref), Agents: 4,
	}
	if st.Batches != want.Batches || st.Fragments != want.Fragments || st.BatchesMerged != want.BatchesMerged ||
		st.Merged != want.Merged || st.Duplicates != want.Duplicates || st.TooLate != 0 || st.Invalid != 0 ||
		st.Rejected != 0 || st.BadRecords != 0 || st.Windows != want.Windows || st.Keys != want.Keys || st.Agents != want.Agents {
		t.Errorf("stats:\n got %+v\nwant %+v", st, want)
	}
	if st.Checkpoints == 0 || st.LastCheckpoint.IsZero() || st.CheckpointBytes == 0 || st.SnapshotErrors != 0 {
		t.Errorf("checkpoint and snapshot stats %+v", st)
	}
	// A batch the sink has may not be counted yet: Emit is returning.
	run.stop(t)
	st = m.Stats()
	sink.mu.Lock()
	n, nb := sink.n, sink.batches
	sink.mu.Unlock()
	if st.Snapshots != uint64(n) || st.SnapshotBatches != uint64(nb) {
		t.Errorf("stats say %d snapshots in %d batches, the sink got %d in %d", st.Snapshots, st.SnapshotBatches, n, nb)
	}
	if fi, err := os.Stat(filepath.Join(m.opts.Dir, stateFile)); err != nil || fi.Size() != m.Stats().CheckpointBytes {
		t.Errorf("checkpoint file: %v, size %v, want %d bytes", err, fi, m.Stats().CheckpointBytes)
	}
}

// A batch with a record that is not a fragment is refused whole, with an
// error the HTTP input answers 400 to, and nothing of it is stored.
func TestEmitRejectsBadBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	w := newWorkload(rng, time.Now().Add(-time.Hour), 2, 2, 200, 1)
	good := w.frags[0]
	truncated := good[:len(good)-3]
	wrongVersion := append([]byte{9}, good[1:]...)
	huge := make([][]byte, 0, 8000)
	for len(huge) < cap(huge) {
		huge = append(huge, w.frags...)
	}
	tests := []struct {
		name    string
		recs    [][]byte
		wantErr error
	}{
		{"garbage", [][]byte{[]byte("count#requests=1")}, metrics.ErrBadFragment},
		{"empty record", [][]byte{{}}, metrics.ErrBadFragment},
		{"truncated", [][]byte{truncated}, metrics.ErrBadFragment},
		{"wrong version", [][]byte{wrongVersion}, metrics.ErrBadFragment},
		{"good then bad", [][]byte{good, w.frags[1], []byte("x")}, metrics.ErrBadFragment},
		{"over the buffer's payload limit", huge, buffer.ErrTooLarge},
	}
	m, err := New(Options{Dir: t.TempDir(), Emit: newSnapshotSink().emit, MaxBufferBytes: 1 << 20, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			committed, err := emitBatch(context.Background(), m, tc.recs)
			if !errors.Is(err, event.ErrRejected) || !errors.Is(err, tc.wantErr) {
				t.Fatalf("Emit: %v, want an error wrapping event.ErrRejected and %v", err, tc.wantErr)
			}
			st := m.Stats()
			if committed || st.Rejected != uint64(i+1) || st.Batches != 0 || st.Fragments != 0 || st.Buffer.Batches != 0 || st.Buffer.Bytes != 0 {
				t.Errorf("committed %v, stats %+v: want nothing stored, %d rejected", committed, st, i+1)
			}
		})
	}
	// An empty batch is accepted as is: committed, nothing stored.
	if committed, err := emitBatch(context.Background(), m, nil); err != nil || !committed {
		t.Errorf("empty batch: committed %v, %v", committed, err)
	}
	if committed, err := emitBatch(context.Background(), m, w.frags[:3]); err != nil || !committed {
		t.Errorf("good batch after: committed %v, %v", committed, err)
	}
	if st := m.Stats(); st.Batches != 1 || st.Fragments != 3 || st.Buffer.Batches != 1 {
		t.Errorf("stats %+v, want one batch of 3 stored", st)
	}
}

// Emit into a full buffer waits, and gives up when its context ends.
func TestEmitBlocksWhenFull(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	w := newWorkload(rng, time.Now().Add(-time.Hour), 2, 6, 3000, 10)
	m, err := New(Options{Dir: t.TempDir(), Emit: newSnapshotSink().emit, MaxBufferBytes: 1 << 20, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// Nothing runs: the buffer fills.
	var stored int
	for range 10000 {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, err := emitBatch(ctx, m, w.frags)
		cancel()
		if err != nil {
			if !errors.Is(err, buffer.ErrFull) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, event.ErrRejected) {
				t.Fatalf("Emit into a full buffer: %v, want buffer.ErrFull and the deadline", err)
			}
			break
		}
		stored++
	}
	if st := m.Stats(); stored == 0 || st.Batches != uint64(stored) || st.Buffer.Bytes > 1<<20 {
		t.Errorf("%d batches stored before the buffer filled, stats %+v", stored, st)
	}
}

// Snapshots of windows older than FinalizeAfter come out final, once;
// fragments for them arriving later are counted as too late.
func TestFinalize(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	// Two windows in the past, finalized a second from now.
	base := time.Now().Add(-3 * testWindow).Truncate(testWindow)
	w := newWorkload(rng, base, 3, 2, 500, 2)
	end := base.Add(2 * testWindow)
	sink := newSnapshotSink()
	m, err := New(Options{
		Dir: t.TempDir(), Interval: 20 * time.Millisecond, CheckpointEvery: 10 * time.Millisecond,
		FinalizeAfter: time.Since(end) + time.Second, Emit: sink.emit, Logger: quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() }) // after Run has stopped
	// Stored before Run starts: all merged before the first snapshots.
	if _, err := emitBatch(context.Background(), m, w.frags); err != nil {
		t.Fatal(err)
	}
	runMerger(t, m)
	final := func() bool {
		got, _ := sink.snapshot()
		for k := range w.ref {
			if !got[k].Final {
				return false
			}
		}
		return true
	}
	// Not final at first: the windows are still open.
	testenv.WaitFor(t, 10*time.Second, "snapshots complete", func() bool {
		got, _ := sink.snapshot()
		return complete(got, w.ref)
	})
	if final() {
		t.Fatal("windows final before FinalizeAfter")
	}
	testenv.WaitFor(t, 10*time.Second, "final snapshots of every series", final)
	got, err := sink.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshots(t, got, w.ref)
	testenv.WaitFor(t, 5*time.Second, "windows dropped", func() bool { return m.Stats().Windows == 0 })

	// Sent again: too late now, not merged, not emitted again. A batch of
	// a window still open, sent after them, shows when they have been
	// through the merge and the next snapshots.
	fresh := newWorkload(rng, time.Now(), 1, 1, 50, 1)
	if _, err := emitBatch(context.Background(), m, w.frags); err != nil {
		t.Fatal(err)
	}
	if _, err := emitBatch(context.Background(), m, fresh.frags); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "snapshots of the open window", func() bool {
		got, _ := sink.snapshot()
		return complete(got, fresh.ref)
	})
	got, err = sink.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for k := range w.ref {
		if s := got[k]; !s.Final || s.Count != uint64(len(w.ref[k].values)) {
			t.Errorf("%s: emitted again after its final snapshot: %+v", k, s)
		}
	}
	if st := m.Stats(); st.TooLate != uint64(len(w.frags)) || st.Merged != uint64(len(w.frags)+len(fresh.frags)) || st.Keys != len(fresh.ref) {
		t.Errorf("stats %+v: want %d too late, %d merged, %d keys", st, len(w.frags), len(w.frags)+len(fresh.frags), len(fresh.ref))
	}
}

// A merger stopped and opened again resumes from its checkpoint: fragments
// sent again are duplicates, new ones add up.
func TestRestartResumes(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	w := newWorkload(rng, time.Now().Add(-time.Hour), 3, 4, 2000, 4)
	half := len(w.frags) / 2
	dir := t.TempDir()

	sink := newSnapshotSink()
	m := newTestMerger(t, dir, sink.emit)
	r := runMerger(t, m)
	if _, err := emitBatch(context.Background(), m, w.frags[:half]); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "the first half merged", func() bool { return m.Stats().Merged == uint64(half) })
	r.stop(t)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	m = newTestMerger(t, dir, sink.emit)
	if st := m.Stats(); st.Merged != uint64(half) || st.Buffer.Batches != 0 {
		t.Fatalf("reopened: stats %+v, want %d merged and an empty buffer", st, half)
	}
	r = runMerger(t, m)
	if _, err := emitBatch(context.Background(), m, w.frags); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 20*time.Second, "snapshots complete", func() bool {
		got, _ := sink.snapshot()
		return complete(got, w.ref)
	})
	got, err := sink.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshots(t, got, w.ref)
	if st := m.Stats(); st.Merged != uint64(len(w.frags)) || st.Duplicates != uint64(half) {
		t.Errorf("stats %+v, want %d merged, %d duplicates", st, len(w.frags), half)
	}
	r.stop(t)
}

// A checkpoint that does not load stops New: starting empty would lose
// what it held. A stale tmp file is a checkpoint never completed.
func TestCheckpointFiles(t *testing.T) {
	dir := t.TempDir()
	m := newTestMerger(t, dir, newSnapshotSink().emit)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, stateFile)
	if err := os.WriteFile(path+".tmp", []byte("half a checkpoint"), 0o600); err != nil {
		t.Fatal(err)
	}
	m = newTestMerger(t, dir, newSnapshotSink().emit)
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale tmp checkpoint: %v, want removed", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(path, []byte("PLSM\x01garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(Options{Dir: dir, Emit: newSnapshotSink().emit, Logger: quietLogger()})
	if !errors.Is(err, metrics.ErrBadState) {
		t.Fatalf("New with a corrupt checkpoint: %v, want metrics.ErrBadState", err)
	}
	// The buffer's lock was released: with the checkpoint moved aside,
	// New succeeds.
	if err := os.Rename(path, path+".bad"); err != nil {
		t.Fatal(err)
	}
	m = newTestMerger(t, dir, newSnapshotSink().emit)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNewOptions(t *testing.T) {
	emit := newSnapshotSink().emit
	for _, o := range []Options{
		{Emit: emit},
		{Dir: t.TempDir()},
		{Dir: t.TempDir(), Emit: emit, Interval: -time.Second},
		{Dir: t.TempDir(), Emit: emit, MaxBufferBytes: 1000},
	} {
		if m, err := New(o); err == nil {
			m.Close()
			t.Errorf("New(%+v) = nil error", o)
		}
	}
	m, err := New(Options{Dir: t.TempDir(), Emit: emit})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if o := m.opts; o.Interval != 10*time.Second || o.FinalizeAfter != 6*time.Minute || o.CheckpointEvery != time.Second ||
		o.MaxBufferBytes != 256<<20 || o.Logger == nil {
		t.Errorf("defaults: %+v", o)
	}
	// One process per directory.
	if m2, err := New(Options{Dir: m.opts.Dir, Emit: emit, Logger: quietLogger()}); err == nil {
		m2.Close()
		t.Error("a second Merger opened the same directory")
	}
}

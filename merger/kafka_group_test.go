package merger

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"pulse/event"
	"pulse/metrics"
	"pulse/testenv"
)

const groupFinalize = 30 * time.Second

// groupBase is where the group tests' windows start (testWindow each).
var groupBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// windowEnd is the end of window i of the workload.
func windowEnd(i int) time.Time { return groupBase.Add(time.Duration(i+1) * testWindow) }

// dueAfter is the clock at which windows up to i are due for finalizing.
func dueAfter(i int) time.Time { return windowEnd(i).Add(groupFinalize) }

// recordedSnapshot is one snapshot a Group emitted, in emission order.
type recordedSnapshot struct {
	seq int
	metrics.Snapshot
}

// groupSink records every snapshot a Group emits.
type groupSink struct {
	mu    sync.Mutex
	snaps []recordedSnapshot
	err   error
}

func (s *groupSink) emit(_ context.Context, b *event.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range b.Events {
		var sn metrics.Snapshot
		if err := sn.UnmarshalJSON(ev); err != nil {
			s.err = err
			continue
		}
		s.snaps = append(s.snaps, recordedSnapshot{seq: len(s.snaps), Snapshot: sn})
	}
	b.Commit()
	return nil
}

// all returns the snapshots emitted so far.
func (s *groupSink) all(t testing.TB) []recordedSnapshot {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		t.Fatal(s.err)
	}
	return slices.Clone(s.snaps)
}

// finals returns the latest final snapshot of each key and window.
func (s *groupSink) finals(t testing.TB) map[string]metrics.Snapshot {
	out := map[string]metrics.Snapshot{}
	for _, sn := range s.all(t) {
		if sn.Final {
			out[seriesKey(sn.Name, sn.Dims, sn.WindowStart)] = sn.Snapshot
		}
	}
	return out
}

// testGroup is a Group over a member of a memLog, its sink and clock.
type testGroup struct {
	*Group
	m     *memMember
	sink  *groupSink
	clock *testClock
	stop  context.CancelFunc
	done  chan error
}

func startGroup(t *testing.T, l *memLog, name string, clock *testClock) *testGroup {
	t.Helper()
	tg := &testGroup{m: l.member(name), sink: &groupSink{}, clock: clock, done: make(chan error, 1)}
	g, err := NewGroup(GroupOptions{Log: tg.m, Interval: 5 * time.Millisecond, FinalizeAfter: groupFinalize, Emit: tg.sink.emit, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	g.now = clock.Now
	tg.Group = g
	ctx, cancel := context.WithCancel(context.Background())
	tg.stop = cancel
	go func() { tg.done <- g.Run(ctx) }()
	t.Cleanup(func() { tg.shutdown(t) })
	return tg
}

// shutdown ends Run, which revokes (and commits) what the member holds.
func (tg *testGroup) shutdown(t *testing.T) {
	t.Helper()
	if tg.done == nil {
		return
	}
	tg.stop()
	select {
	case err := <-tg.done:
		if err != nil {
			t.Errorf("%s: Run: %v", tg.m.name, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: Run did not return", tg.m.name)
	}
	tg.done = nil
}

// settle waits until the member has handed out everything it holds and
// the Group has merged it.
func (tg *testGroup) settle(t *testing.T) {
	t.Helper()
	testenv.WaitFor(t, 20*time.Second, tg.m.name+" caught up", func() bool {
		return tg.m.caughtUp() && tg.Stats().Replaying == 0
	})
}

// waitTicks waits for n more ticks of the Group: its state as of then has
// been emitted and committed.
func (tg *testGroup) waitTicks(t *testing.T, n int) {
	t.Helper()
	from := tg.clock.Ticks()
	testenv.WaitFor(t, 20*time.Second, "ticks", func() bool { return tg.clock.Ticks() >= from+n })
}

// splitByWindow returns the workload's fragments by window index.
func splitByWindow(t testing.TB, frags [][]byte) map[int][][]byte {
	t.Helper()
	out := map[int][][]byte{}
	for _, b := range frags {
		f, err := metrics.DecodeFragment(b)
		if err != nil {
			t.Fatal(err)
		}
		i := int(f.Window.Start.Sub(groupBase) / testWindow)
		out[i] = append(out[i], b)
	}
	return out
}

func shuffled(rng *rand.Rand, parts ...[][]byte) [][]byte {
	var out [][]byte
	for _, p := range parts {
		out = append(out, p...)
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// TestGroupMergesAndCommits: one member holding every partition merges a
// log with duplicates into snapshots equal to the reference, and once
// every window is final commits every partition to its end with the
// closed horizon in the metadata.
func TestGroupMergesAndCommits(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	w := newWorkload(rng, groupBase, 3, 6, 3000, 4)
	var recs [][]byte
	for _, b := range w.batches(rng, 50, 20) {
		recs = append(recs, b...)
	}
	l := newMemLog("fragments", 4)
	l.append(t, recs)
	clock := &testClock{now: groupBase}
	a := startGroup(t, l, "a", clock)
	a.m.assign(t, l.partitions()...)
	a.settle(t)
	clock.Set(dueAfter(5))
	testenv.WaitFor(t, 20*time.Second, "every window final", func() bool { return a.Stats().Keys == 0 && complete(a.sink.finals(t), w.ref) })
	a.waitTicks(t, 2)
	checkSnapshots(t, a.sink.finals(t), w.ref)
	st := a.Stats()
	if st.Merged != uint64(len(w.frags)) || st.Duplicates != uint64(len(recs)-len(w.frags)) || st.TooLate != 0 || st.Records != uint64(len(recs)) {
		t.Errorf("stats %+v: want %d merged, %d duplicates, %d records", st, len(w.frags), len(recs)-len(w.frags), len(recs))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	horizon := dueAfter(5).Add(-groupFinalize).UnixNano()
	for p, rs := range l.parts {
		c := l.committed[p]
		if c.Offset != int64(len(rs)) || c.Meta != CommitMeta(horizon) {
			t.Errorf("%s committed %d %q, want %d %q", p, c.Offset, c.Meta, len(rs), CommitMeta(horizon))
		}
	}
}

// moveWorkload is a log in two phases around a move of partitions: phase
// 1 holds windows 0-2 whole and half of window 3, phase 2 the rest of
// window 3, windows 4-5, and duplicates of phase 1 (windows 0-3). Between
// them windows 0-1 are finalized: windows 2-3 are open across the move,
// and in the log their first records come before the last ones of
// windows 0-1, so the commit point leaves finalized windows' records to
// the replay.
type moveWorkload struct {
	w              *workload
	phase1, phase2 [][]byte
}

func newMoveWorkload(t *testing.T, seed uint64) *moveWorkload {
	rng := rand.New(rand.NewPCG(seed, 7))
	w := newWorkload(rng, groupBase, 3, 6, 4000, 4)
	byWin := splitByWindow(t, w.frags)
	if len(byWin) != 6 {
		t.Fatalf("workload over %d windows, want 6", len(byWin))
	}
	half := len(byWin[3]) / 2
	mw := &moveWorkload{w: w}
	mw.phase1 = shuffled(rng, byWin[0], byWin[1], byWin[2], byWin[3][:half])
	var dups [][]byte
	for range 200 {
		dups = append(dups, mw.phase1[rng.IntN(len(mw.phase1))])
	}
	mw.phase2 = shuffled(rng, byWin[3][half:], byWin[4], byWin[5], dups)
	return mw
}

// partitionsOf returns the partitions holding each key and window of the
// reference, by its seriesKey.
func partitionsOf(t *testing.T, l *memLog, frags [][]byte) map[string]Partition {
	out := map[string]Partition{}
	for _, b := range frags {
		f, err := metrics.DecodeFragment(b)
		if err != nil {
			t.Fatal(err)
		}
		out[seriesKey(f.Name, f.Dims, f.Window.Start)] = l.partitionOf(f)
	}
	return out
}

// TestGroupRevokeMovesWindowsWhole: a rebalance moves half the partitions
// from member a to member b while windows are open. a commits by the rule
// and drops them: after the revoke it emits nothing of them. b replays
// from the commit and rebuilds the open windows; the commit's horizon
// makes it ignore the tail of windows a had finalized. Every key and
// window is then finalized by exactly one member, complete.
func TestGroupRevokeMovesWindowsWhole(t *testing.T) {
	mw := newMoveWorkload(t, 11)
	l := newMemLog("fragments", 6)
	parts := l.partitions()
	clock := &testClock{now: groupBase}
	a := startGroup(t, l, "a", clock)
	b := startGroup(t, l, "b", clock)

	l.append(t, mw.phase1)
	a.m.assign(t, parts...)
	a.settle(t)
	clock.Set(dueAfter(1))
	a.waitTicks(t, 2)

	b.m.assign(t, parts[3:]...)
	revokedAt := len(a.sink.all(t))
	l.append(t, mw.phase2)
	a.settle(t)
	b.settle(t)
	clock.Set(dueAfter(5))
	testenv.WaitFor(t, 20*time.Second, "every window final", func() bool {
		return a.Stats().Keys == 0 && b.Stats().Keys == 0
	})
	a.waitTicks(t, 2)
	b.waitTicks(t, 2)

	where := partitionsOf(t, l, mw.w.frags)
	moved := func(k string) bool { return where[k].ID >= 3 }
	for _, sn := range a.sink.all(t)[revokedAt:] {
		if k := seriesKey(sn.Name, sn.Dims, sn.WindowStart); moved(k) {
			t.Errorf("a emitted %s (final %v) after its partition %s was revoked", k, sn.Final, where[k])
		}
	}
	checkOneFinalizer(t, mw.w.ref, a.sink.finals(t), b.sink.finals(t))
	for _, g := range []*testGroup{a, b} {
		if st := g.Stats(); st.StrayRecords != 0 || st.BadRecords != 0 {
			t.Errorf("%s: stats %+v", g.m.name, st)
		}
	}
	// b met the tail of windows 0-1 in its replay and ignored it.
	if st := b.Stats(); st.TooLate == 0 {
		t.Errorf("b: stats %+v: want fragments of finalized windows found too late in the replay", st)
	}
}

// checkOneFinalizer checks that the union of the members' final snapshots
// equals the reference and that no key and window was finalized by two
// members: a split window would show as two partial finals.
func checkOneFinalizer(t *testing.T, ref map[string]*refSeries, finals ...map[string]metrics.Snapshot) {
	t.Helper()
	union := map[string]metrics.Snapshot{}
	for i, fs := range finals {
		for k, sn := range fs {
			if prev, ok := union[k]; ok {
				t.Errorf("%s finalized by two members (count %d and %d, member %d)", k, prev.Count, sn.Count, i)
			}
			union[k] = sn
		}
	}
	checkSnapshots(t, union, ref)
}

// TestGroupKilledMemberReplayed: member a finalizes and emits windows 0-1
// but its commits fail (a broker out of reach) and then it is killed: no
// revoke, no commit. b takes its partitions from the old commit, rebuilds
// every window from the replay and finalizes windows 0-1 again, with the
// same values: the latest final of every key and window is complete.
func TestGroupKilledMemberReplayed(t *testing.T) {
	mw := newMoveWorkload(t, 12)
	l := newMemLog("fragments", 4)
	parts := l.partitions()
	clock := &testClock{now: groupBase}
	a := startGroup(t, l, "a", clock)
	b := startGroup(t, l, "b", clock)

	l.append(t, mw.phase1)
	a.m.assign(t, parts...)
	a.settle(t)
	a.waitTicks(t, 2) // commits with no window closed
	a.m.refuse.Store(true)
	clock.Set(dueAfter(1))
	testenv.WaitFor(t, 20*time.Second, "a emitted finals of windows 0-1", func() bool {
		for _, sn := range a.sink.all(t) {
			if sn.Final {
				return true
			}
		}
		return false
	})
	a.waitTicks(t, 2)
	a.m.kill()
	a.shutdown(t)
	if st := a.Stats(); st.CommitErrors == 0 {
		t.Errorf("a: stats %+v: want failed commits", st)
	}

	b.m.assign(t, parts...)
	l.append(t, mw.phase2)
	b.settle(t)
	clock.Set(dueAfter(5))
	testenv.WaitFor(t, 20*time.Second, "every window final", func() bool { return b.Stats().Keys == 0 })
	b.waitTicks(t, 2)

	// b alone has every window, whole.
	checkSnapshots(t, b.sink.finals(t), mw.w.ref)
	// What a finalized before dying agrees with b.
	bf := b.sink.finals(t)
	for k, sn := range a.sink.finals(t) {
		if got := bf[k]; got.Count != sn.Count || got.Sum != sn.Sum {
			t.Errorf("%s: a's final count %d sum %v, b's %d %v", k, sn.Count, sn.Sum, got.Count, got.Sum)
		}
	}
}

// TestGroupReplayGate: while a newly assigned partition is below its end
// at the assignment, the Group emits nothing of it even when its windows
// are due — a final snapshot then would show part of a window. Once the
// replay is done, every window is finalized whole.
func TestGroupReplayGate(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	w := newWorkload(rng, groupBase, 2, 3, 1500, 3)
	l := newMemLog("fragments", 1)
	l.append(t, w.frags)
	clock := &testClock{now: dueAfter(2)} // every window due at once
	a := startGroup(t, l, "a", clock)
	a.m.hold.Store(int64(len(w.frags) / 2))
	a.m.assign(t, l.partitions()...)
	testenv.WaitFor(t, 20*time.Second, "half the log merged", func() bool { return a.Stats().Records == uint64(len(w.frags)/2) })
	a.waitTicks(t, 5)
	if st := a.Stats(); st.Snapshots != 0 || st.Replaying != 1 || st.Commits != 0 {
		t.Fatalf("stats %+v while replaying: want no snapshot, no commit, 1 partition replaying", st)
	}
	a.m.hold.Store(0)
	a.settle(t)
	testenv.WaitFor(t, 20*time.Second, "every window final", func() bool { return a.Stats().Keys == 0 })
	a.waitTicks(t, 2)
	checkSnapshots(t, a.sink.finals(t), w.ref)
	for _, sn := range a.sink.all(t) {
		if !sn.Final {
			t.Errorf("%s: a snapshot not final, emitted after the replay with every window due", seriesKey(sn.Name, sn.Dims, sn.WindowStart))
		}
	}
}

// TestGroupClaimHorizon: a partition claimed with a committed horizon
// takes fragments of windows ending by it as too late, and emits nothing
// of them: their finals were emitted by the owner that committed it.
func TestGroupClaimHorizon(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	w := newWorkload(rng, groupBase, 2, 4, 2000, 2)
	byWin := splitByWindow(t, w.frags)
	l := newMemLog("fragments", 1)
	l.append(t, w.frags)
	p := l.partitions()[0]
	l.committed[p] = Commit{Partition: p, Offset: 0, Meta: CommitMeta(windowEnd(1).UnixNano())}
	clock := &testClock{now: dueAfter(3)}
	a := startGroup(t, l, "a", clock)
	a.m.assign(t, p)
	a.settle(t)
	testenv.WaitFor(t, 20*time.Second, "every window final", func() bool { return a.Stats().Keys == 0 && a.Stats().Snapshots > 0 })
	a.waitTicks(t, 2)
	if st := a.Stats(); st.TooLate != uint64(len(byWin[0])+len(byWin[1])) {
		t.Errorf("stats %+v: want %d too late (windows 0-1)", st, len(byWin[0])+len(byWin[1]))
	}
	want := map[string]*refSeries{}
	for k, r := range w.ref {
		want[k] = r
	}
	for _, b := range append(byWin[0], byWin[1]...) {
		f, _ := metrics.DecodeFragment(b)
		delete(want, seriesKey(f.Name, f.Dims, f.Window.Start))
	}
	checkSnapshots(t, a.sink.finals(t), want)
}

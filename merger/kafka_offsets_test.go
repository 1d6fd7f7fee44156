package merger

import (
	"testing"
	"time"

	"pulse/metrics"
)

// TestOffsetBook walks the commit rule through sequences of records (each
// a window, by its start second in 10 s windows, at an offset) and window
// closings, checking the commit point after each step.
func TestOffsetBook(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	win := func(sec int) metrics.Window {
		return metrics.WindowAt(base.Add(time.Duration(sec)*time.Second), 10*time.Second)
	}
	end := func(sec int) int64 { return win(sec).End().UnixNano() }
	type step struct {
		rec      int   // record offset, or -1 for a close
		window   int   // its window's start second; -1: not a fragment (skip)
		closeAt  int64 // horizon for a close
		want     int64 // commit point after the step
		wantOK   bool
		wantOpen int
	}
	rec := func(off, sec int, want int64, open int) step {
		return step{rec: off, window: sec, want: want, wantOK: true, wantOpen: open}
	}
	closeTo := func(h int64, want int64, open int) step {
		return step{rec: -1, closeAt: h, want: want, wantOK: true, wantOpen: open}
	}
	for _, tc := range []struct {
		name   string
		start  int64
		closed int64
		steps  []step
	}{
		{name: "one window: commit stays at its first record until it closes", start: 0, closed: noHorizon, steps: []step{
			rec(0, 0, 0, 1), rec(1, 0, 0, 1), rec(2, 5, 0, 1),
			closeTo(end(0), 3, 0), // none open: the next offset
		}},
		{name: "oldest open window holds the commit", start: 100, closed: noHorizon, steps: []step{
			rec(100, 0, 100, 1), rec(101, 10, 100, 2), rec(102, 0, 100, 2), rec(103, 20, 100, 3),
			closeTo(end(0), 101, 2),    // window 0 done: window 10 is the oldest open
			closeTo(end(0), 101, 2),    // the same horizon again: nothing changes
			rec(104, 10, 101, 2),       // window 10 already open: its first offset stays
			closeTo(end(10), 103, 1),   // window 20 opened at 103
			closeTo(end(20), 105, 0),   // all closed: next
			rec(105, 30, 105, 1),       // a new window opens at 105
			rec(106, -1, 105, 1),       // not a fragment: only next moves
			closeTo(end(30), 107, 0),   // and the commit passes it
			closeTo(end(20)-1, 107, 0), // an older horizon changes nothing
		}},
		{name: "late record of a closed window opens nothing", start: 0, closed: end(0), steps: []step{
			rec(0, 0, 1, 0),  // window 0 is at the horizon: too late
			rec(1, 10, 1, 1), // window 10 opens
			rec(2, 0, 1, 1),  // too late again
			closeTo(end(10), 3, 0),
		}},
		{name: "commit point before the first record is the start", start: 42, closed: noHorizon, steps: []step{
			closeTo(end(0), 42, 0),
			rec(42, 10, 42, 1),
		}},
		{name: "a horizon closes every window ending by it", start: 0, closed: noHorizon, steps: []step{
			rec(0, 0, 0, 1), rec(1, 10, 0, 2), rec(2, 20, 0, 3),
			closeTo(end(10), 2, 1), // windows 0 and 10 at once: 20 holds the commit
		}},
		{name: "records out of order within a partition keep the lowest", start: 0, closed: noHorizon, steps: []step{
			rec(5, 0, 5, 1), rec(3, 10, 3, 2), // a replay handing out an older offset later
			closeTo(end(10), 6, 0),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newOffsetBook(tc.start, tc.closed)
			for i, s := range tc.steps {
				if s.rec < 0 {
					b.close(s.closeAt)
				} else if s.window < 0 {
					b.skip(int64(s.rec))
				} else {
					b.observe(int64(s.rec), win(s.window))
				}
				got, ok := b.commitPoint()
				if got != s.want || ok != s.wantOK || b.open() != s.wantOpen {
					t.Fatalf("step %d %+v: commit point %d ok %v, %d open; want %d %v, %d open", i, s, got, ok, b.open(), s.want, s.wantOK, s.wantOpen)
				}
			}
		})
	}
}

// TestOffsetBookUnknownStart: with no start and no record there is
// nothing to commit; the first record makes one.
func TestOffsetBookUnknownStart(t *testing.T) {
	b := newOffsetBook(-1, noHorizon)
	if off, ok := b.commitPoint(); ok {
		t.Fatalf("commit point %d before any record", off)
	}
	b.observe(7, metrics.WindowAt(time.Unix(0, 0), time.Second))
	if off, ok := b.commitPoint(); !ok || off != 7 {
		t.Fatalf("commit point %d %v, want 7", off, ok)
	}
}

func TestCommitMeta(t *testing.T) {
	for _, tc := range []struct {
		meta    string
		want    int64
		wantErr bool
	}{
		{meta: "", want: noHorizon},
		{meta: "some-member-id", want: noHorizon}, // committed by something else
		{meta: CommitMeta(noHorizon), want: noHorizon},
		{meta: CommitMeta(1767225600000000000), want: 1767225600000000000},
		{meta: CommitMeta(-5), want: -5},
		{meta: metaPrefix + " closed=x", want: noHorizon, wantErr: true},
		{meta: metaPrefix + " open=1", want: noHorizon, wantErr: true},
	} {
		got, err := parseMeta(tc.meta)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("parseMeta(%q) = %d, %v; want %d, error %v", tc.meta, got, err, tc.want, tc.wantErr)
		}
	}
}

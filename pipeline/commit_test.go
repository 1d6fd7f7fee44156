package pipeline

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestReplayableBatchKeptWhole: a replayable input batch (a file tail's)
// that does not fit in the room left in the open batch, but fits in an
// empty one, starts a new batch instead of being split: split, its first
// part would be stored but not committed, and come twice after a crash. A
// batch larger than a whole batch is split as before, and so is every
// batch of an input that is not replayable.
func TestReplayableBatchKeptWhole(t *testing.T) {
	tests := []struct {
		name       string
		replayable bool
		sizes      []int // events of each input batch, emitted in turn
		stored     []int // events per stored batch, before the final flush
		commits    int   // input batches committed before the final flush
	}{
		{"kept whole", true, []int{3, 3}, []int{3}, 1},
		{"fits the room left", true, []int{3, 2}, []int{5}, 2},
		{"larger than a batch", true, []int{3, 7}, []int{5, 5}, 2},
		{"three kept whole", true, []int{2, 2, 2, 4}, []int{4, 2}, 3},
		{"not replayable", false, []int{3, 3}, []int{5}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := &memSink{}
			r, err := NewRouter("h", []OutputOptions{{Name: "o", Encoding: Lines, MaxEvents: 5, MaxBytes: 1 << 20, MaxWait: time.Hour, Sink: sink}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			commits := 0
			var want []string
			for i, n := range tc.sizes {
				var lines []string
				for j := range n {
					lines = append(lines, fmt.Sprintf("b%d-%d", i, j))
				}
				want = append(want, lines...)
				b := batchOf(lines...)
				b.Replayable = tc.replayable
				b.Commit = func() { commits++ }
				if err := r.Emit(context.Background(), b); err != nil {
					t.Fatal(err)
				}
			}
			if _, ev := sink.all(); fmt.Sprint(ev) != fmt.Sprint(tc.stored) || commits != tc.commits {
				t.Errorf("stored %v with %d commits, want %v with %d", ev, commits, tc.stored, tc.commits)
			}
			if err := r.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got, want := func() string { s, _ := sink.all(); return s }(), strings.Join(want, "\n")+"\n"; got != want {
				t.Errorf("payload = %q, want %q", got, want)
			}
			if commits != len(tc.sizes) {
				t.Errorf("%d commits after the flush, want %d", commits, len(tc.sizes))
			}
		})
	}
}

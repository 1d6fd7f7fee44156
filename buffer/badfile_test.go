package buffer

import (
	"fmt"
	"os"
	"testing"
	"time"

	"pulse/testenv"
)

// TestBenignBadRemoved triggers diskqueue bug #38/#42 on purpose: the reader
// catches up exactly at the end of a segment, then a write rotates to a new
// one, and diskqueue renames the fully consumed segment .bad. Nothing is
// lost, no .bad file stays behind and nothing counts as corruption.
func TestBenignBadRemoved(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t, dir)
	opts.SegmentBytes = 4 << 10 // four 900-byte batches fill a segment
	q := openQueue(t, opts)
	const rounds = 5
	var got []string
	for r := range rounds + 1 {
		for i := range 4 {
			mustPut(t, q, payload(fmt.Sprintf("r%d-%d", r, i), 900), 1)
		}
		for range 4 {
			m := mustNext(t, q)
			got = append(got, idOf(m.Payload))
			mustAck(t, q, m.ID)
		}
	}
	// Each round's first Put rotated behind a caught-up reader.
	testenv.WaitFor(t, 5*time.Second, "no .bad files", func() bool {
		q.Stats() // removes the pending ones
		return len(filesWithSuffix(t, dir, ".bad")) == 0
	})
	q.mu.Lock()
	struck := q.benignN
	q.mu.Unlock()
	if struck != rounds {
		t.Fatalf("bug #38 struck %d times, want %d: the test no longer exercises it", struck, rounds)
	}
	if len(got) != 4*(rounds+1) || got[0] != "r0-0" || got[len(got)-1] != fmt.Sprintf("r%d-3", rounds) {
		t.Fatalf("delivered %v", got)
	}
	s := q.Stats()
	if s.CorruptBatches != 0 || s.LostEvents != 0 || s.BadSegments != 0 || s.Bytes != 0 {
		t.Fatalf("stats: %+v", s)
	}
}

// TestConsumedBadRemovedAtOpen: a crash between diskqueue's rename of a
// consumed segment (bug #38) and its removal leaves a .bad file holding only
// consumed batches; Open removes it. A .bad file of real corruption stays.
func TestConsumedBadRemovedAtOpen(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t, dir)
	opts.SegmentBytes = 4 << 10
	q := openQueue(t, opts)
	for i := range 12 {
		mustPut(t, q, payload(fmt.Sprintf("m%d", i), 900), 1)
	}
	seg0, err := os.ReadFile(segmentFile(dir, 0))
	if err != nil {
		t.Fatal(err)
	}
	seg2, err := os.ReadFile(segmentFile(dir, 2))
	if err != nil {
		t.Fatal(err)
	}
	for range 5 { // segment 0 consumed and removed by diskqueue
		mustAck(t, q, mustNext(t, q).ID)
	}
	closeQueue(t, q)
	// Segment 0 as bug #38 would have left it; and a truncated copy of
	// segment 2 (not consumed, not clean) as real corruption would.
	if err := os.WriteFile(segmentFile(dir, 0)+".bad", seg0, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(segmentFile(dir, 9)+".bad", seg2[:len(seg2)-10], 0o600); err != nil {
		t.Fatal(err)
	}

	q = openQueue(t, opts)
	if bad := filesWithSuffix(t, dir, ".bad"); len(bad) != 1 || bad[0] != "out.diskqueue.000009.dat.bad" {
		t.Fatalf(".bad files after Open: %v", bad)
	}
	if s := q.Stats(); s.BadSegments != 1 || s.Batches != 7 {
		t.Fatalf("stats: %+v", s)
	}
	if got := drain(t, q); len(got) != 7 || got[0] != "m5" {
		t.Fatalf("delivered %v", got)
	}
}

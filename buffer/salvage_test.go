package buffer

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"
)

// badWithGarbage renames segment 1 of a verifyFixture to .bad and writes
// 100 bytes of garbage across the boundary of its frames 1 and 2: frames 0
// and 3 still verify.
func badWithGarbage(t *testing.T, dir string, segs [][]segFrame) (bad string, garbage Range) {
	t.Helper()
	s := segs[1]
	seg := segmentFile(dir, 1)
	bad = seg + ".bad"
	if err := os.Rename(seg, bad); err != nil {
		t.Fatal(err)
	}
	g := make([]byte, 100)
	for i := range g {
		g[i] = byte(i*37 + 11)
	}
	writeAt(t, bad, s[2].off-50, g)
	return bad, Range{Offset: s[1].off, Length: s[1].size + s[2].size}
}

func TestSalvage(t *testing.T) {
	tests := []struct {
		name     string
		consumed int   // batches consumed before the damage
		saved    []int // frames of segment 1 saved
		skipped  int64 // verified but consumed
	}{
		{"nothing consumed", 0, []int{0, 3}, 0},
		// Batches 0-4 consumed: frame 0 of segment 1 (batch 4) is skipped.
		{"part consumed", 5, []int{3}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, segs := verifyFixture(t, tt.consumed, 0)
			bad, garbage := badWithGarbage(t, dir, segs)
			var wantEvents int64
			for _, i := range tt.saved {
				wantEvents += int64(segs[1][i].events)
			}

			r, err := Salvage(dir, "out", SalvageOptions{Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Files) != 1 {
				t.Fatalf("files %+v", r.Files)
			}
			f := r.Files[0]
			if f.File != bad || f.Saved != int64(len(tt.saved)) || f.SavedEvents != wantEvents || r.Events != wantEvents ||
				f.Consumed != tt.skipped || !slices.Equal(f.Unsaved, []Range{garbage}) || f.UnsavedBytes != garbage.Length ||
				f.Left != 0 || !f.Removed || f.Error != "" {
				t.Fatalf("salvaged %+v, want %d batches (%d events), %d skipped, unsaved %+v", f, len(tt.saved), wantEvents, tt.skipped, garbage)
			}
			if _, err := os.Stat(bad); !os.IsNotExist(err) {
				t.Fatalf(".bad file still there: %v", err)
			}
			if v, err := Verify(dir, "out", 0); err != nil || !v.Healthy || len(v.Problems) != 0 {
				t.Fatalf("verify after salvage: %+v, %v", v, err)
			}

			// A queue opened on the dir hands out every batch not consumed
			// except the two damaged ones, the salvaged ones last, each
			// with its events and key.
			q := openQueue(t, testOptions(t, dir))
			var got []string
			for _, m := range drainMessages(t, q) {
				id := idOf(m.Payload)
				var i int
				if _, err := fmt.Sscanf(id, "m%d", &i); err != nil || m.Events != i+1 || m.Key != uint64(i*7) {
					t.Fatalf("batch %q: %d events, key %d", id, m.Events, m.Key)
				}
				got = append(got, id)
			}
			var want []string
			for i := tt.consumed; i < 20; i++ {
				if id := fmt.Sprintf("m%d", i); i/4 != 1 {
					want = append(want, id)
				}
			}
			for _, i := range tt.saved {
				want = append(want, segs[1][i].id)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("delivered %v\nwant      %v", got, want)
			}
			if s := q.Stats(); s.CorruptBatches != 0 || s.LostEvents != 0 {
				t.Fatalf("stats after salvage: %+v", s)
			}
		})
	}
}

// The agent's way to a .bad: diskqueue fails to read a segment, skips the
// rest of it and the queue goes on, consuming seqs above those skipped.
// Salvage gets back what diskqueue never read, not what it did.
func TestSalvageAfterTheQueueWentOn(t *testing.T) {
	dir, segs := verifyFixture(t, 0, 0)
	s := segs[1]
	q := openQueue(t, testOptions(t, dir))
	// Damaged while open (Open would repair it): diskqueue meets it.
	writeAt(t, segmentFile(dir, 1), s[2].off, []byte{0xff, 0xff, 0xff, 0xf0})
	for range 18 {
		mustAck(t, q, mustNext(t, q).ID)
	}
	if m, ok := tryNext(t, q, 300*time.Millisecond); ok {
		t.Fatalf("batch %q delivered past the damage, want it lost with the segment", m.Payload[:8])
	}
	closeQueue(t, q)
	r, err := Salvage(dir, "out", SalvageOptions{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if f := r.Files[0]; f.Saved != 1 || f.SavedEvents != int64(s[3].events) || f.Consumed != 2 || !f.Removed {
		t.Fatalf("salvaged %+v, want frame 3 of segment 1 (%d events), frames 0-1 consumed", f, s[3].events)
	}
	q = openQueue(t, testOptions(t, dir))
	if got := drain(t, q); !slices.Equal(got, []string{s[3].id}) {
		t.Fatalf("delivered %v after salvage, want [%s]", got, s[3].id)
	}
}

func TestSalvageToWriter(t *testing.T) {
	dir, segs := verifyFixture(t, 0, 0)
	bad, _ := badWithGarbage(t, dir, segs)
	var got []string
	synced := false
	r, err := Salvage(dir, "out", SalvageOptions{
		Write: func(b SalvagedBatch) error {
			if synced {
				t.Error("Write after Sync")
			}
			got = append(got, fmt.Sprintf("%s/%d/%d", idOf(b.Payload), b.Events, b.Key))
			return nil
		},
		Sync: func() error { synced = true; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"m4/5/28", "m7/8/49"}
	if !slices.Equal(got, want) || !synced || r.Batches != 2 || r.Events != 13 || !r.Files[0].Removed {
		t.Fatalf("wrote %v (synced %v), report %+v; want %v", got, synced, r, want)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Fatalf(".bad file still there: %v", err)
	}
	// The queue itself did not get them back.
	in, err := Inspect(dir, "out")
	if err != nil || in.Batches != 16 {
		t.Fatalf("inspect %+v, %v", in, err)
	}
}

// A cap too small for the salvaged batches leaves them, and the file, in
// place.
func TestSalvageOverCapKeepsTheFile(t *testing.T) {
	dir, segs := verifyFixture(t, 0, 0)
	bad, _ := badWithGarbage(t, dir, segs)
	// Fill a 1 MiB queue so that nothing more fits.
	q := openQueue(t, testOptions(t, dir))
	filler := MinMaxBytes - q.Stats().Bytes - frameOverhead
	mustPut(t, q, payload("fill", int(filler)), 1)
	closeQueue(t, q)
	r, err := Salvage(dir, "out", SalvageOptions{MaxBytes: MinMaxBytes, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	f := r.Files[0]
	if f.Saved != 0 || f.Left != 2 || f.Removed || f.Error == "" {
		t.Fatalf("salvage over cap: %+v", f)
	}
	if _, err := os.Stat(bad); err != nil {
		t.Fatalf(".bad file gone: %v", err)
	}
}

func TestClearBad(t *testing.T) {
	dir, segs := verifyFixture(t, 0, 0)
	bad, _ := badWithGarbage(t, dir, segs)
	fi, err := os.Stat(bad)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := Verify(dir, "out", 0); err != nil || v.Healthy {
		t.Fatalf("verify before clear-bad: %+v, %v", v, err)
	}
	cleared, err := ClearBad(dir, "out")
	if err != nil || len(cleared) != 1 || cleared[0] != (ClearedFile{File: bad, Size: fi.Size()}) {
		t.Fatalf("ClearBad = %+v, %v", cleared, err)
	}
	if v, err := Verify(dir, "out", 0); err != nil || !v.Healthy || v.Batches != 16 {
		t.Fatalf("verify after clear-bad: %+v, %v", v, err)
	}
}

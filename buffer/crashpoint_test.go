package buffer

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// copyTree copies the regular files under src to dst: the state a kill -9
// at that moment would leave (nothing is lost from the page cache).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil // renamed or removed while walking
			}
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o750)
		}
		if !d.Type().IsRegular() || filepath.Ext(path) == ".lock" {
			return nil
		}
		b, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCrashPoints snapshots the files at each step of handing out a batch
// (as a kill -9 there would leave them) and checks that a queue opened on
// the snapshot delivers exactly the batches not yet acknowledged: the one
// being handed out replayed, and no acknowledged one again.
func TestCrashPoints(t *testing.T) {
	for _, point := range []string{"journaled", "recorded", "consumed"} {
		for _, syncEvery := range []int64{1, 1 << 40} {
			t.Run(fmt.Sprintf("%s/sync=%d", point, syncEvery), func(t *testing.T) {
				dir := t.TempDir()
				opts := testOptions(t, filepath.Join(dir, "q"))
				opts.SyncEvery = syncEvery
				opts.SegmentBytes = 4 << 10
				q := openQueue(t, opts)
				for i := range 8 {
					mustPut(t, q, payload(fmt.Sprintf("m%d", i), 900), i+1)
				}
				for range 5 { // m0..m4 acked; the segment rotates on the way
					mustAck(t, q, mustNext(t, q).ID)
				}
				snap := filepath.Join(dir, "snap")
				taken := 0
				q.onCrashPoint = func(p string) {
					if p == point {
						copyTree(t, opts.Dir, snap)
						taken++
					}
				}
				if m := mustNext(t, q); idOf(m.Payload) != "m5" {
					t.Fatalf("handed out %s", idOf(m.Payload))
				}
				q.onCrashPoint = nil
				closeQueue(t, q)
				if taken != 1 {
					t.Fatalf("crash point %q reached %d times", point, taken)
				}

				opts.Dir = snap
				q = openQueue(t, opts)
				ms := drainMessages(t, q)
				var got []string
				for _, m := range ms {
					got = append(got, idOf(m.Payload))
				}
				if fmt.Sprint(got) != "[m5 m6 m7]" || !ms[0].Replayed || ms[1].Replayed {
					t.Fatalf("after a crash at %q: delivered %v (first replayed %v)", point, got, len(ms) > 0 && ms[0].Replayed)
				}
				s := q.Stats()
				if s.Batches != 0 || s.Bytes != 0 || s.CorruptBatches != 0 {
					t.Fatalf("stats: %+v", s)
				}
				t.Logf("skipped duplicates: %d", s.SkippedDuplicates)
			})
		}
	}
}

// TestCrashWhileEvicting snapshots the files while Put under DropOldest
// evicts the head: the evicted batch does not come back.
func TestCrashWhileEvicting(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t, filepath.Join(dir, "q"))
	opts.MaxBytes = policyCap
	opts.WhenFull = DropOldest
	opts.SyncEvery = 1 << 40
	q := openQueue(t, opts)
	for i := range policyFit {
		mustPut(t, q, payload(fmt.Sprintf("m%d", i), policyPayload), 1)
	}
	snap := filepath.Join(dir, "snap")
	q.onCrashPoint = func(p string) {
		if p == "evicting" {
			copyTree(t, opts.Dir, snap)
		}
	}
	mustPut(t, q, payload("new", policyPayload), 1) // evicts m0
	q.onCrashPoint = nil
	closeQueue(t, q)

	opts.Dir = snap
	q = openQueue(t, opts)
	got := drain(t, q)
	if len(got) != policyFit-1 || got[0] != "m1" {
		t.Fatalf("after a crash while evicting: %v", got)
	}
	if s := q.Stats(); s.SkippedDuplicates != 1 {
		t.Fatalf("skipped duplicates %d, want 1 (the evicted m0)", s.SkippedDuplicates)
	}
}

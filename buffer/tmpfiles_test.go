package buffer

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestOpenRemovesCutShortWrites: the tmp files a crash leaves in the middle
// of a write — durable's (<file>.tmp: metadata, a repaired segment, its
// quarantine, a journal file), diskqueue's metadata tmp, and those of older
// versions (.repair.tmp, <seq>.tmp) — are removed at Open, nothing else is,
// and the queue holds what it held.
func TestOpenRemovesCutShortWrites(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t, dir)
	q := openQueue(t, opts)
	for _, id := range []string{"a", "b", "c"} {
		mustPut(t, q, payload(id, 500), 1)
	}
	closeQueue(t, q)

	jdir := filepath.Join(dir, "inflight")
	leftovers := []string{
		filepath.Join(dir, "out.diskqueue.meta.dat.tmp"),
		filepath.Join(dir, "out.diskqueue.meta.dat.8674665223082153551.tmp"),
		filepath.Join(dir, "out.diskqueue.000000.dat.tmp"),
		filepath.Join(dir, "out.diskqueue.000000.dat.bad.tmp"),
		filepath.Join(dir, "out.diskqueue.000000.dat.repair.tmp"),
		filepath.Join(jdir, "00000000000000000099.batch.tmp"),
		filepath.Join(jdir, "00000000000000000098.tmp"),
	}
	kept := []string{
		filepath.Join(dir, "other.diskqueue.000000.dat.tmp"), // another queue's
		filepath.Join(dir, "notes.tmp"),
	}
	for _, p := range slices.Concat(leftovers, kept) {
		if err := os.WriteFile(p, []byte("cut short"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	q = openQueue(t, opts)
	for _, p := range leftovers {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after Open: %v, want removed", p, err)
		}
	}
	for _, p := range kept {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s after Open: %v, want kept", p, err)
		}
	}
	if got := drain(t, q); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("drained %q, want a b c", got)
	}
	if st := q.Stats(); st.CorruptBatches != 0 || st.TornWrites != 0 {
		t.Fatalf("stats %+v: want no corruption, no torn write", st)
	}
}

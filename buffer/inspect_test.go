package buffer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fileStates records every file under dir with its size and mtime.
func fileStates(t *testing.T, dir string) map[string]string {
	t.Helper()
	states := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		states[path] = fmt.Sprint(fi.ModTime(), fi.Mode(), fi.Size())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return states
}

func TestInspectClosedQueue(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t, dir)
	opts.SegmentBytes = 8 << 10 // several segments
	q := openQueue(t, opts)
	const batches = 40
	var events int64
	for i := range batches {
		mustPut(t, q, payload("b", 700), i+1)
		events += int64(i + 1)
	}
	m := mustNext(t, q) // in flight, never acknowledged
	acked := mustNext(t, q)
	mustAck(t, q, acked.ID)
	want := q.Stats()
	closeQueue(t, q)

	got, err := Inspect(dir, opts.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got.Batches != batches-2 || got.Events != events-int64(m.Events)-int64(acked.Events) {
		t.Errorf("queued %d batches, %d events; want %d, %d", got.Batches, got.Events, batches-2, events-int64(m.Events+acked.Events))
	}
	if got.Batches != want.Batches || got.Events != want.Events {
		t.Errorf("queued %d/%d, Stats said %d/%d", got.Batches, got.Events, want.Batches, want.Events)
	}
	if got.InFlight != 1 || got.InFlightEvents != int64(m.Events) {
		t.Errorf("in flight %d batches, %d events; want 1, %d", got.InFlight, got.InFlightEvents, m.Events)
	}
	if got.Bytes != want.Bytes {
		t.Errorf("Bytes %d, Stats said %d", got.Bytes, want.Bytes)
	}
	if got.Segments < 2 || got.BadSegments != 0 {
		t.Errorf("%d segments (want several), %d bad (want 0)", got.Segments, got.BadSegments)
	}
	if got.DiskBytes < got.Bytes {
		t.Errorf("DiskBytes %d below Bytes %d", got.DiskBytes, got.Bytes)
	}
	if got.Oldest.IsZero() || time.Since(got.Oldest) > time.Minute {
		t.Errorf("Oldest %v, want within the last minute", got.Oldest)
	}

	// Reopened, the queue agrees, and hands out the same batches.
	q = openQueue(t, opts)
	s := q.Stats()
	if s.Batches != got.Batches+int64(got.InFlight) || s.Events != got.Events+got.InFlightEvents {
		t.Errorf("reopened queue holds %d/%d, Inspect said %d+%d/%d+%d", s.Batches, s.Events, got.Batches, got.InFlight, got.Events, got.InFlightEvents)
	}
}

// Inspect reads a queue held open by its owner: no lock taken, nothing
// changed, and the batches consumed since diskqueue's last sync are not
// counted again.
func TestInspectOpenQueue(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t, dir)
	opts.SyncEvery = 1 << 30 // diskqueue's read position stays stale on disk
	opts.SyncTimeout = time.Hour
	q := openQueue(t, opts)
	for range 10 {
		mustPut(t, q, payload("x", 100), 3)
	}
	var inflight []Message
	for range 4 {
		inflight = append(inflight, mustNext(t, q))
	}
	mustAck(t, q, inflight[0].ID)

	before := fileStates(t, dir)
	got, err := Inspect(dir, opts.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got.Batches != 6 || got.Events != 18 || got.InFlight != 3 || got.InFlightEvents != 9 {
		t.Errorf("got %d batches/%d events queued, %d/%d in flight; want 6/18, 3/9",
			got.Batches, got.Events, got.InFlight, got.InFlightEvents)
	}
	if s := q.Stats(); got.Bytes != s.Bytes {
		t.Errorf("Bytes %d, Stats says %d", got.Bytes, s.Bytes)
	}
	after := fileStates(t, dir)
	if len(before) != len(after) {
		t.Fatalf("files changed: %d before, %d after", len(before), len(after))
	}
	for path, st := range before {
		if after[path] != st {
			t.Errorf("%s changed: %q, then %q", path, st, after[path])
		}
	}
	// The queue still works after being inspected.
	mustAck(t, q, inflight[1].ID)
	if m := mustNext(t, q); m.Events != 3 {
		t.Errorf("next batch has %d events, want 3", m.Events)
	}
}

func TestInspectOldestAndBad(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t, dir)
	q := openQueue(t, opts)
	mustPut(t, q, payload("a", 100), 1)
	mustPut(t, q, payload("b", 100), 1)
	m := mustNext(t, q)
	closeQueue(t, q)

	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	jr := filepath.Join(dir, "inflight", strings.Repeat("0", 19)+"1"+journalSuffix)
	if m.ID != 1 {
		t.Fatalf("first batch id %d, want 1", m.ID)
	}
	if err := os.Chtimes(jr, old, old); err != nil {
		t.Fatal(err)
	}
	// A garbled segment set aside by diskqueue counts as bad; a benign one
	// (diskqueue bug #38: every frame consumed) does not.
	if err := os.WriteFile(filepath.Join(dir, "out.diskqueue.000042.dat.bad"), []byte("garbage, not frames"), 0o600); err != nil {
		t.Fatal(err)
	}

	got, err := Inspect(dir, opts.Name)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Oldest.Equal(old) {
		t.Errorf("Oldest %v, want the in-flight file's mtime %v", got.Oldest, old)
	}
	if got.BadSegments != 1 {
		t.Errorf("BadSegments %d, want 1", got.BadSegments)
	}
	if got.Batches != 1 || got.InFlight != 1 {
		t.Errorf("%d queued, %d in flight; want 1, 1", got.Batches, got.InFlight)
	}
}

func TestInspectEmptyAndMissing(t *testing.T) {
	dir := t.TempDir()
	got, err := Inspect(dir, "out")
	if err != nil {
		t.Fatal(err)
	}
	if got.Batches != 0 || got.InFlight != 0 || got.Bytes != 0 || !got.Oldest.IsZero() {
		t.Errorf("empty dir: %+v", got)
	}
	if _, err := Inspect(filepath.Join(dir, "absent"), "out"); err == nil {
		t.Error("missing dir: no error")
	}
	if _, err := Inspect(dir, "a/b"); err == nil {
		t.Error("bad name: no error")
	}
}

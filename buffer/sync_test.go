package buffer

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pulse/testenv"
)

// syncRecorder records the paths the queue fsyncs itself (diskqueue's own
// syncs go around it).
type syncRecorder struct {
	mu    sync.Mutex
	paths []string
}

func (r *syncRecorder) record(path string) {
	r.mu.Lock()
	r.paths = append(r.paths, path)
	r.mu.Unlock()
}

// take returns the paths recorded since the last take.
func (r *syncRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.paths
	r.paths = nil
	return p
}

// has reports whether path was recorded, without taking anything.
func (r *syncRecorder) has(path string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.paths, path)
}

// lastSegment is the highest-numbered segment in dir: the one diskqueue
// writes to.
func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	segs := filesWithSuffix(t, dir, ".dat")
	segs = slices.DeleteFunc(segs, func(s string) bool { return strings.Contains(s, ".meta.") })
	if len(segs) == 0 {
		t.Fatalf("no segment in %s", dir)
	}
	slices.Sort(segs)
	return filepath.Join(dir, segs[len(segs)-1])
}

// TestFsyncAlways: every Put fsyncs the segment holding its frame before it
// returns, across segment rolls and a reopen; Next fsyncs the journal file
// and its directory before it returns; Ack syncs nothing.
func TestFsyncAlways(t *testing.T) {
	dir := t.TempDir()
	rec := &syncRecorder{}
	opts := testOptions(t, dir)
	opts.Fsync = FsyncAlways
	opts.SegmentBytes = minSegmentBytes // a roll every two frames
	opts.onSync = rec.record
	q := openQueue(t, opts)
	id := 0
	put := func(q *Queue) {
		t.Helper()
		id++
		mustPut(t, q, payload(fmt.Sprint(id), 1500), 1)
		got := rec.take()
		seg := lastSegment(t, dir)
		frames := segmentFrames(t, seg)
		if len(frames) == 0 || frames[len(frames)-1].id != fmt.Sprint(id) {
			t.Fatalf("put %d: not the last frame of %s", id, seg)
		}
		// The segment, and its directory entry when it is new; nothing else.
		if len(got) == 0 || got[len(got)-1] != seg {
			t.Fatalf("put %d: synced %q before returning, want %s last", id, got, seg)
		}
		for _, p := range got[:len(got)-1] {
			if p != dir && !strings.HasSuffix(p, ".dat") {
				t.Fatalf("put %d: synced %s", id, p)
			}
		}
	}
	for range 7 {
		put(q)
	}
	if n := len(filesWithSuffix(t, dir, ".dat")); n < 4 {
		t.Fatalf("%d segments: the test wants rolls", n)
	}

	m := mustNext(t, q)
	jdir := filepath.Join(dir, "inflight")
	want := []string{filepath.Join(jdir, fmt.Sprintf("%020d.batch.tmp", m.ID)), jdir}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Fatalf("Next synced %q, want %q", got, want)
	}
	mustAck(t, q, m.ID)
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("Ack synced %q, want nothing", got)
	}

	// Reopened, the queue finds the segment diskqueue writes to afresh.
	closeQueue(t, q)
	rec.take()
	q = openQueue(t, opts)
	for range 3 {
		put(q)
	}
	if got := len(drain(t, q)); got != 9 {
		t.Fatalf("drained %d batches, want 9", got)
	}
}

// TestFsyncInterval: Put and Next sync nothing themselves; a batch in flight
// has its journal file synced within a few intervals, and diskqueue syncs
// the segment and its metadata on the same period.
func TestFsyncInterval(t *testing.T) {
	dir := t.TempDir()
	rec := &syncRecorder{}
	opts := testOptions(t, dir)
	opts.Fsync = FsyncInterval
	opts.FsyncInterval = 20 * time.Millisecond
	opts.onSync = rec.record
	q := openQueue(t, opts)
	for i := range 3 {
		mustPut(t, q, payload(fmt.Sprint(i), 1000), 1)
	}
	m := mustNext(t, q) // left in flight
	jfile := filepath.Join(dir, "inflight", fmt.Sprintf("%020d.batch", m.ID))
	testenv.WaitFor(t, 10*time.Second, "the journal file synced", func() bool { return rec.has(jfile) })
	testenv.WaitFor(t, 10*time.Second, "the journal directory synced", func() bool { return rec.has(filepath.Dir(jfile)) })
	seg := segmentFile(dir, 0)
	testenv.WaitFor(t, 10*time.Second, "diskqueue's metadata synced at the write position", func() bool {
		meta, err := readMeta(metaPath(dir, "out"))
		fi, serr := os.Stat(seg)
		return err == nil && serr == nil && meta.writePos == fi.Size()
	})
	for _, p := range rec.take() {
		if strings.HasSuffix(p, ".dat") || strings.HasSuffix(p, ".tmp") {
			t.Fatalf("synced %s: segments are diskqueue's to sync, tmp files are renamed unsynced", p)
		}
	}
	mustAck(t, q, m.ID)
	if got := len(drain(t, q)); got != 2 {
		t.Fatalf("drained %d batches, want 2", got)
	}
}

// TestFsyncNever: neither the queue nor diskqueue syncs while it runs, for
// many times the interval; diskqueue syncs its metadata at Close.
func TestFsyncNever(t *testing.T) {
	dir := t.TempDir()
	rec := &syncRecorder{}
	opts := testOptions(t, dir)
	opts.Fsync = FsyncNever
	opts.FsyncInterval = 10 * time.Millisecond // ignored
	opts.onSync = rec.record
	q := openQueue(t, opts)
	for i := range 3 {
		mustPut(t, q, payload(fmt.Sprint(i), 1000), 1)
	}
	mustAck(t, q, mustNext(t, q).ID)
	mustNext(t, q) // left in flight
	time.Sleep(300 * time.Millisecond)
	if _, err := os.Stat(metaPath(dir, "out")); !isNotExist(err) {
		t.Fatalf("diskqueue metadata: %v, want none before Close (no sync)", err)
	}
	closeQueue(t, q)
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("synced %q, want nothing", got)
	}
	if _, err := readMeta(metaPath(dir, "out")); err != nil {
		t.Fatalf("diskqueue metadata after Close: %v", err)
	}
}

func TestFsyncOptions(t *testing.T) {
	base := Options{Dir: t.TempDir(), Name: "out", MaxBytes: 4 << 20}
	tests := []struct {
		name        string
		edit        func(*Options)
		err         string // "" for ok
		syncTimeout time.Duration
	}{
		{"default", func(*Options) {}, "", DefaultFsyncInterval},
		{"interval 2s", func(o *Options) { o.FsyncInterval = 2 * time.Second }, "", 2 * time.Second},
		{"always", func(o *Options) { o.Fsync = FsyncAlways }, "", DefaultFsyncInterval},
		{"never", func(o *Options) { o.Fsync = FsyncNever }, "", noSyncTimeout},
		{"explicit sync timeout", func(o *Options) { o.Fsync = FsyncNever; o.SyncTimeout = time.Second }, "", time.Second},
		{"unknown", func(o *Options) { o.Fsync = "sometimes" }, `unknown Fsync mode "sometimes" (never | interval | always)`, 0},
		{"negative interval", func(o *Options) { o.FsyncInterval = -time.Second }, "FsyncInterval -1s must be positive", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.edit(&o)
			got, err := o.withDefaults()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.SyncTimeout != tt.syncTimeout || got.SyncEvery != noSyncEvery || !got.Fsync.valid() || got.Fsync == "" {
				t.Fatalf("Fsync %q SyncTimeout %v SyncEvery %d, want SyncTimeout %v", got.Fsync, got.SyncTimeout, got.SyncEvery, tt.syncTimeout)
			}
		})
	}
}

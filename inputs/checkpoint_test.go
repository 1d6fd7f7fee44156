package inputs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pulse/testenv"
)

// TestCheckpointCommits: the committed offset follows the longest run of
// committed batches from the oldest, never moves back, ignores commits from
// before a truncation, and takes skipped bytes along with the batches
// before them.
func TestCheckpointCommits(t *testing.T) {
	type op struct {
		kind string // "track", "skip", "commit", "truncate"
		end  int64  // track, skip: the offset; commit: index of the tracked batch
	}
	tests := []struct {
		name      string
		ops       []op
		committed int64
		lag       int64
	}{
		{"in order", []op{{"track", 10}, {"track", 20}, {"commit", 0}, {"commit", 1}}, 20, 0},
		{"gap", []op{{"track", 10}, {"track", 20}, {"track", 30}, {"commit", 1}, {"commit", 2}}, 0, 30},
		{"gap filled", []op{{"track", 10}, {"track", 20}, {"commit", 1}, {"commit", 0}}, 20, 0},
		{"twice", []op{{"track", 10}, {"track", 20}, {"commit", 0}, {"commit", 0}}, 10, 10},
		{"skip with nothing pending", []op{{"skip", 5}}, 5, 0},
		{"skip behind a pending batch", []op{{"track", 10}, {"skip", 15}}, 0, 15},
		{"skip then commit", []op{{"track", 10}, {"skip", 15}, {"track", 20}, {"commit", 0}}, 15, 5},
		{"truncated", []op{{"track", 10}, {"truncate", 0}, {"commit", 0}, {"track", 4}}, 0, 4},
		{"after truncation", []op{{"track", 10}, {"truncate", 0}, {"track", 4}, {"commit", 0}, {"commit", 1}}, 4, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCheckpoints()
			e := c.add(fileID{1, 2}, "a", 0)
			var commits []func()
			for _, o := range tc.ops {
				switch o.kind {
				case "track":
					commits = append(commits, c.track(e, o.end))
				case "skip":
					c.skip(e, o.end)
				case "commit":
					commits[o.end]()
				case "truncate":
					c.truncated(e)
				}
			}
			recs, _ := c.snapshot()
			if len(recs) != 1 || recs[0].Offset != tc.committed {
				t.Errorf("snapshot = %+v, want offset %d", recs, tc.committed)
			}
			if lag := c.lag(); lag != tc.lag {
				t.Errorf("lag = %d, want %d", lag, tc.lag)
			}
		})
	}
}

// TestCheckpointManyPending: the queue of outstanding batches is reclaimed
// while commits lag behind.
func TestCheckpointManyPending(t *testing.T) {
	c := newCheckpoints()
	e := c.add(fileID{1, 2}, "a", 0)
	var commits []func()
	for i := range 10000 {
		commits = append(commits, c.track(e, int64(i+1)))
		if i >= 100 {
			commits[i-100]()
		}
	}
	if e.committed != 9900 || len(e.pending)-e.first != 100 || cap(e.pending) > 4096 {
		t.Errorf("committed %d, %d pending, cap %d", e.committed, len(e.pending)-e.first, cap(e.pending))
	}
}

// TestCheckpointWriterCoalesces: a commit is written without waiting for a
// clock, and the commits arriving while a write is in progress are written
// together by the next one, as soon as it is done.
func TestCheckpointWriterCoalesces(t *testing.T) {
	c := newCheckpoints()
	writes := make(chan int64, 8)
	release := make(chan struct{})
	w := &checkpointWriter{ckpt: c, log: slog.New(slog.DiscardHandler),
		store: func(_ string, recs []checkpointRecord, sync bool) error {
			if sync {
				t.Error("synced write before its interval")
			}
			writes <- recs[0].Offset
			<-release
			return nil
		}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); w.loop(ctx, 0, time.Hour) }()
	defer func() { cancel(); close(release); <-done }()

	e := c.add(fileID{1, 2}, "a", 0)
	if got := <-writes; got != 0 {
		t.Fatalf("first write at %d, want 0", got)
	}
	// Three commits while the first write is in progress.
	for i := int64(1); i <= 3; i++ {
		c.track(e, i*10)()
	}
	release <- struct{}{}
	if got := <-writes; got != 30 {
		t.Fatalf("second write at %d, want 30: the three commits in one write", got)
	}
	release <- struct{}{}
	c.track(e, 40)()
	if got := <-writes; got != 40 {
		t.Fatalf("third write at %d, want 40", got)
	}
	release <- struct{}{}
	select {
	case got := <-writes:
		t.Fatalf("write at %d with nothing changed", got)
	default:
	}
}

// TestCheckpointWriterRetries: a failed write is tried again without a
// further change.
func TestCheckpointWriterRetries(t *testing.T) {
	c := newCheckpoints()
	attempts := make(chan error, 4)
	fail := true
	w := &checkpointWriter{ckpt: c, log: slog.New(slog.DiscardHandler),
		store: func(string, []checkpointRecord, bool) error {
			var err error
			if fail {
				err, fail = errors.New("disk on fire"), false
			}
			attempts <- err
			return err
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.loop(ctx, 0, time.Hour) }()
	defer func() { cancel(); <-done }()
	c.add(fileID{1, 2}, "a", 0)
	if err := <-attempts; err == nil {
		t.Fatal("first attempt succeeded; the test's store should fail it")
	}
	select {
	case err := <-attempts:
		if err != nil {
			t.Fatalf("second attempt: %v", err)
		}
	case <-time.After(10 * checkpointRetry):
		t.Fatalf("no second attempt within %v", 10*checkpointRetry)
	}
}

// TestCheckpointSyncedFallback: a restart reads the checkpoint file, and
// falls back to its synced copy only when the file is missing or torn (a
// power loss after an unsynced write); with neither readable it fails.
func TestCheckpointSyncedFallback(t *testing.T) {
	valid := func(off int64) string {
		return fmt.Sprintf(`{"version":1,"files":[{"path":"a","dev":1,"inode":2,"offset":%d}]}`+"\n", off)
	}
	const missing = "<missing>"
	tests := []struct {
		name, file, synced string
		offset             int64 // want, when found
		found              bool
		err                string // want an error containing this
	}{
		{"first start", missing, missing, 0, false, ""},
		{"file only", valid(10), missing, 10, true, ""},
		{"file before synced copy", valid(30), valid(20), 30, true, ""},
		{"torn file: empty", "", valid(20), 20, true, ""},
		{"torn file: cut", valid(30)[:25], valid(20), 20, true, ""},
		{"no file yet", missing, valid(20), 20, true, ""},
		{"torn file, no synced copy", "", missing, 0, false, "corrupt"},
		{"both torn", "{", "{", 0, false, "corrupt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.json")
			for p, content := range map[string]string{path: tc.file, path + syncedSuffix: tc.synced} {
				if content != missing {
					writeFile(t, p, content)
				}
			}
			offsets, found, err := loadCheckpoints(path, slog.New(slog.DiscardHandler))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if found != tc.found || offsets[fileID{1, 2}] != tc.offset {
				t.Fatalf("found %v, offsets %v; want found %v, offset %d", found, offsets, tc.found, tc.offset)
			}
		})
	}
}

// TestCheckpointWriterSyncs: the synced copy follows on its interval, and
// flush leaves both files with the last commit.
func TestCheckpointWriterSyncs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.json")
	c := newCheckpoints()
	w := &checkpointWriter{path: path, ckpt: c, log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.loop(ctx, 0, 5*time.Millisecond) }()
	e := c.add(fileID{1, 2}, "a", 0)
	c.track(e, 10)()
	offsetIn := func(p string) int64 {
		offsets, found, err := readCheckpointFile(p)
		if err != nil || !found {
			return -1
		}
		return offsets[fileID{1, 2}]
	}
	testenv.WaitFor(t, 10*time.Second, "the synced copy at 10", func() bool { return offsetIn(path+syncedSuffix) == 10 })
	cancel()
	<-done
	c.track(e, 20)()
	if err := w.flush(); err != nil {
		t.Fatal(err)
	}
	if a, b := offsetIn(path), offsetIn(path+syncedSuffix); a != 20 || b != 20 {
		t.Fatalf("after flush: file at %d, synced copy at %d; want 20 and 20", a, b)
	}
}

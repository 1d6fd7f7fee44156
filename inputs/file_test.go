package inputs

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"pulse/event"
	"pulse/testenv"
)

const timeout = 10 * time.Second

// TestFileLineCutting runs the cutting cases on files, which are then
// deleted: a deleted file is read to its end, its last line emitted even
// without a newline, and then it is closed and its checkpoint dropped.
func TestFileLineCutting(t *testing.T) {
	for _, tc := range cuttingCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "a.log")
			writeFile(t, path, tc.in)
			opts := testFileOptions(t, dir, "*.log")
			opts.MaxLineBytes = tc.maxLine
			opts.BatchBytes = 5 // with maxLine 4: a 6-byte read buffer
			rec := &recorder{}
			r := start(t, opts, rec)
			testenv.WaitFor(t, timeout, "file followed", func() bool { return r.f.Stats().Files == 1 })
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			testenv.WaitFor(t, timeout, "deleted file dropped", func() bool { return r.f.Stats().Files == 0 })
			r.stop(t)
			equal(t, "events", rec.events(), tc.want)
			if st := r.f.Stats(); st.TruncatedLines != tc.truncated || st.Events != int64(len(tc.want)) || st.CommittedLag != 0 {
				t.Errorf("stats = %+v, want %d truncated, %d events", st, tc.truncated, len(tc.want))
			}
			if recs := readCheckpoints(t, opts.CheckpointFile); len(recs) != 0 {
				t.Errorf("checkpoints of a deleted file kept: %+v", recs)
			}
		})
	}
}

func TestFileFollowsAppends(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	writeFile(t, path, numbered("x", 1, 3))
	rec := &recorder{}
	r := start(t, testFileOptions(t, dir, "app.log"), rec)
	testenv.WaitFor(t, timeout, "first lines", rec.has(3))

	want := lines(numbered("x", 1, 3))
	for i := range 20 {
		content := numbered("y", i*10, i*10+9)
		appendFile(t, path, content)
		want = append(want, lines(content)...)
	}
	appendFile(t, path, "par")
	testenv.WaitFor(t, timeout, "appended lines", rec.has(len(want)))
	appendFile(t, path, "tial\r")
	appendFile(t, path, "\n")
	want = append(want, "partial")
	testenv.WaitFor(t, timeout, "the completed line", rec.has(len(want)))
	r.stop(t)
	equal(t, "events", rec.events(), want)
	equal(t, "from source", rec.from(path), want)

	st := r.f.Stats()
	size := fileSize(t, path)
	if st.Events != int64(len(want)) || st.CommittedLag != 0 || st.Files != 0 {
		t.Errorf("stats = %+v", st)
	}
	recs := readCheckpoints(t, r.f.opts.CheckpointFile)
	if len(recs) != 1 || recs[0].Path != path || recs[0].Offset != size {
		t.Errorf("checkpoints = %+v, want %s at %d", recs, path, size)
	}
}

// TestFileRenameRotation: app.log is renamed and a new app.log created;
// the writer still appends to the renamed file before the new one appears.
// Every line comes once, the old file's unterminated last line included.
func TestFileRenameRotation(t *testing.T) {
	tests := []struct {
		name      string
		glob      string
		wantFiles int // followed after the rotation
	}{
		{"rotated name not matched", "app.log", 1},
		{"rotated name matched too", "app.log*", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			old, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			defer old.Close()
			old.WriteString(numbered("old", 1, 100))
			opts := testFileOptions(t, dir, tc.glob)
			opts.BatchEvents = 7
			rec := &recorder{}
			r := start(t, opts, rec)
			testenv.WaitFor(t, timeout, "first lines", rec.has(100))

			if err := os.Rename(path, path+".1"); err != nil {
				t.Fatal(err)
			}
			old.WriteString(numbered("old", 101, 120) + "old-unterminated")
			writeFile(t, path, numbered("new", 1, 30))

			wantOld := append(lines(numbered("old", 1, 120)), "old-unterminated")
			wantNew := lines(numbered("new", 1, 30))
			if tc.wantFiles == 1 {
				testenv.WaitFor(t, timeout, "old file dropped", func() bool { return r.f.Stats().Files == 1 && rec.count() >= 151 })
			} else {
				// The renamed file is still followed: its last line stays
				// unterminated until the writer ends it.
				wantOld = wantOld[:120]
				testenv.WaitFor(t, timeout, "all lines", rec.has(150))
				old.WriteString("\nold-last\n")
				wantOld = append(wantOld, "old-unterminated", "old-last")
				testenv.WaitFor(t, timeout, "last lines", rec.has(152))
			}
			// Both files must be kept at their end for a while: append a
			// sentinel to the new file and wait for it, then compare.
			appendFile(t, path, "new-sentinel\n")
			wantNew = append(wantNew, "new-sentinel")
			testenv.WaitFor(t, timeout, "sentinel", func() bool { return slices.Contains(rec.from(path), "new-sentinel") })
			r.stop(t)

			// Each file's lines come in order, once; the two files' lines
			// may interleave.
			var gotOld, gotNew []string
			for _, ev := range rec.events() {
				if strings.HasPrefix(ev, "old") {
					gotOld = append(gotOld, ev)
				} else {
					gotNew = append(gotNew, ev)
				}
			}
			equal(t, "old file", gotOld, wantOld)
			equal(t, "new file", gotNew, wantNew)
			var newBySource []string
			for _, ev := range rec.from(path) {
				if strings.HasPrefix(ev, "new") {
					newBySource = append(newBySource, ev)
				}
			}
			equal(t, "new file by source", newBySource, wantNew)
			if st := r.f.Stats(); st.Rotations != 1 || st.Truncations != 0 {
				t.Errorf("stats = %+v, want 1 rotation", st)
			}
			recs := readCheckpoints(t, opts.CheckpointFile)
			if len(recs) != tc.wantFiles {
				t.Errorf("checkpoints = %+v, want %d", recs, tc.wantFiles)
			}
		})
	}
}

func TestFileCopyTruncate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	writeFile(t, path, numbered("before", 1, 50))
	rec := &recorder{}
	r := start(t, testFileOptions(t, dir, "app.log"), rec)
	testenv.WaitFor(t, timeout, "first lines", rec.has(50))

	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, timeout, "truncation noticed", func() bool { return r.f.Stats().Truncations == 1 })
	appendFile(t, path, numbered("after", 1, 5))
	testenv.WaitFor(t, timeout, "lines after truncation", rec.has(55))
	r.stop(t)

	want := append(lines(numbered("before", 1, 50)), lines(numbered("after", 1, 5))...)
	equal(t, "events", rec.events(), want)
	recs := readCheckpoints(t, r.f.opts.CheckpointFile)
	if len(recs) != 1 || recs[0].Offset != fileSize(t, path) {
		t.Errorf("checkpoints = %+v, want offset %d", recs, fileSize(t, path))
	}
}

func TestFileNewFilesByGlob(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.log"), numbered("a", 1, 3))
	rec := &recorder{}
	r := start(t, testFileOptions(t, dir, "*.log"), rec)
	testenv.WaitFor(t, timeout, "a.log", rec.has(3))

	writeFile(t, filepath.Join(dir, "other.txt"), "not followed\n")
	if err := os.Mkdir(filepath.Join(dir, "dir.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "b.log"), numbered("b", 1, 4))
	testenv.WaitFor(t, timeout, "b.log", rec.has(7))
	r.stop(t)
	equal(t, "a.log", rec.from(filepath.Join(dir, "a.log")), lines(numbered("a", 1, 3)))
	equal(t, "b.log", rec.from(filepath.Join(dir, "b.log")), lines(numbered("b", 1, 4)))
	if n := rec.count(); n != 7 {
		t.Errorf("got %d events, want 7", n)
	}
}

// TestFileOverlappingGlobs: a file matched by two globs, or by two names
// (a hard link), is read once.
func TestFileOverlappingGlobs(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.log"), numbered("a", 1, 10))
	if err := os.Link(filepath.Join(dir, "a.log"), filepath.Join(dir, "a.log.link")); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	r := start(t, testFileOptions(t, dir, "*.log", "a.*", "*.link"), rec)
	testenv.WaitFor(t, timeout, "a.log", rec.has(10))
	// A file created now is found by a later scan: once it is read, the
	// globs have been evaluated again since a.log was read.
	writeFile(t, filepath.Join(dir, "b.log"), "b\n")
	testenv.WaitFor(t, timeout, "b.log", func() bool { return slices.Contains(rec.events(), "b") })
	r.stop(t)
	want := append(lines(numbered("a", 1, 10)), "b")
	equal(t, "events", rec.events(), want)
	if st := r.f.Stats(); st.Rotations != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// TestFileRestartResumes: a restart resumes after the last batch committed
// in a row: batches not committed, or committed after one that was not, are
// read again; nothing before them is.
func TestFileRestartResumes(t *testing.T) {
	tests := []struct {
		name       string
		commit     []int // batches (of 2 lines) committed, in this order
		resumeLine int   // the first line read after the restart
	}{
		{"first three", []int{0, 1, 2}, 7},
		{"none", nil, 1},
		{"all", []int{0, 1, 2, 3, 4}, 11},
		{"out of order, complete", []int{2, 0, 1}, 7},
		{"out of order, gap", []int{0, 2, 3}, 3},
		{"twice", []int{0, 0, 1}, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			content := numbered("line", 1, 10)
			writeFile(t, path, content)
			opts := testFileOptions(t, dir, "app.log")
			opts.BatchEvents = 2

			rec := &recorder{hold: true}
			r := start(t, opts, rec)
			testenv.WaitFor(t, timeout, "all lines", rec.has(10))
			if n := rec.numBatches(); n != 5 {
				t.Fatalf("got %d batches, want 5", n)
			}
			for _, i := range tc.commit {
				rec.batch(i).commit()
			}
			lag := r.f.Stats().CommittedLag
			r.stop(t)
			offset := int64(len(numbered("line", 1, tc.resumeLine-1)))
			if tc.resumeLine == 1 {
				offset = 0
			}
			if want := int64(len(content)) - offset; lag != want {
				t.Errorf("committed lag = %d, want %d", lag, want)
			}
			recs := readCheckpoints(t, opts.CheckpointFile)
			if len(recs) != 1 || recs[0].Offset != offset || recs[0].Path != path {
				t.Fatalf("checkpoints = %+v, want %s at %d", recs, path, offset)
			}

			appendFile(t, path, "line-11\n")
			rec2 := &recorder{}
			r2 := start(t, opts, rec2)
			want := lines(numbered("line", tc.resumeLine, 11))
			testenv.WaitFor(t, timeout, "lines after restart", rec2.has(len(want)))
			r2.stop(t)
			equal(t, "events after restart", rec2.events(), want)
		})
	}
}

// TestFileCommitAfterTruncation: batches of a file's content from before a
// truncation no longer count once it is truncated.
func TestFileCommitAfterTruncation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	writeFile(t, path, numbered("before", 1, 10))
	opts := testFileOptions(t, dir, "app.log")
	rec := &recorder{hold: true}
	r := start(t, opts, rec)
	testenv.WaitFor(t, timeout, "first lines", rec.has(10))
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, timeout, "truncation", func() bool { return r.f.Stats().Truncations == 1 })
	rec.batch(0).commit() // late, of the content before
	appendFile(t, path, "after\n")
	testenv.WaitFor(t, timeout, "line after", rec.has(11))
	r.stop(t)
	recs := readCheckpoints(t, opts.CheckpointFile)
	if len(recs) != 1 || recs[0].Offset != 0 {
		t.Fatalf("checkpoints = %+v, want offset 0", recs)
	}
}

func TestFileStartAtEnd(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log"), filepath.Join(dir, "c.log")
	writeFile(t, a, numbered("a", 1, 5)+"a-being-writ")
	opts := testFileOptions(t, dir, "*.log")
	opts.StartAt = StartAtEnd
	rec := &recorder{}
	r := start(t, opts, rec)
	testenv.WaitFor(t, timeout, "a.log followed", func() bool { return r.f.Stats().Files == 1 })
	appendFile(t, a, "ten\na-6\n")
	writeFile(t, b, numbered("b", 1, 3))
	testenv.WaitFor(t, timeout, "new lines", rec.has(4))
	r.stop(t)
	equal(t, "a.log", rec.from(a), []string{"a-6"})
	equal(t, "b.log", rec.from(b), lines(numbered("b", 1, 3)))

	// At a restart the checkpoints decide; a file created meanwhile is
	// read from its beginning.
	appendFile(t, a, "a-7\n")
	writeFile(t, c, numbered("c", 1, 2))
	rec2 := &recorder{}
	r2 := start(t, opts, rec2)
	testenv.WaitFor(t, timeout, "lines after restart", rec2.has(3))
	r2.stop(t)
	equal(t, "a.log after restart", rec2.from(a), []string{"a-7"})
	equal(t, "c.log after restart", rec2.from(c), lines(numbered("c", 1, 2)))
	if n := rec2.count(); n != 3 {
		t.Errorf("got %d events after restart, want 3", n)
	}
}

// TestFileCheckpointLoad: a restart finds files by identity, whatever
// their path now; a file now shorter than its checkpoint is read from the
// start; entries of files gone are dropped.
func TestFileCheckpointLoad(t *testing.T) {
	dir := t.TempDir()
	moved, short := filepath.Join(dir, "moved.log"), filepath.Join(dir, "short.log")
	writeFile(t, moved, "m-1\nm-2\n")
	writeFile(t, short, "s-1\n")
	opts := testFileOptions(t, dir, "*.log")
	writeCheckpoints(t, opts.CheckpointFile, []checkpointRecord{
		record(t, moved, "old-name.log", 4),
		record(t, short, short, 100),
		{Path: filepath.Join(dir, "gone.log"), Dev: 1, Inode: 1, Offset: 10},
	})
	rec := &recorder{}
	r := start(t, opts, rec)
	testenv.WaitFor(t, timeout, "lines", rec.has(2))
	r.stop(t)
	equal(t, "moved", rec.from(moved), []string{"m-2"})
	equal(t, "short", rec.from(short), []string{"s-1"})
	if st := r.f.Stats(); st.Truncations != 1 || st.Events != 2 {
		t.Errorf("stats = %+v", st)
	}
	recs := readCheckpoints(t, opts.CheckpointFile)
	if len(recs) != 2 || recs[0].Path != moved || recs[0].Offset != 8 || recs[1].Path != short || recs[1].Offset != 4 {
		t.Errorf("checkpoints = %+v", recs)
	}
}

func TestFileCorruptCheckpoint(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"garbage", "not json", "corrupt"},
		{"empty", "", "corrupt"},
		{"truncated", `{"version":1,"files":[{"path":"a"`, "corrupt"},
		{"unknown field", `{"version":1,"files":[],"x":1}`, "corrupt"},
		{"trailing data", `{"version":1,"files":[]} {}`, "corrupt"},
		{"negative offset", `{"version":1,"files":[{"path":"a","dev":1,"inode":2,"offset":-1}]}`, "negative offset"},
		{"duplicate", `{"version":1,"files":[{"dev":1,"inode":2},{"dev":1,"inode":2}]}`, "twice"},
		{"version", `{"version":7,"files":[]}`, "unknown version 7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "a.log"), "a\n")
			opts := testFileOptions(t, dir, "*.log")
			os.MkdirAll(filepath.Dir(opts.CheckpointFile), 0o755)
			writeFile(t, opts.CheckpointFile, tc.content)
			f, err := NewFile(opts)
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{}
			err = f.Run(context.Background(), rec.emit)
			if err == nil || !strings.Contains(err.Error(), opts.CheckpointFile) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run = %v, want an error naming %s (%s)", err, opts.CheckpointFile, tc.want)
			}
			if rec.count() != 0 {
				t.Errorf("read %d events despite the error", rec.count())
			}
			data, _ := os.ReadFile(opts.CheckpointFile)
			if string(data) != tc.content {
				t.Errorf("checkpoint file changed to %q", data)
			}
		})
	}
}

// TestFileEmitError: a batch not accepted stops Run, which returns nil
// after writing its checkpoint; the file is not read further.
func TestFileEmitError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	writeFile(t, path, numbered("x", 1, 10))
	opts := testFileOptions(t, dir, "app.log")
	opts.BatchEvents = 3
	f, err := NewFile(opts)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	err = f.Run(context.Background(), func(_ context.Context, b *event.Batch) error {
		calls++
		if calls == 2 {
			return errTestStop
		}
		b.Commit()
		return nil
	})
	if err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if calls != 2 {
		t.Errorf("emit called %d times, want 2", calls)
	}
	recs := readCheckpoints(t, opts.CheckpointFile)
	if len(recs) != 1 || recs[0].Offset != int64(len(numbered("x", 1, 3))) {
		t.Errorf("checkpoints = %+v", recs)
	}
}

// TestFileBatch checks the fields of an emitted batch, and that a batch
// keeps to its limits.
func TestFileBatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	writeFile(t, path, strings.Repeat("0123456789\n", 100))
	opts := testFileOptions(t, dir, "app.log")
	opts.BatchBytes = 45
	opts.MaxLineBytes = 20
	f, err := NewFile(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	before := time.Now()
	events := 0
	err = f.Run(ctx, func(_ context.Context, b *event.Batch) error {
		if b.Input != "test" || b.Source != path || b.Commit == nil || b.Time.Before(before) {
			t.Errorf("batch = %+v", b)
		}
		if len(b.Events) != 4 {
			t.Errorf("batch of %d events, want 4 (45 bytes)", len(b.Events))
		}
		b.Commit()
		if events += len(b.Events); events == 100 {
			cancel()
		}
		return nil
	})
	if err != nil || events != 100 {
		t.Fatalf("Run = %v after %d events", err, events)
	}
}

func TestNewFileOptions(t *testing.T) {
	f, err := NewFile(FileOptions{Paths: []string{"/x/*.log"}, CheckpointFile: "/x/c.json"})
	if err != nil {
		t.Fatal(err)
	}
	o := f.opts
	if o.Name != "file" || o.StartAt != StartAtBeginning || o.MaxLineBytes != DefaultMaxLineBytes ||
		o.BatchEvents != DefaultBatchEvents || o.BatchBytes != DefaultBatchBytes || o.PollInterval != DefaultPollInterval ||
		o.GlobInterval != DefaultGlobInterval || o.CheckpointEvery != DefaultCheckpointEvery || o.Logger == nil {
		t.Errorf("defaults = %+v", o)
	}
	bad := []FileOptions{
		{CheckpointFile: "c"},
		{Paths: []string{"a"}},
		{Paths: []string{"[a"}, CheckpointFile: "c"},
		{Paths: []string{"a"}, CheckpointFile: "c", StartAt: "middle"},
		{Paths: []string{"a"}, CheckpointFile: "c", PollInterval: -1},
	}
	for _, o := range bad {
		if _, err := NewFile(o); err == nil {
			t.Errorf("NewFile(%+v) succeeded", o)
		}
	}
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func readCheckpoints(t testing.TB, path string) []checkpointRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cf checkpointFile
	if err := json.Unmarshal(data, &cf); err != nil {
		t.Fatalf("checkpoint file %s: %v", path, err)
	}
	return cf.Files
}

func writeCheckpoints(t testing.TB, path string, recs []checkpointRecord) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := storeCheckpoints(path, recs, false); err != nil {
		t.Fatal(err)
	}
}

// record returns a checkpoint of the file at path, recorded as name.
func record(t testing.TB, path, name string, offset int64) checkpointRecord {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	id, ok := fileIDOf(fi)
	if !ok {
		t.Skip("no file identities here")
	}
	return checkpointRecord{Path: name, Dev: id.dev, Inode: id.ino, Offset: offset}
}

// TestFileBackpressure: while emit blocks, nothing more is read, and
// commits arriving meanwhile are still persisted.
func TestFileBackpressure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	writeFile(t, path, numbered("x", 1, 6))
	opts := testFileOptions(t, dir, "app.log")
	opts.BatchEvents = 2
	f, err := NewFile(opts)
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan func(), 1)
	blocked, release := make(chan struct{}), make(chan struct{})
	calls := 0
	emit := func(_ context.Context, b *event.Batch) error {
		calls++
		switch calls {
		case 1:
			first <- b.Commit // committed later, by the test
		case 2:
			close(blocked)
			<-release
			b.Commit()
		default:
			b.Commit()
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, emit) }()

	<-blocked
	(<-first)()
	offset := int64(len(numbered("x", 1, 2)))
	testenv.WaitFor(t, timeout, "checkpoint written while emit blocks", func() bool {
		data, err := os.ReadFile(opts.CheckpointFile)
		if err != nil {
			return false
		}
		var cf checkpointFile
		return json.Unmarshal(data, &cf) == nil && len(cf.Files) == 1 && cf.Files[0].Offset == offset
	})
	if st := f.Stats(); st.Events != 4 {
		t.Errorf("emitted %d events while blocked, want 4", st.Events)
	}
	close(release)
	testenv.WaitFor(t, timeout, "all lines", func() bool { return f.Stats().Events == 6 && f.Stats().CommittedLag == 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Errorf("emit called %d times, want 3", calls)
	}
}

// TestFileLateCommit: commits arriving after Run returned are persisted by
// WriteCheckpoint, and a restart resumes after them.
func TestFileLateCommit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	writeFile(t, path, numbered("x", 1, 4))
	opts := testFileOptions(t, dir, "app.log")
	opts.BatchEvents = 2
	rec := &recorder{hold: true}
	r := start(t, opts, rec)
	testenv.WaitFor(t, timeout, "all lines", rec.has(4))
	r.stop(t)
	if recs := readCheckpoints(t, opts.CheckpointFile); len(recs) != 1 || recs[0].Offset != 0 {
		t.Fatalf("checkpoints = %+v, want offset 0", recs)
	}
	rec.batch(0).commit()
	if err := r.f.WriteCheckpoint(); err != nil {
		t.Fatal(err)
	}
	if recs := readCheckpoints(t, opts.CheckpointFile); len(recs) != 1 || recs[0].Offset != int64(len(numbered("x", 1, 2))) {
		t.Fatalf("checkpoints = %+v, want the first batch committed", recs)
	}
	rec2 := &recorder{}
	r2 := start(t, opts, rec2)
	testenv.WaitFor(t, timeout, "lines after restart", rec2.has(2))
	r2.stop(t)
	equal(t, "events after restart", rec2.events(), []string{"x-3", "x-4"})
}

// TestFileRotationUnderLoad: a writer rotates its file every few hundred
// lines while the input reads; every line arrives exactly once. With a glob
// that matches only the live name, a file must stay there long enough to be
// found (a glob interval: rotations are paced); with one that matches the
// rotated names too, nothing is missed however fast files rotate.
func TestFileRotationUnderLoad(t *testing.T) {
	tests := []struct {
		name      string
		glob      string
		paced     bool
		wantFiles int // followed at the end
	}{
		{"live name only, paced", "app.log", true, 1},
		{"rotated names too, unpaced", "app.log*", false, 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			const total, every = 5000, 700
			rec := &recorder{}
			opts := testFileOptions(t, dir, tc.glob)
			opts.BatchEvents = 64
			writeFile(t, path, "")
			r := start(t, opts, rec)
			testenv.WaitFor(t, timeout, "file followed", func() bool { return r.f.Stats().Files == 1 })

			w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			rotations := 0
			for i := 1; i <= total; i++ {
				if _, err := w.WriteString(numbered("l", i, i)); err != nil {
					t.Fatal(err)
				}
				if tc.paced && i%every == 1 {
					// The first line of a new file: once it is read,
					// the file is followed.
					line := fmt.Sprintf("l-%d", i)
					testenv.WaitFor(t, timeout, line, func() bool { return slices.Contains(rec.events(), line) })
				}
				if i%every == 0 {
					rotations++
					w.Close()
					if err := os.Rename(path, fmt.Sprintf("%s.%d", path, rotations)); err != nil {
						t.Fatal(err)
					}
					if w, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			w.Close()
			testenv.WaitFor(t, timeout, "all lines", rec.has(total))
			testenv.WaitFor(t, timeout, "rotated files dropped", func() bool { return r.f.Stats().Files == tc.wantFiles })
			r.stop(t)

			got := rec.events()
			seen := make(map[string]int, total)
			for _, ev := range got {
				seen[ev]++
			}
			for i := 1; i <= total; i++ {
				if n := seen[fmt.Sprintf("l-%d", i)]; n != 1 {
					t.Errorf("line %d arrived %d times", i, n)
				}
			}
			if len(got) != total {
				t.Errorf("got %d events, want %d", len(got), total)
			}
			if st := r.f.Stats(); tc.paced && st.Rotations != int64(rotations) {
				t.Errorf("rotations = %d, want %d", st.Rotations, rotations)
			}
		})
	}
}

package api_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"pulse/api"
	"pulse/metrics"
	"pulse/outputs"
	"pulse/testenv"
)

// writeSnapshotFiles writes snaps into dir through the real file output,
// as a merger's type: file output on the snapshots stream does, rotating
// files at 64 KiB.
func writeSnapshotFiles(t *testing.T, dir string, snaps []metrics.Snapshot) {
	t.Helper()
	o, err := outputs.NewFile(outputs.FileOptions{Dir: dir, MaxFileBytes: 64 << 10, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	src := newMemSource()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx, src) }()
	n := src.put(snaps)
	testenv.WaitFor(t, 30*time.Second, "snapshots written", func() bool { return src.ackedCount() == n })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestFileStore: the same data set and the same answers as over
// PostgreSQL, from a merger's snapshot files — with older snapshots of the
// same windows before and after the newest (the newest seq wins), files
// read as they grow, and a line still being written left for later.
func TestFileStore(t *testing.T) {
	ds := newDataSet(time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	stale := ds.snapshots(5)
	for i := range stale {
		stale[i].Count += 1000
		stale[i].Max = 1e9
	}
	writeSnapshotFiles(t, dir, stale)
	writeSnapshotFiles(t, dir, ds.snapshots(10))
	writeSnapshotFiles(t, dir, stale[:50])
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(files) < 3 {
		t.Fatalf("%d files: want rotation to spread the snapshots", len(files))
	}
	st, err := api.NewFiles(api.FileOptions{Dirs: []string{dir, filepath.Join(t.TempDir(), "not-yet")}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, api.Options{Store: st, MaxRows: 10_000, Now: func() time.Time { return ds.base.Add(2 * time.Hour) }})
	checkAnswers(t, ds, base, "")
	t.Run("catalog", func(t *testing.T) { checkCatalog(t, ds, base, "") })
	t.Run("bad queries", func(t *testing.T) { checkBadQueries(t, ds, base, "") })

	// A window of the next hour, its last line not finished yet.
	next := newDataSet(ds.base.Add(time.Hour)).snapshots(10)
	var line []byte
	for i := range next {
		if next[i].Name == "router.requests" && next[i].WindowStart.Equal(ds.base.Add(time.Hour)) {
			line = next[i].AppendJSON(line)
			break
		}
	}
	path := filepath.Join(dir, "events-999999.log")
	if err := os.WriteFile(path, line, 0o644); err != nil {
		t.Fatal(err)
	}
	countAt := func() int {
		var a answer
		get(t, base, seriesPath("router.requests", ds.base.Add(time.Hour), ds.base.Add(2*time.Hour)), "", &a)
		n := 0
		for _, s := range a.Series {
			n += len(s.Points)
		}
		return n
	}
	if n := countAt(); n != 0 {
		t.Errorf("%d points from a line without its newline", n)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Write([]byte("\n"))
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n := countAt(); n != 1 {
		t.Errorf("%d points once the line is complete, want 1", n)
	}
	if s := st.Stats(); s.Invalid != 0 || s.Dropped != 0 || s.Windows != len(ds.snapshots(1))+1 {
		t.Errorf("stats %+v: want %d windows, none invalid or dropped", s, len(ds.snapshots(1))+1)
	}
}

// TestTwoRollupsOfOneKey: the same observations stored as 10 s and as 1 m
// windows (two roll-ups, as a 10s and a 1m table would hold) are counted
// once, from the longer windows that divide the step.
func TestTwoRollupsOfOneKey(t *testing.T) {
	ds := newDataSet(time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	fine := ds.snapshotsOf(1, 10*time.Second)
	writeSnapshotFiles(t, dir, fine)
	writeSnapshotFiles(t, dir, ds.snapshots(1))
	st, err := api.NewFiles(api.FileOptions{Dirs: []string{dir}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, api.Options{Store: st, MaxRows: 100_000})
	var a answer
	get(t, base, seriesPath("router.requests", ds.base, ds.base.Add(time.Hour), "step", "10m"), "", &a)
	if len(a.Series) != 1 || len(a.WindowS) != 1 || a.WindowS[0] != 60 {
		t.Fatalf("answer %+v: want one series from the 60 s windows", a)
	}
	checkPoints(t, "counter", a.Series[0].Points, ds.expected("router.requests", 10*time.Minute, nil), 10*time.Minute)
	n10 := 0
	for _, s := range fine {
		if s.Name == "router.requests" {
			n10++
		}
	}
	if a.Skipped != n10 {
		t.Errorf("skipped %d, want the %d 10 s windows", a.Skipped, n10)
	}
}

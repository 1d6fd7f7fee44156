package lsevents

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pulse/testenv"
)

// knownEventDir writes two event files: 100 lines from 10:00:00 every
// 100ms, then 50 lines from 10:00:10 every 200ms and a torn last line; and
// a file that is not an event file.
func knownEventDir(t *testing.T) (dir string, sizes [2]int64) {
	dir = t.TempDir()
	one := eventLines(base, 100*time.Millisecond, 100)
	two := eventLines(base.Add(10*time.Second), 200*time.Millisecond, 50) + "2026-11-21T10:00:20.000000+00:00 torn, no newl"
	writeFile(t, filepath.Join(dir, "events-000001.log"), one)
	writeFile(t, filepath.Join(dir, "events-000002.log"), two)
	writeFile(t, filepath.Join(dir, "notes.txt"), "not events\n")
	return dir, [2]int64{int64(len(one)), int64(len(two))}
}

func TestEventDir(t *testing.T) {
	dir, sizes := knownEventDir(t)
	r, err := NewScanner(nil).Scan([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.EventDirs) != 1 || len(r.DataDirs) != 0 {
		t.Fatalf("report %+v", r)
	}
	ed := r.EventDirs[0]
	want := []EventFile{
		{Name: "events-000001.log", Events: 100, Bytes: sizes[0], First: base, Last: base.Add(9900 * time.Millisecond)},
		{Name: "events-000002.log", Events: 50, Bytes: sizes[1], First: base.Add(10 * time.Second), Last: base.Add(19800 * time.Millisecond)},
	}
	if len(ed.Files) != len(want) {
		t.Fatalf("files %+v", ed.Files)
	}
	for i, w := range want {
		f := ed.Files[i]
		if f.Name != w.Name || f.Events != w.Events || f.Bytes != w.Bytes || !f.First.Equal(w.First) || !f.Last.Equal(w.Last) {
			t.Errorf("file %d: %+v, want %+v", i, f, w)
		}
	}
	if ed.Events != 150 || ed.Bytes != sizes[0]+sizes[1] || !ed.First.Equal(base) || !ed.Last.Equal(want[1].Last) {
		t.Errorf("totals: %d events, %d bytes, %v to %v", ed.Events, ed.Bytes, ed.First, ed.Last)
	}
	// 150 events whose timestamps span the 20 whole seconds 10:00:00-10:00:19.
	if ed.Rate == nil || *ed.Rate != 7.5 {
		t.Errorf("rate %v, want 7.5", ed.Rate)
	}
	if ed.SampledRate != nil {
		t.Errorf("sampled rate %v on the first look", *ed.SampledRate)
	}
}

func TestEventDirText(t *testing.T) {
	dir, sizes := knownEventDir(t)
	var out strings.Builder
	if err := Run(context.Background(), Options{Dirs: []string{dir}}, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		dir + " (event directory)",
		"events-000001.log  100     " + size(sizes[0]),
		"2026-11-21T10:00:00.000Z  2026-11-21T10:00:09.900Z",
		"events-000002.log  50      " + size(sizes[1]),
		"2026-11-21T10:00:10.000Z  2026-11-21T10:00:19.800Z",
		"total: 2 files     150     " + size(sizes[0]+sizes[1]),
		"rate: 7.5 events/s (the last minute of event time",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}

func TestEventDirJSON(t *testing.T) {
	dir, _ := knownEventDir(t)
	var out strings.Builder
	if err := Run(context.Background(), Options{Dirs: []string{dir}, JSON: true}, &out); err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal([]byte(out.String()), &r); err != nil {
		t.Fatalf("%v:\n%s", err, out.String())
	}
	if len(r.EventDirs) != 1 || r.EventDirs[0].Events != 150 || len(r.EventDirs[0].Files) != 2 || *r.EventDirs[0].Rate != 7.5 {
		t.Fatalf("JSON report %+v", r)
	}
	if !strings.Contains(out.String(), `"events_per_second": 7.5`) {
		t.Fatalf("JSON lacks events_per_second:\n%s", out.String())
	}
}

// A second look reads only what was appended, and a rotated or truncated
// file is read again.
func TestEventDirIncremental(t *testing.T) {
	dir, _ := knownEventDir(t)
	s := NewScanner(nil)
	now := base
	s.now = func() time.Time { return now }
	if _, err := s.Scan([]string{dir}); err != nil {
		t.Fatal(err)
	}
	// Finish the torn line and add 30 more.
	two := filepath.Join(dir, "events-000002.log")
	appendFile(t, two, "ine\n"+eventLines(base.Add(21*time.Second), time.Second, 30))
	now = now.Add(2 * time.Second)
	r, err := s.Scan([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	ed := r.EventDirs[0]
	if ed.Files[1].Events != 50+1+30 || ed.Events != 181 {
		t.Fatalf("after appending: %d events in file 2, %d in all; want 81, 181", ed.Files[1].Events, ed.Events)
	}
	if last := base.Add(50 * time.Second); !ed.Last.Equal(last) {
		t.Fatalf("last %v, want %v", ed.Last, last)
	}
	if ed.SampledRate == nil || *ed.SampledRate != 15.5 { // 31 events in 2 s
		t.Fatalf("sampled rate %v, want 15.5", ed.SampledRate)
	}
	fi, _ := os.Stat(two)
	if ed.Files[1].Bytes != fi.Size() {
		t.Fatalf("bytes %d, file has %d", ed.Files[1].Bytes, fi.Size())
	}

	// Replace file 1 with a shorter one, as rotation with reuse would.
	one := filepath.Join(dir, "events-000001.log")
	writeFile(t, one+".new", eventLines(base, time.Second, 3))
	if err := os.Rename(one+".new", one); err != nil {
		t.Fatal(err)
	}
	os.Remove(two)
	r, err = s.Scan([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if ed := r.EventDirs[0]; len(ed.Files) != 1 || ed.Events != 3 {
		t.Fatalf("after replacing: %+v", ed)
	}
	if len(s.files) != 1 {
		t.Fatalf("scanner still tracks %d files", len(s.files))
	}
}

func TestRateWindows(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    float64 // -1: none
	}{
		// 3 minutes at 2 lines a second: the last minute holds 120.
		{"long", eventLines(base, 500*time.Millisecond, 360), 2},
		// All in one second.
		{"burst", eventLines(base, time.Millisecond, 40), 40},
		// No timestamps.
		{"plain", "one\ntwo\nthree\n", -1},
		// Timestamps only on some lines: 4 timed lines in 4 s.
		{"mixed", "no time\n" + eventLines(base, time.Second, 4) + "no time either\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "events-000001.log"), tt.content)
			r, err := NewScanner(nil).Scan([]string{dir})
			if err != nil {
				t.Fatal(err)
			}
			got := r.EventDirs[0].Rate
			switch {
			case tt.want < 0 && got != nil:
				t.Fatalf("rate %v, want none", *got)
			case tt.want >= 0 && (got == nil || *got != tt.want):
				t.Fatalf("rate %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPlainLinesText(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "events-000001.log"), "one\ntwo\n")
	var out strings.Builder
	if err := Run(context.Background(), Options{Dirs: []string{dir}}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "events-000001.log  2       8B     -      -") || !strings.Contains(out.String(), "rate: - (no timestamps") {
		t.Fatalf("output:\n%s", out.String())
	}
}

func TestNotADirWeKnow(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "readme"), "x")
	for _, d := range []string{dir, filepath.Join(dir, "absent")} {
		if err := Run(context.Background(), Options{Dirs: []string{d}}, &strings.Builder{}); err == nil {
			t.Errorf("%s: no error", d)
		}
	}
}

func TestWatch(t *testing.T) {
	dir, _ := knownEventDir(t)
	var out testenv.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Dirs: []string{dir}, Watch: true, Interval: 20 * time.Millisecond, Terminal: true}, &out)
	}()
	testenv.WaitFor(t, 10*time.Second, "a third refresh", func() bool { return strings.Count(out.String(), "pulse lsevents — every") >= 3 })
	appendFile(t, filepath.Join(dir, "events-000001.log"), eventLines(base, time.Second, 10))
	testenv.WaitFor(t, 10*time.Second, "the appended lines", func() bool { return strings.Contains(out.String(), "total: 2 files     160") })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	text := out.String()
	if !strings.HasPrefix(text, "\033[H\033[2J") || !strings.Contains(text, "events added since the last refresh") {
		t.Fatalf("watch output:\n%q", text[:min(len(text), 600)])
	}
}

func TestSize(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{0, "0B"}, {8, "8B"}, {1023, "1023B"}, {1024, "1KiB"}, {1536, "1.5KiB"}, {9476, "9.3KiB"},
		{268435456, "256MiB"}, {64 << 20, "64MiB"}, {(1 << 30) + (1 << 29), "1.5GiB"}, {3 << 40, "3TiB"},
	} {
		if got := size(tt.n); got != tt.want {
			t.Errorf("size(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

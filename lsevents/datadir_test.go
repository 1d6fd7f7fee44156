package lsevents

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pulse/buffer"
)

// knownDataDir makes a data_dir with a buffer "web" holding batches of 10,
// 20, 30, 40 and 50 events, the first handed out and not acknowledged, and
// an empty buffer "archive"; and a file output's event directory.
func knownDataDir(t *testing.T) string {
	dir := t.TempDir()
	for _, name := range []string{"web", "archive"} {
		q, err := buffer.Open(buffer.Options{
			Dir: filepath.Join(dir, "buffers", name), Name: name, MaxBytes: 16 << 20,
			Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		})
		if err != nil {
			t.Fatal(err)
		}
		if name == "web" {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			for i := 1; i <= 5; i++ {
				if err := q.Put(ctx, []byte(strings.Repeat("x", 1000)), 10*i); err != nil {
					t.Fatal(err)
				}
			}
			m, err := q.Next(ctx)
			cancel()
			if err != nil || m.Events != 10 {
				t.Fatalf("Next: %d events, %v", m.Events, err)
			}
		}
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "out", "local", "events-000001.log"), eventLines(base, time.Second, 7))
	return dir
}

// frameBytes is what one batch of a 1000-byte payload counts against the
// cap: the payload, the 24-byte frame header and diskqueue's 4-byte length.
const frameBytes = 1000 + 24 + 4

func TestDataDir(t *testing.T) {
	dir := knownDataDir(t)
	s := NewScanner(map[string]int64{"web": 16 << 20})
	r, err := s.Scan([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.DataDirs) != 1 || len(r.EventDirs) != 0 {
		t.Fatalf("report %+v", r)
	}
	dd := r.DataDirs[0]
	if len(dd.Buffers) != 2 || dd.Buffers[0].Name != "archive" || dd.Buffers[1].Name != "web" {
		t.Fatalf("buffers %+v", dd.Buffers)
	}
	archive, web := dd.Buffers[0], dd.Buffers[1]
	if archive.Batches != 0 || archive.InFlight != 0 || archive.MaxBytes != 0 || archive.PercentOfCap != nil || archive.OldestAge != 0 {
		t.Errorf("archive %+v", archive)
	}
	if web.Batches != 4 || web.Events != 140 || web.InFlight != 1 || web.InFlightEvents != 10 || web.BadSegments != 0 {
		t.Errorf("web: %d batches, %d events, %d/%d in flight, %d bad; want 4, 140, 1/10, 0",
			web.Batches, web.Events, web.InFlight, web.InFlightEvents, web.BadSegments)
	}
	if web.Bytes != 5*frameBytes || web.MaxBytes != 16<<20 {
		t.Errorf("web: %d bytes of %d, want %d of %d", web.Bytes, web.MaxBytes, 5*frameBytes, 16<<20)
	}
	if want := 100 * float64(5*frameBytes) / (16 << 20); web.PercentOfCap == nil || *web.PercentOfCap != want {
		t.Errorf("web: %% of cap %v, want %v", web.PercentOfCap, want)
	}
	if web.Oldest.IsZero() || web.OldestAge < 0 || web.OldestAge > 60 {
		t.Errorf("web: oldest %v, age %vs", web.Oldest, web.OldestAge)
	}
	if len(dd.FileOutputs) != 1 || dd.FileOutputs[0].Events != 7 {
		t.Errorf("file outputs %+v", dd.FileOutputs)
	}
}

func TestDataDirTextWithConfig(t *testing.T) {
	dir := knownDataDir(t)
	cfg := filepath.Join(t.TempDir(), "pulse.yaml")
	writeFile(t, cfg, fmt.Sprintf(`data_dir: %s
inputs:
  - {name: in, type: stdin}
outputs:
  - {name: web, type: file, buffer: {max_bytes: 32MiB}}
`, dir))
	var out strings.Builder
	// No DIR: the config's data_dir.
	if err := Run(context.Background(), Options{Config: cfg}, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		dir + " (data_dir)",
		"BUFFER   BATCHES  EVENTS  BYTES   CAP    %CAP  OLDEST  IN-FLIGHT  IN-FLIGHT EVENTS  BAD SEGMENTS",
		"archive  0        0       0B      -      -     -       0          0                 0",
		fmt.Sprintf("web      4        140     %s  32MiB  0.0%%", size(5*frameBytes)), // the cap as written in the config
		"1          10                0",
		filepath.Join(dir, "out", "local") + " (file output)",
		"total: 1 files     7",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}

	out.Reset()
	if err := Run(context.Background(), Options{Config: cfg, JSON: true}, &out); err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal([]byte(out.String()), &r); err != nil {
		t.Fatal(err)
	}
	web := r.DataDirs[0].Buffers[1]
	if web.Batches != 4 || web.Events != 140 || web.InFlight != 1 || web.MaxBytes != 32<<20 {
		t.Fatalf("JSON: %+v", web)
	}
}

// A single buffer directory is recognised by its diskqueue files.
func TestBufferDir(t *testing.T) {
	dir := knownDataDir(t)
	r, err := NewScanner(nil).Scan([]string{filepath.Join(dir, "buffers", "web")})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.DataDirs) != 1 || len(r.DataDirs[0].Buffers) != 1 || r.DataDirs[0].Buffers[0].Events != 140 {
		t.Fatalf("report %+v", r)
	}
}

// A data_dir's shared buffers (data_dir/shared/<id>/queue) are listed
// after its outputs' own, with what they hold.
func TestDataDirSharedBuffer(t *testing.T) {
	dir := t.TempDir()
	for qdir, name := range map[string]string{
		filepath.Join(dir, "buffers", "a"):                        "a",
		filepath.Join(dir, "shared", "0123456789abcdef", "queue"): "shared-0123456789abcdef",
	} {
		q, err := buffer.Open(buffer.Options{Dir: qdir, Name: name, MaxBytes: 16 << 20, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if name != "a" {
			if err := q.Put(context.Background(), make([]byte, 1000), 7); err != nil {
				t.Fatal(err)
			}
		}
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
	}
	r, err := NewScanner(nil).Scan([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.DataDirs) != 1 || len(r.DataDirs[0].Buffers) != 2 {
		t.Fatalf("report %+v", r)
	}
	a, shared := r.DataDirs[0].Buffers[0], r.DataDirs[0].Buffers[1]
	if a.Name != "a" || a.Batches != 0 || shared.Name != "shared-0123456789abcdef" || shared.Batches != 1 || shared.Events != 7 {
		t.Errorf("buffers: %+v, %+v; want a empty, then the shared one with 1 batch of 7 events", a, shared)
	}
}

package demo

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestBenchFsync: -fsync all runs the agent once per mode, each run
// delivering every event with its own report, and prints a row per mode.
func TestBenchFsync(t *testing.T) {
	if testing.Short() {
		t.Skip("starts eight processes three times; run without -short")
	}
	out := t.TempDir()
	stdout, stderr, code := runPulse(t, 4*time.Minute, "bench", "-events", "20000", "-fsync", "all", "-out", out, "-q")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, mode := range FsyncModes {
		b, err := os.ReadFile(filepath.Join(out, "fsync-"+mode, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		var r Report
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: report.json: %v", mode, err)
		}
		if r.Fsync != mode || r.Events != 20000 || r.EventsPS <= 0 || r.CPUPerMEvents <= 0 {
			t.Errorf("%s: report fsync %q events %d events/s %v CPU-s/M %v", mode, r.Fsync, r.Events, r.EventsPS, r.CPUPerMEvents)
		}
		for _, c := range r.Clusters {
			if !c.Complete || c.IDs.Unique != 20000 || c.IDs.Missing != 0 {
				t.Errorf("%s: cluster %s: %+v", mode, c.Name, c)
			}
		}
		row := regexp.MustCompile(`(?m)^  ` + mode + ` +[0-9.]+[kM]? +[0-9.]+ +[0-9.]+ +[0-9.]+-[0-9.]+ *$`)
		if !row.MatchString(stdout) {
			t.Errorf("no table row for %s in:\n%s", mode, stdout)
		}
	}
	if !strings.Contains(stdout, "pulse bench -events 20000 -fsync always") {
		t.Errorf("the always run does not name its mode:\n%s", stdout)
	}
}

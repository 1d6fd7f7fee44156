package demo

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBenchMetricsReport: the real binary's pulse bench -metrics on a small
// file delivers every measurement exactly to the three shards' snapshots
// and every event to the archive, and reports its figures.
func TestBenchMetricsReport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts eight processes; run without -short")
	}
	out := t.TempDir()
	stdout, stderr, code := runPulse(t, 3*time.Minute, "bench", "-metrics", "-events", "30000", "-dynos", "50", "-out", out, "-q")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r MetricsReport
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("report.json: %v\n%s", err, b)
	}
	if r.Lines != 30000 || r.Measurements == 0 || r.Observed != r.Measurements || r.DroppedLate != 0 ||
		r.Seconds <= 0 || r.MeasurementsPS <= 0 || r.AgentCPUPerM <= 0 || r.MergerCPUPerM <= 0 ||
		r.ActiveKeys < 15*50 || r.AgentPeakRSS == 0 || r.MergerPeakRSS == 0 {
		t.Errorf("report: %s", b)
	}
	if a := r.Accuracy; !a.OK() || a.Exact != a.KeyWindows || a.KeyWindows == 0 || a.Split != 0 {
		t.Errorf("accuracy: %s", a)
	}
	if !r.Archive.Complete || r.Archive.IDs.Unique != 30000 || r.Archive.IDs.Duplicates != 0 {
		t.Errorf("archive: %+v", r.Archive)
	}
	if !strings.Contains(stdout, "key windows exact") || !strings.Contains(stdout, "M/min") {
		t.Errorf("no summary:\n%s", stdout)
	}
}

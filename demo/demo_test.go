package demo

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pulse/idcount"
	"pulse/testenv"
)

// pulseBin is the pulse binary built once for this test binary.
var pulseBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "demo-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pulseBin = filepath.Join(dir, "pulse")
	out, err := exec.Command("go", "build", "-o", pulseBin, "pulse/cmd/pulse").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build pulse: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runPulse runs the binary with a deadline and returns stdout, stderr and
// the exit code.
func runPulse(t *testing.T, timeout time.Duration, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(pulseBin, args...)
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
	case <-time.After(timeout):
		_ = cmd.Process.Signal(syscall.SIGTERM) // the command stops its children on SIGTERM
		<-done
		t.Fatalf("pulse %v still running after %v\nstdout:\n%s\nstderr:\n%s", args, timeout, stdout.String(), stderr.String())
	}
	return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
}

func TestDemoVerifiesAndReapsChildren(t *testing.T) {
	if testing.Short() {
		t.Skip("starts eight processes; run without -short")
	}
	stdout, stderr, code := runPulse(t, 2*time.Minute, "demo", "-events", "20000")
	if code != 0 || !strings.Contains(stdout, "verified: all 20000 events arrived at every destination") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"killed archive node 1", "restarted archive node 1", "20000 unique ids, 0 duplicates, 0 missing"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	// Every child is gone: the demo printed their pids.
	_, list, ok := strings.Cut(stdout, "child processes: pids")
	if !ok {
		t.Fatalf("no pid list in the summary:\n%s", stdout)
	}
	pids := strings.Fields(strings.SplitN(list, "\n", 2)[0])
	if len(pids) != 8 { // 2 sinks, chain, 2 mergers, gen, agent + the restarted sink
		t.Errorf("%d child pids, want 8: %v", len(pids), pids)
	}
	for _, s := range pids {
		pid, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("pid %q: %v", s, err)
		}
		testenv.WaitFor(t, 5*time.Second, fmt.Sprintf("child %d gone", pid), func() bool {
			_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
			return os.IsNotExist(err)
		})
	}
	if !strings.Contains(stderr, "archive") || !strings.Contains(stderr, "up ") {
		t.Errorf("no live progress on stderr:\n%s", stderr)
	}
}

func TestBenchReport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts eight processes; run without -short")
	}
	out, work, sinks := t.TempDir(), t.TempDir(), t.TempDir()
	stdout, stderr, code := runPulse(t, 2*time.Minute, "bench", "-events", "20000", "-out", out, "-dir", work, "-sink-dir", sinks, "-keep", "-q")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	// Each sink's files are under -sink-dir, none beside the agent's.
	for _, node := range []string{"a1", "a2", "b1", "b2", "c1", "c2"} {
		if got, _ := filepath.Glob(filepath.Join(sinks, "pulse-bench-sinks-*", node, "*")); len(got) == 0 {
			t.Errorf("no files of sink %s under -sink-dir %s", node, sinks)
		}
		if _, err := os.Stat(filepath.Join(work, node)); err == nil {
			t.Errorf("sink %s wrote into the working dir %s", node, work)
		}
	}
	if !strings.Contains(stdout, "sinks' files in") {
		t.Errorf("the table does not say where the sinks' files were:\n%s", stdout)
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("report.json: %v\n%s", err, b)
	}
	if r.Events != 20000 || r.Bytes == 0 || r.Seconds <= 0 || r.EventsPS <= 0 || r.CPUSeconds <= 0 || r.PeakRSSBytes == 0 || r.DiskBytesPerEvent <= 0 || len(r.Series) == 0 {
		t.Errorf("report has zero fields: %s", b)
	}
	if r.SinkDir != sinks || !strings.Contains(r.Command, "-sink-dir") {
		t.Errorf("report: sink_dir %q, command %q; want %q in both", r.SinkDir, r.Command, sinks)
	}
	if len(r.Clusters) != 3 {
		t.Fatalf("%d clusters, want 3", len(r.Clusters))
	}
	for _, c := range r.Clusters {
		if !c.Complete || c.IDs.Unique != 20000 || c.IDs.Missing != 0 {
			t.Errorf("cluster %s: %+v", c.Name, c)
		}
	}
	svg, err := os.ReadFile(filepath.Join(out, "chart.svg"))
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(svg))
	elements := 0
	for range 100_000 {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart.svg is not XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if elements == 0 && se.Name.Local != "svg" {
				t.Errorf("root element %q, want svg", se.Name.Local)
			}
			elements++
		}
	}
	if !strings.Contains(string(svg), "<polyline") {
		t.Error("chart.svg has no lines")
	}
}

func TestParseDown(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    *downSpec
		wantErr bool
	}{
		{"", nil, false},
		{"B:10s-30s", &downSpec{"b", 10 * time.Second, 30 * time.Second}, false},
		{"a:0s-", &downSpec{"a", 0, 0}, false},
		{"D:1s-2s", nil, true},
		{"B:10s", nil, true},
		{"B:30s-10s", nil, true},
		{"B:x-1s", nil, true},
	} {
		got, err := parseDown(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("parseDown(%q) error %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if tc.want == nil && got != nil || tc.want != nil && (got == nil || *got != *tc.want) {
			t.Errorf("parseDown(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestIDsCountsFiles(t *testing.T) {
	dir := t.TempDir()
	// Two nodes' files: id 1 twice, id 3 missing, a line without an id, a
	// last line without a newline.
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("n1.log", "x request_id=9 id=0\nx id=1\nno id here\n")
	write("n2.log", "x id=1\nx id=2\nx id=4")
	write("n3.log.tmp", "x id=3\n") // being written: skipped
	c, err := idcount.ScanDirs(5, dir)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Report()
	want := idcount.Report{Lines: 6, Unique: 4, Duplicates: 1, Unknown: 1, Missing: 1, FirstMiss: []int{3}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("report %v, want %v", got, want)
	}
}

// A -sink-dir that is not a directory is refused before anything starts.
func TestBenchSinkDirMustExist(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{filepath.Join(t.TempDir(), "missing"), file} {
		if _, _, err := (BenchOptions{SinkDir: dir}).withDefaults(); err == nil || !strings.Contains(err.Error(), "-sink-dir") {
			t.Errorf("-sink-dir %s: %v, want an error naming -sink-dir", dir, err)
		}
	}
	if _, _, err := (BenchOptions{SinkDir: t.TempDir()}).withDefaults(); err != nil {
		t.Errorf("-sink-dir of an existing dir: %v", err)
	}
}

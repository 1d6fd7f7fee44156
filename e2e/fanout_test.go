package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pulse/testenv"
)

// TestFanoutThreeClusters: one agent, three clusters of two `pulse sink`
// nodes each, 1,000,000 events in the native protocol. During the run one
// node of cluster A is killed, all of cluster B answers 503 for 20 s, and
// cluster C answers with 50 ms of latency. Every cluster ends up with every
// event; cluster A's throughput is reported next to a run without faults.
func TestFanoutThreeClusters(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end fanout test; run without -short")
	}
	const lines = 1_000_000
	root := t.TempDir()
	logFile := filepath.Join(root, "app.log")
	size, err := testenv.WriteLines(logFile, lines, 240)
	if err != nil {
		t.Fatal(err)
	}
	baseline := runFanout(t, filepath.Join(root, "baseline"), logFile, size, lines, false)
	faults := runFanout(t, filepath.Join(root, "faults"), logFile, size, lines, true)
	t.Logf("cluster A: %.0f events/s without faults, %.0f events/s with a node killed, B refusing for 20 s and C slow (ratio %.2f)",
		baseline, faults, faults/baseline)
}

// runFanout runs the scenario once and returns cluster A's events/s.
func runFanout(t *testing.T, root, logFile string, size int64, lines int, faults bool) float64 {
	var bFlags, cFlags []string
	if faults {
		bFlags = []string{"-down-for", "20s"}
		cFlags = []string{"-latency", "50ms"}
	}
	clusters := map[string][]*testenv.Node{
		"a": {testenv.StartSink(t, root, "a1"), testenv.StartSink(t, root, "a2")},
		"b": {testenv.StartSink(t, root, "b1", bFlags...), testenv.StartSink(t, root, "b2", bFlags...)},
		"c": {testenv.StartSink(t, root, "c1", cFlags...), testenv.StartSink(t, root, "c2", cFlags...)},
	}
	var outs strings.Builder
	for _, name := range []string{"a", "b", "c"} {
		n := clusters[name]
		fmt.Fprintf(&outs, `  - name: %s
    type: http
    endpoints: [%q, %q]
    encoding: pulse
    balance: least_loaded
    max_in_flight: 4
    timeout: 5s
    retry_max: 1s
    batch: {max_events: 5000, max_bytes: 1MiB, max_wait: 100ms}
    buffer: {max_bytes: 512MiB}
`, name, n[0].Addr, n[1].Addr)
	}
	agent := testenv.StartAgent(t, root, "agent", `id: fanout
data_dir: %[1]s
shutdown_timeout: 30s
inputs:
  - {name: app, type: file, paths: [`+fmt.Sprintf("%q", logFile)+`], poll_interval: 20ms}
outputs:
`+outs.String())

	start := time.Now()
	dirsOf := func(name string) []string {
		return []string{clusters[name][0].Dir, clusters[name][1].Dir}
	}
	if faults {
		testenv.WaitFor(t, time.Minute, "a third of the events at cluster A", func() bool {
			mustRun(t, agent.Process)
			return dirSize(dirsOf("a")[0])+dirSize(dirsOf("a")[1]) > size/3
		})
		clusters["a"][0].Signal(syscall.SIGKILL)
		t.Logf("killed node a1 after %v", time.Since(start).Round(time.Millisecond))
	}
	done := map[string]time.Duration{}
	testenv.WaitFor(t, 4*time.Minute, "every cluster has every event", func() bool {
		mustRun(t, agent.Process)
		for _, name := range []string{"a", "b", "c"} {
			if _, ok := done[name]; ok {
				continue
			}
			dirs := dirsOf(name)
			if dirSize(dirs[0])+dirSize(dirs[1]) < size {
				continue
			}
			ids, err := testenv.ScanDirs(lines, dirs...)
			if err == nil && ids.Complete() {
				done[name] = time.Since(start)
				t.Logf("cluster %s complete after %v: %s", name, done[name].Round(time.Millisecond), ids.Report())
			}
		}
		return len(done) == 3
	})
	if err := agent.Stop(30 * time.Second); err != nil {
		t.Fatalf("agent stop: %v\n%s", err, agent.Tail(20))
	}
	if faults && done["b"] < 20*time.Second {
		t.Errorf("cluster B complete after %v although it refused for 20 s", done["b"])
	}
	return float64(lines) / done["a"].Seconds()
}

func mustRun(t *testing.T, p *testenv.Process) {
	t.Helper()
	if !p.Running() {
		t.Fatalf("%s exited:\n%s", p.Name, p.Tail(20))
	}
}

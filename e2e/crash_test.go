package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"pulse/testenv"
)

// TestCrashLosesNothing feeds a 1,000,000-line file to an agent with an
// HTTP and a file output, kill -9s it at 5 random moments, restarts it each
// time, and checks that both outputs end up with every id.
func TestCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end crash test; run without -short")
	}
	const lines = 1_000_000
	bin := testenv.Binary(t)
	dir := t.TempDir()
	logFile := filepath.Join(dir, "app.log")
	size, err := testenv.WriteLines(logFile, lines, 200)
	if err != nil {
		t.Fatal(err)
	}
	sink := testenv.NewSink(t, lines)
	outDir := filepath.Join(dir, "out")
	cfg := filepath.Join(dir, "pulse.yaml")
	writeFile(t, cfg, fmt.Sprintf(`id: crash-test
data_dir: %s
shutdown_timeout: 5s
inputs:
  - name: app
    type: file
    paths: [%q]
    poll_interval: 20ms
outputs:
  - name: archive
    type: http
    endpoints: [%q]
    encoding: lines
    batch: {max_events: 5000, max_bytes: 1MiB, max_wait: 50ms}
    buffer: {max_bytes: 256MiB, when_full: block}
  - name: inspect
    type: file
    path: %s
    max_file_bytes: 16MiB
`, filepath.Join(dir, "data"), logFile, sink.Addr, outDir))

	p := testenv.Start(t, dir, "agent", bin, "agent", "-config", cfg)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	t.Logf("input: %d lines, %d bytes", lines, size)
	for kill := 1; kill <= 5; kill++ {
		// A random moment while data is still flowing: after a random share
		// of the ids has reached the sink, or a random delay, whichever first.
		target := int(float64(lines) * (0.05 + 0.9*float64(kill-1)/5 + 0.15*rng.Float64()))
		delay := time.Duration(50+rng.IntN(700)) * time.Millisecond
		start := time.Now()
		testenv.Eventually(20*time.Second, func() bool {
			return sink.IDs.Report().Unique >= target || time.Since(start) > delay && sink.IDs.Report().Unique > 0
		})
		if !p.Running() {
			t.Fatalf("agent exited on its own before kill %d:\n%s", kill, p.Tail(30))
		}
		p.Kill()
		t.Logf("kill -9 #%d at %s", kill, sink.IDs.Report())
		p.Restart()
	}
	testenv.WaitFor(t, 3*time.Minute, "every id at the HTTP sink", sink.IDs.Complete)
	var files *testenv.IDs
	testenv.WaitFor(t, time.Minute, "every id in the file output", func() bool {
		ids, err := testenv.ScanDir(outDir, lines)
		files = ids
		return err == nil && ids.Complete()
	})
	if err := p.Stop(30 * time.Second); err != nil {
		t.Fatalf("clean stop: %v\n%s", err, p.Tail(30))
	}
	httpRep, fileRep := sink.IDs.Report(), files.Report()
	t.Logf("http sink:   %s", httpRep)
	t.Logf("file output: %s", fileRep)
	if httpRep.Unknown != 0 || fileRep.Unknown != 0 {
		t.Errorf("garbled lines: http %d, file %d", httpRep.Unknown, fileRep.Unknown)
	}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

package e2e

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"pulse/testenv"
)

// TestChainBackpressure: file → agent A → agent B → agent C → sink (files).
// The sink goes away, so C's small buffer fills; C pushes back to B, B to
// A, and A stops reading its file. When the sink returns, every line
// reaches the end.
func TestChainBackpressure(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end chain test; run without -short")
	}
	const lines = 700_000 // noisy 240-byte lines: ~170 MB, far more than three 16 MiB buffers hold compressed
	root := t.TempDir()
	logFile := filepath.Join(root, "app.log")
	size, err := testenv.WriteNoisyLines(logFile, lines, 240, 7)
	if err != nil {
		t.Fatal(err)
	}
	sink := testenv.StartSink(t, root, "sink")
	addrB, addrC := testenv.FreeAddr(t), testenv.FreeAddr(t)
	hop := func(next, encoding string) string {
		return fmt.Sprintf(`outputs:
  - name: next
    type: http
    endpoints: [%q]
    encoding: %s
    timeout: 5s
    retry_max: 300ms
    batch: {max_events: 2000, max_bytes: 512KiB, max_wait: 50ms}
    buffer: {max_bytes: 16MiB, when_full: block}
`, next, encoding)
	}
	agentC := testenv.StartAgent(t, root, "c", "data_dir: %[1]s\ninputs:\n  - {name: up, type: http, listen: \""+addrC+"\", format: pulse, push_back_after: 500ms}\n"+hop(sink.Addr, "lines"))
	testenv.WaitListening(t, agentC.Process, addrC)
	agentB := testenv.StartAgent(t, root, "b", "data_dir: %[1]s\ninputs:\n  - {name: up, type: http, listen: \""+addrB+"\", format: pulse, push_back_after: 500ms}\n"+hop(addrC, "pulse\n    compression: s2")) // the hops differ in compression: zstd, s2
	testenv.WaitListening(t, agentB.Process, addrB)
	agentA := testenv.StartAgent(t, root, "a", "data_dir: %[1]s\ninputs:\n  - {name: app, type: file, paths: [\""+logFile+"\"], poll_interval: 20ms}\n"+hop(addrB, "pulse"))

	testenv.WaitFor(t, time.Minute, "first lines at the end of the chain", func() bool {
		return dirSize(sink.Dir) > 0
	})
	sink.Kill()
	t.Log("sink stopped")

	// The backlog climbs the chain: every buffer fills, then A's checkpoint
	// stops short of the end of its file.
	checkpoint := filepath.Join(agentA.Dir, "checkpoints", "app.json")
	var off int64
	stable := 0
	lastLog := time.Now()
	testenv.WaitFor(t, 2*time.Minute, "A stops reading with every buffer full", func() bool {
		for _, a := range []*testenv.Node{agentA, agentB, agentC} {
			mustRun(t, a.Process)
		}
		full := true
		for _, a := range []*testenv.Node{agentA, agentB, agentC} {
			if dirSize(filepath.Join(a.Dir, "buffers", "next")) < 12<<20 {
				full = false
			}
		}
		now := checkpointOffset(t, checkpoint)
		if time.Since(lastLog) > 10*time.Second {
			lastLog = time.Now()
			t.Logf("A's checkpoint %d of %d; buffers A %d, B %d, C %d", now, size,
				dirSize(filepath.Join(agentA.Dir, "buffers", "next")), dirSize(filepath.Join(agentB.Dir, "buffers", "next")), dirSize(filepath.Join(agentC.Dir, "buffers", "next")))
		}
		if now == off {
			stable++
		} else {
			off, stable = now, 0
		}
		return full && stable >= 50
	})
	if off >= size {
		t.Fatalf("A read its whole file (%d bytes) although the chain was full", size)
	}
	t.Logf("chain full: A's checkpoint at %d of %d bytes; buffers A %d, B %d, C %d bytes", off, size,
		dirSize(filepath.Join(agentA.Dir, "buffers", "next")), dirSize(filepath.Join(agentB.Dir, "buffers", "next")), dirSize(filepath.Join(agentC.Dir, "buffers", "next")))

	sink.Restart()
	var ids *testenv.IDs
	testenv.WaitFor(t, 3*time.Minute, "every line at the end of the chain", func() bool {
		if dirSize(sink.Dir) < size {
			return false
		}
		ids, _ = testenv.ScanDir(sink.Dir, lines)
		return ids.Complete()
	})
	t.Logf("end of chain: %s", ids.Report())
	for _, a := range []*testenv.Node{agentA, agentB, agentC} {
		if err := a.Stop(30 * time.Second); err != nil {
			t.Errorf("%s: %v\n%s", a.Name, err, a.Tail(10))
		}
	}
}

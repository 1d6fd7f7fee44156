package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pulse/testenv"
)

const (
	capBytes     = 64 << 20
	segmentBytes = capBytes / 8 // the buffer's default segment size for this cap
	metaSlack    = 64 << 10     // metadata and journal bookkeeping files
)

// TestBufferCapBlock: the sink refuses (503) while a file much larger than
// the 64 MiB buffer is read. The buffer directory never exceeds the cap by
// more than one segment, the input stops reading (its checkpoint lags)
// instead of dropping, and when the sink recovers every line arrives.
func TestBufferCapBlock(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end cap test; run without -short")
	}
	const lines = 400_000 // × 240 B ≈ 92 MiB, well past the cap
	env := newCapEnv(t, "block", lines)
	env.sink.SetStatus(http.StatusServiceUnavailable)
	p := env.start()

	testenv.WaitFor(t, 60*time.Second, "buffer fills to near its cap", func() bool {
		env.mustRun(p)
		return dirSize(env.bufDir) > capBytes-2*segmentBytes
	})
	// Full: the input must be held back, not dropping: its checkpoint
	// stops moving, short of the end of the file.
	var off int64
	stable := 0
	testenv.WaitFor(t, 30*time.Second, "the input's checkpoint stops moving", func() bool {
		env.mustRun(p)
		now := checkpointOffset(t, env.checkpoint)
		if now == off {
			stable++
		} else {
			off, stable = now, 0
		}
		return stable >= 20 // unchanged for 20 polls, ≥ 200 ms
	})
	if off >= env.size {
		t.Fatalf("checkpoint at %d of %d: the input read everything although the buffer was full", off, env.size)
	}
	if rep := env.sink.IDs.Report(); rep.Lines != 0 {
		t.Fatalf("sink received %d lines while refusing", rep.Lines)
	}
	t.Logf("buffer full: dir %d bytes, checkpoint %d of %d", dirSize(env.bufDir), off, env.size)

	env.sink.SetStatus(http.StatusOK)
	testenv.WaitFor(t, 2*time.Minute, "every line delivered after recovery", env.sink.IDs.Complete)
	if err := p.Stop(30 * time.Second); err != nil {
		t.Fatalf("clean stop: %v\n%s", err, p.Tail(20))
	}
	env.checkCap()
	t.Logf("sink: %s", env.sink.IDs.Report())
}

// TestBufferCapDropOldest: same flood with drop_oldest. The cap holds and
// every event is accounted for: delivered + dropped == produced.
func TestBufferCapDropOldest(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end cap test; run without -short")
	}
	const lines = 400_000
	env := newCapEnv(t, "drop_oldest", lines)
	env.sink.SetStatus(http.StatusServiceUnavailable)
	p := env.start()

	testenv.WaitFor(t, 2*time.Minute, "the input reads the whole file despite the full buffer", func() bool {
		env.mustRun(p)
		return checkpointOffsetOr(env.checkpoint) == env.size
	})
	env.sink.SetStatus(http.StatusOK)
	// SIGTERM: the agent drains what is left within shutdown_timeout.
	if err := p.Stop(60 * time.Second); err != nil {
		t.Fatalf("clean stop: %v\n%s", err, p.Tail(20))
	}
	env.checkCap()
	rep := env.sink.IDs.Report()
	dropped := logCounter(t, p.Log(), "dropped_oldest_events")
	queued := logCounter(t, p.Log(), "undelivered_events")
	t.Logf("sink: %s; dropped %d; left queued %d", rep, dropped, queued)
	if dropped == 0 {
		t.Fatal("nothing was dropped: the flood did not overflow the buffer")
	}
	if rep.Duplicates != 0 {
		t.Errorf("%d duplicates without any crash", rep.Duplicates)
	}
	if got := rep.Lines + dropped + queued; got != lines {
		t.Errorf("delivered %d + dropped %d + queued %d = %d, want %d produced", rep.Lines, dropped, queued, got, lines)
	}
}

type capEnv struct {
	t          *testing.T
	dir        string
	cfg        string
	bufDir     string
	checkpoint string
	size       int64
	sink       *testenv.Sink
	maxSeen    atomic.Int64
	stopSample func()
}

func newCapEnv(t *testing.T, policy string, lines int) *capEnv {
	dir := t.TempDir()
	e := &capEnv{t: t, dir: dir, sink: testenv.NewSink(t, lines)}
	logFile := filepath.Join(dir, "app.log")
	size, err := testenv.WriteLines(logFile, lines, 240)
	if err != nil {
		t.Fatal(err)
	}
	e.size = size
	data := filepath.Join(dir, "data")
	e.bufDir = filepath.Join(data, "buffers", "archive")
	e.checkpoint = filepath.Join(data, "checkpoints", "app.json")
	e.cfg = filepath.Join(dir, "pulse.yaml")
	writeFile(t, e.cfg, fmt.Sprintf(`id: cap-test
data_dir: %s
shutdown_timeout: 50s
log: {format: text}
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
    retry_max: 200ms
    batch: {max_events: 5000, max_bytes: 1MiB, max_wait: 50ms}
    buffer: {max_bytes: 64MiB, when_full: %s}
`, data, logFile, e.sink.Addr, policy))
	return e
}

// start runs the agent and samples the buffer directory every 50 ms.
func (e *capEnv) start() *testenv.Process {
	p := testenv.Start(e.t, e.dir, "agent", testenv.Binary(e.t), "agent", "-config", e.cfg)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if s := dirSize(e.bufDir); s > e.maxSeen.Load() {
					e.maxSeen.Store(s)
				}
			}
		}
	}()
	e.stopSample = func() { close(stop); wg.Wait() }
	e.t.Cleanup(func() {
		select {
		case <-stop:
		default:
			e.stopSample()
		}
	})
	return p
}

func (e *capEnv) mustRun(p *testenv.Process) {
	if !p.Running() {
		e.t.Fatalf("agent exited:\n%s", p.Tail(20))
	}
}

func (e *capEnv) checkCap() {
	e.stopSample()
	limit := int64(capBytes + segmentBytes + metaSlack)
	e.t.Logf("largest buffer directory seen: %d bytes (cap %d, limit %d)", e.maxSeen.Load(), capBytes, limit)
	if e.maxSeen.Load() > limit {
		e.t.Errorf("buffer directory reached %d bytes, over cap + one segment (%d)", e.maxSeen.Load(), limit)
	}
	if e.maxSeen.Load() < capBytes/2 {
		e.t.Errorf("buffer directory peaked at %d bytes: the test did not fill it", e.maxSeen.Load())
	}
}

func dirSize(dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	return total
}

// checkpointOffset returns the largest "offset" in the input's checkpoint.
func checkpointOffset(t *testing.T, file string) int64 {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		return 0 // not written yet: nothing committed
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("checkpoint %s: %v", file, err)
	}
	return maxOffset(v)
}

func checkpointOffsetOr(file string) int64 {
	b, err := os.ReadFile(file)
	if err != nil {
		return -1
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return -1
	}
	return maxOffset(v)
}

func maxOffset(v any) int64 {
	var best int64
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if f, ok := c.(float64); ok && k == "offset" && int64(f) > best {
				best = int64(f)
			}
			best = max(best, maxOffset(c))
		}
	case []any:
		for _, c := range x {
			best = max(best, maxOffset(c))
		}
	}
	return best
}

// logCounter finds "name=N" in the agent's shutdown summary.
func logCounter(t *testing.T, log, name string) int64 {
	t.Helper()
	m := regexp.MustCompile(`output summary.*\b`+name+`=(\d+)`).FindAllStringSubmatch(log, -1)
	if len(m) == 0 {
		t.Fatalf("no %s in the agent's output summary:\n%s", name, log)
	}
	n, _ := strconv.ParseInt(m[len(m)-1][1], 10, 64)
	return n
}

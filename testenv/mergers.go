package testenv

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"pulse/metrics"
)

// MergersOptions configure StartMergers. Zero values take the defaults.
type MergersOptions struct {
	Interval      time.Duration // between snapshots; default 200ms
	FinalizeAfter time.Duration // a window stays open this long after its end; default 3s
}

// Shards are n `pulse merger` processes, each taking fragments on an http
// input (Nodes[i].Addr) and writing its snapshots, one JSON object a line,
// to files in Nodes[i].Dir/snapshots.
type Shards struct {
	Root  string
	Nodes []*Node
}

// StartMergers starts n merger shards under a new temp dir and waits until
// each listens. Point an agent's fragments at them with Output.
func StartMergers(t testing.TB, n int, o MergersOptions) *Shards {
	t.Helper()
	if n < 1 {
		t.Fatalf("testenv: %d merger shards", n)
	}
	if o.Interval <= 0 {
		o.Interval = 200 * time.Millisecond
	}
	if o.FinalizeAfter <= 0 {
		o.FinalizeAfter = 3 * time.Second
	}
	s := &Shards{Root: t.TempDir()}
	for i := range n {
		name := fmt.Sprintf("merger%d", i+1)
		listen := FreeAddr(t)
		s.Nodes = append(s.Nodes, startConfigured(t, s.Root, name, "merger", Config{
			Inputs:  []string{HTTPInput("agents", listen, "pulse")},
			Outputs: []string{FileOutput("snapshots", filepath.Join(s.Root, name, "snapshots"))},
			Extra:   fmt.Sprintf("merge: {interval: %v, finalize_after: %v}", o.Interval, o.FinalizeAfter),
		}, listen))
	}
	return s
}

// Output is an agent's output sending its fragments to the shards, hashed
// by metric key so that a key's fragments meet on one shard. Render it with
// YAML, after any change.
func (s *Shards) Output(name string) HTTPOutput {
	o := HTTPOutput{Name: name, Stream: "fragments", Balance: "hash", MaxEvents: 1000}
	for _, n := range s.Nodes {
		o.Endpoints = append(o.Endpoints, n.Addr)
	}
	return o
}

// SnapshotDirs returns each shard's snapshot directory.
func (s *Shards) SnapshotDirs() []string {
	var dirs []string
	for _, n := range s.Nodes {
		dirs = append(dirs, filepath.Join(n.Dir, "snapshots"))
	}
	return dirs
}

// Total adds up the final snapshots of one metric, over its keys (dims)
// and windows.
type Total struct {
	Snapshots int // final snapshots: key-windows
	Count     uint64
	Sum       float64
	Min, Max  float64
}

// Finals reads every shard's snapshots and adds up, per metric name, the
// final snapshot of each key and window. Snapshots of a window that is
// still open are left out: they are superseded by its final one.
func (s *Shards) Finals() (map[string]Total, error) {
	return FinalsIn(s.SnapshotDirs()...)
}

// FinalsIn is Finals over the snapshot files (*.log) in dirs.
func FinalsIn(dirs ...string) (map[string]Total, error) {
	last := map[string]metrics.Snapshot{}
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.log"))
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		for _, f := range files {
			if err := readSnapshots(f, last); err != nil {
				return nil, err
			}
		}
	}
	totals := map[string]Total{}
	for _, snap := range last {
		if !snap.Final {
			continue
		}
		tot, ok := totals[snap.Name]
		if !ok {
			tot.Min, tot.Max = math.Inf(1), math.Inf(-1)
		}
		tot.Snapshots++
		tot.Count += snap.Count
		if !math.IsNaN(snap.Sum) {
			tot.Sum += snap.Sum
		}
		if !math.IsNaN(snap.Min) {
			tot.Min = math.Min(tot.Min, snap.Min)
		}
		if !math.IsNaN(snap.Max) {
			tot.Max = math.Max(tot.Max, snap.Max)
		}
		totals[snap.Name] = tot
	}
	return totals, nil
}

// readSnapshots reads one snapshot file into last, by key and window: a
// later line replaces an earlier one. A partial last line (being written)
// is left for the next read.
func readSnapshots(file string, last map[string]metrics.Snapshot) error {
	f, err := os.Open(file)
	if err != nil {
		if os.IsNotExist(err) {
			return nil // rotated away meanwhile
		}
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var snap metrics.Snapshot
		if json.Unmarshal(sc.Bytes(), &snap) != nil {
			continue
		}
		var key strings.Builder
		key.WriteString(snap.Name)
		for _, d := range snap.Dims {
			fmt.Fprintf(&key, "\x00%s=%s", d.Name, d.Value)
		}
		fmt.Fprintf(&key, "\x00%d", snap.WindowStart.UnixNano())
		last[key.String()] = snap
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("testenv: snapshots %s: %w", file, err)
	}
	return nil
}

// Processes returns the shards' processes.
func (s *Shards) Processes() []*Process {
	var ps []*Process
	for _, n := range s.Nodes {
		ps = append(ps, n.Process)
	}
	return ps
}

// Stop stops every shard, each given timeout for a clean exit, and returns
// every failure. Whatever did not exit cleanly is killed.
func (s *Shards) Stop(timeout time.Duration) error { return StopAll(timeout, s.Processes()...) }

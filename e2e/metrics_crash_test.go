package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"pulse/testenv"
)

// TestAgentKillKeepsAggregates: an agent rolls l2met lines appended to a
// file into fragments for a merger and is killed with kill -9 three times
// while windows are open. Its file checkpoint waits for the fragments of
// what it read, so the restarted agent reads the unflushed part again:
// the merger's final counts hold every line (none lost with the process).
func TestAgentKillKeepsAggregates(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end crash test; run without -short")
	}
	const (
		rounds   = 60 // of 100 ms
		perRound = 500
	)
	root := t.TempDir()
	shards := testenv.StartMergers(t, 1, testenv.MergersOptions{})
	merger, addr := shards.Nodes[0], shards.Nodes[0].Addr
	logFile := filepath.Join(root, "app.log")
	writeFile(t, logFile, "")
	agent := testenv.StartAgent(t, root, "agent", fmt.Sprintf(`id: agent
data_dir: %%[1]s
admin: {listen: "off"}
inputs:
  - {name: app, type: file, paths: [%q], poll_interval: 20ms}
metrics: {window: 1s, late_windows: 120, l2met: true}
outputs:
  - name: merger
    stream: fragments
    type: http
    endpoints: [%q]
    encoding: pulse
    retry_max: 300ms
    batch: {max_events: 1000, max_bytes: 1MiB, max_wait: 50ms}
`, logFile, addr))

	// Lines stamped with the time they are written, so that every kill
	// lands while windows are open; the agent is killed at rounds 15, 30
	// and 45 and started again at once.
	f, err := os.OpenFile(logFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	kills := 0
	for r := range rounds {
		<-tick.C
		w := bufio.NewWriter(f)
		ts := time.Now().UTC().Format(time.RFC3339Nano)
		for i := range perRound {
			fmt.Fprintf(w, "%s app[web.1]: count#orders=1 id=%d\n", ts, r*perRound+i)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if r%15 == 14 && r < rounds-1 {
			agent.Kill()
			kills++
			agent.Restart()
		}
	}
	const want = rounds * perRound
	if err := agent.Stop(30 * time.Second); err != nil {
		t.Fatalf("agent: %v\n%s", err, agent.Tail(20))
	}
	agent.Restart() // reads whatever the last stop left, and flushes it

	var got int64
	if !testenv.Eventually(60*time.Second, func() bool {
		finals, err := shards.Finals()
		got = int64(finals["orders"].Sum)
		return err == nil && got >= want
	}) {
		t.Logf("agent:\n%s\nmerger:\n%s", agent.Tail(20), merger.Tail(20))
		t.Fatalf("final orders sum %d after %d kill -9, want %d: aggregates were lost with the agent", got, kills, want)
	}
	// A kill between a fragment's store and the checkpoint that follows
	// it counts those lines twice: bounded by one checkpoint interval.
	t.Logf("%d kill -9: final orders sum %d for %d lines (%d counted twice)", kills, got, want, got-want)
	if got > want+want/10 {
		t.Errorf("final orders sum %d: more than 10%% counted twice", got)
	}
	for _, n := range []*testenv.Node{agent, merger} {
		if err := n.Stop(30 * time.Second); err != nil {
			t.Errorf("%s: %v\n%s", n.Name, err, n.Tail(10))
		}
	}
}

package e2e

import (
	"bufio"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"pulse/testenv"
)

// TestTopologiesStartAndStop: each testenv topology starts, moves a few
// thousand events end to end, exactly once each, and stops cleanly; after
// it, every process it started has been reaped and no pulse process is left
// a child of the test. The abandoned one is left to the cleanups, with a
// process paused.
func TestTopologiesStartAndStop(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end topologies; run without -short")
	}
	bin := testenv.Binary(t)
	t.Run("chain", func(t *testing.T) {
		noLeaks(t)
		const events = 5000
		c := testenv.StartChain(t, 3, testenv.ChainOptions{Gen: testenv.GenOptions{Events: events}})
		waitDelivered(t, "the end of the chain", events, 0, c.Delivered, c.Processes())
		if err := c.Stop(30 * time.Second); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("fanout", func(t *testing.T) {
		noLeaks(t)
		const events = 5000
		// Through proxies: node b1's refuses everything (503) from the
		// start, and the cluster routes around it.
		f := testenv.StartFanout(t, 3, 2, testenv.FanoutOptions{Gen: testenv.GenOptions{Events: events, Rate: 2500}, Proxies: true})
		refusing := f.Proxies[1][0]
		refusing.SetStatus(http.StatusServiceUnavailable)
		for i := range f.Clusters {
			waitDelivered(t, "cluster "+testenv.Cluster(i), events, 0, func(n int) (*testenv.IDs, error) {
				return f.Delivered(i, n)
			}, f.Processes())
		}
		for i, c := range f.Clusters {
			for j, n := range c {
				if got := lineCount(t, events, n.Dir); i != 1 && got == 0 {
					t.Errorf("node %s received nothing: the cluster is not balanced", n.Name)
				} else {
					t.Logf("node %s: %d lines; its proxy %+v", n.Name, got, f.Proxies[i][j].Stats())
				}
			}
		}
		if st := refusing.Stats(); st.Refused == 0 {
			t.Errorf("node b1's proxy refused nothing: %+v", st)
		}
		if err := f.Stop(30 * time.Second); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("mergers", func(t *testing.T) {
		noLeaks(t)
		const events = 3000
		s := testenv.StartMergers(t, 2, testenv.MergersOptions{})
		gen := testenv.StartGen(t, s.Root, "gen", testenv.GenOptions{Events: events, Mix: "l2met=100"})
		gen.WaitDone(t, 30*time.Second)
		want := l2metTotals(t, gen.Path)
		agent := testenv.StartAgent(t, s.Root, "agent", testenv.Config{
			ID:      "agent",
			Inputs:  []string{testenv.FileInput("head", gen.Path)},
			Outputs: []string{s.Output("mergers").YAML()},
			Extra:   "metrics: {window: 1s, late_windows: 60, l2met: true}",
		}.YAML())
		var got map[string]testenv.Total
		if !testenv.Eventually(45*time.Second, func() bool {
			mustRun(t, agent.Process)
			var err error
			got, err = s.Finals()
			return err == nil && totalsMatch(want, got) == ""
		}) {
			t.Fatalf("final snapshots do not add up to the l2met lines: %s", totalsMatch(want, got))
		}
		for name, w := range want {
			t.Logf("%s: %d observations, sum %.1f; final snapshots: %+v", name, w.Count, w.Sum, got[name])
		}
		if err := testenv.StopAll(30*time.Second, append([]*testenv.Process{agent.Process}, s.Processes()...)...); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("abandoned", func(t *testing.T) {
		noLeaks(t)
		// Left running, one sink paused: the cleanups must kill and reap
		// all, the paused one too. Stop continues a paused process.
		f := testenv.StartFanout(t, 1, 3, testenv.FanoutOptions{Gen: testenv.GenOptions{Events: 1000, Rate: 500}})
		f.Clusters[0][0].Pause()
		f.Clusters[0][1].Pause()
		if err := f.Clusters[0][1].Stop(10 * time.Second); err != nil {
			t.Fatalf("stop a paused sink: %v", err)
		}
	})
	kids, err := testenv.Children(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kids {
		t.Errorf("left behind: %v", k)
	}
}

// TestPausedSinkNode: one node of a two-node cluster is stopped with
// SIGSTOP while the agent sends; the agent takes it out and the other node
// gets the events; after SIGCONT every event is there.
func TestPausedSinkNode(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end pause test; run without -short")
	}
	noLeaks(t)
	const events, rate = 20_000, 2000
	f := testenv.StartFanout(t, 1, 2, testenv.FanoutOptions{
		Gen:     testenv.GenOptions{Events: events, Rate: rate},
		Timeout: time.Second,
	})
	paused, other := f.Clusters[0][0], f.Clusters[0][1]
	testenv.WaitFor(t, 30*time.Second, "events at both nodes", func() bool {
		mustRun(t, f.Agent.Process)
		return lineCount(t, events, paused.Dir) > 0 && lineCount(t, events, other.Dir) > 0
	})
	paused.Pause()
	pausedAt := time.Now()
	atPause := lineCount(t, events, paused.Dir)
	otherAtPause := lineCount(t, events, other.Dir)
	testenv.WaitFor(t, 20*time.Second, "the agent takes the paused node out", func() bool {
		mustRun(t, f.Agent.Process)
		st, err := f.Agent.Status()
		if err != nil {
			return false
		}
		o, _ := testenv.Output(st, "a")
		for _, n := range o.Nodes {
			if n.Endpoint == paused.Addr && !n.Up {
				return true
			}
		}
		return false
	})
	// Three seconds of events (at 2000/s) go to the other node meanwhile.
	testenv.WaitFor(t, 20*time.Second, "the other node takes the load", func() bool {
		mustRun(t, f.Agent.Process)
		return lineCount(t, events, other.Dir) >= otherAtPause+3*rate
	})
	if n := lineCount(t, events, paused.Dir); n != atPause {
		t.Fatalf("the paused node wrote %d lines while stopped", n-atPause)
	}
	t.Logf("paused %s for %v: the other node took %d lines meanwhile", paused.Name,
		time.Since(pausedAt).Round(time.Millisecond), lineCount(t, events, other.Dir)-otherAtPause)
	paused.Resume()
	f.Gen.WaitDone(t, 30*time.Second)
	ids := waitDelivered(t, "cluster a", events, -1, func(n int) (*testenv.IDs, error) { return f.Delivered(0, n) }, f.Processes())
	t.Logf("after resume: %s; the resumed node holds %d lines", ids.Report(), lineCount(t, events, paused.Dir))
	if err := f.Stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// noLeaks checks, after every other cleanup of t has run, that each
// process testenv started during t has been reaped and that no pulse
// process is left a child of the test binary.
func noLeaks(t *testing.T) {
	t.Helper()
	bin := testenv.Binary(t)
	before := len(testenv.StartedPIDs())
	// Registered first, so run last: after the processes' own cleanups.
	t.Cleanup(func() {
		pids := testenv.StartedPIDs()[before:]
		if len(pids) == 0 && !t.Skipped() {
			t.Error("no process started")
		}
		for _, p := range testenv.Unreaped(pids) {
			t.Errorf("not reaped: %v", p)
		}
		kids, err := testenv.Children(bin)
		if err != nil {
			t.Error(err)
		}
		for _, k := range kids {
			t.Errorf("left behind: %v", k)
		}
		t.Logf("%d processes started (pids %v), every one reaped", len(pids), pids)
	})
}

// waitDelivered waits until count(events) holds every id, and fails the
// test unless it holds exactly maxDup duplicates or fewer (-1: any).
func waitDelivered(t *testing.T, what string, events int, maxDup int64, count func(int) (*testenv.IDs, error), procs []*testenv.Process) *testenv.IDs {
	t.Helper()
	var ids *testenv.IDs
	if !testenv.Eventually(45*time.Second, func() bool {
		for _, p := range procs {
			if p.Running() || p.ExitCode() == 0 {
				continue
			}
			t.Fatalf("%s exited with status %d:\n%s", p.Name, p.ExitCode(), p.Tail(20))
		}
		var err error
		ids, err = count(events)
		return err == nil && ids.Complete()
	}) {
		r := "nothing"
		if ids != nil {
			r = ids.Report().String()
		}
		t.Fatalf("%s: not every event after 45s: %s", what, r)
	}
	r := ids.Report()
	if r.Unknown > 0 || maxDup >= 0 && r.Duplicates > maxDup {
		t.Errorf("%s: %s", what, r)
	}
	t.Logf("%s: %s", what, r)
	return ids
}

// lineCount counts the lines (with an id below events) under dir.
func lineCount(t *testing.T, events int, dir string) int {
	t.Helper()
	ids, err := testenv.ScanDir(dir, events)
	if err != nil {
		return -1 // a file rotated away under the scan; look again
	}
	return int(ids.Report().Lines)
}

// metricWant is what the l2met lines of a file add up to, per metric.
type metricWant struct {
	Kind     string // count, measure, sample, unique
	Count    uint64 // observations
	Sum      float64
	Min, Max float64
}

// l2metTotals reads the l2met keys of every line of path.
func l2metTotals(t *testing.T, path string) map[string]*metricWant {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]*metricWant{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for _, field := range strings.Fields(sc.Text()) {
			kind, rest, ok := strings.Cut(field, "#")
			if !ok {
				continue
			}
			name, value, ok := strings.Cut(rest, "=")
			if !ok {
				continue
			}
			w := want[name]
			if w == nil {
				w = &metricWant{Kind: kind, Min: math.Inf(1), Max: math.Inf(-1)}
				want[name] = w
			}
			w.Count++
			if v, err := strconv.ParseFloat(strings.TrimSuffix(value, "ms"), 64); err == nil {
				w.Sum += v
				w.Min, w.Max = math.Min(w.Min, v), math.Max(w.Max, v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return want
}

// totalsMatch compares the final snapshots with the lines: for measures
// the count, sum, min and max of the observations, for counters their sum.
// It returns the first difference, "" when none.
func totalsMatch(want map[string]*metricWant, got map[string]testenv.Total) string {
	for name, w := range want {
		g, ok := got[name]
		switch {
		case w.Kind != "measure" && w.Kind != "count":
			continue
		case !ok:
			return name + ": no final snapshot"
		case w.Kind == "count" && g.Sum != w.Sum:
			return fmt.Sprintf("%s: sum %v, want %v", name, g.Sum, w.Sum)
		case w.Kind == "measure" && (g.Count != w.Count || math.Abs(g.Sum-w.Sum) > 1e-6*w.Sum || g.Min != w.Min || g.Max != w.Max):
			return fmt.Sprintf("%s: count %d sum %.3f min %v max %v; want %d %.3f %v %v", name, g.Count, g.Sum, g.Min, g.Max, w.Count, w.Sum, w.Min, w.Max)
		}
	}
	return ""
}

// TestHostCutOff: an agent on a host of its own (a network namespace, a
// veth link to the root namespace) sends to a `pulse sink` on the other
// end of the link. The link goes down for a while as lines flow: the sink
// gets nothing, the agent buffers. The link comes back: every line
// arrives. It needs root and ip (iproute2) for the namespace: without
// them it skips, and under CI=1 fails saying which is missing.
func TestHostCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end network namespace test; run without -short")
	}
	h := testenv.NetHost(t, "edge")
	h.NeedIsolated() // under CI a failure: not root, or no ip (iproute2)
	noLeaks(t)
	const events, rate = 16_000, 2000
	root := t.TempDir()
	sink := testenv.StartSinkAt(t, root, "sink", testenv.FreeAddrOn(t, h.Peer))
	gen := testenv.StartGen(t, root, "gen", testenv.GenOptions{Events: events, Rate: rate})
	adminAddr := h.FreeAddr(t)
	agent := h.StartAgent(t, root, "agent", testenv.Config{
		ID:      "edge",
		Admin:   adminAddr,
		Inputs:  []string{testenv.FileInput("app", gen.Path)},
		Outputs: []string{testenv.HTTPOutput{Name: "up", Endpoints: []string{sink.Addr}, Timeout: time.Second}.YAML()},
	}.YAML())
	agent.Admin = adminAddr
	testenv.WaitListening(t, agent.Process, adminAddr)
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", agent.PID())); err != nil || filepath.Base(exe) != "pulse" {
		t.Fatalf("the process started in the namespace is %q (%v), not pulse", exe, err)
	}
	testenv.WaitFor(t, 30*time.Second, "lines across the link", func() bool {
		mustRun(t, agent.Process)
		return lineCount(t, events, sink.Dir) >= rate
	})

	h.LinkDown()
	atCut := lineCount(t, events, sink.Dir)
	genAtCut := genLines(t, gen, events)
	testenv.WaitFor(t, 20*time.Second, "three seconds of lines written while cut off", func() bool {
		mustRun(t, agent.Process)
		return genLines(t, gen, events) >= genAtCut+3*rate
	})
	during := lineCount(t, events, sink.Dir) - atCut
	buffered := dirSize(filepath.Join(agent.Dir, "buffers", "up"))
	h.LinkUp()
	t.Logf("cut off while gen wrote %d lines: the sink got %d, the agent's buffer holds %d bytes",
		genLines(t, gen, events)-genAtCut, during, buffered)
	// Batches in flight at the cut may land; nothing sent after it can.
	if during > rate/2 {
		t.Errorf("the sink got %d lines while the host was cut off", during)
	}
	gen.WaitDone(t, 30*time.Second)
	ids := waitDelivered(t, "the sink", events, -1, func(n int) (*testenv.IDs, error) { return testenv.ScanDir(sink.Dir, n) },
		[]*testenv.Process{agent.Process, sink.Process})
	t.Logf("after the link came back: %s", ids.Report())
	if err := testenv.StopAll(30*time.Second, agent.Process, sink.Process); err != nil {
		t.Fatal(err)
	}
}

// genLines counts the lines gen has written so far.
func genLines(t *testing.T, gen *testenv.Gen, events int) int {
	t.Helper()
	b, err := os.ReadFile(gen.Path)
	if err != nil {
		t.Fatal(err)
	}
	ids := testenv.NewIDs(events)
	ids.AddLines(b)
	return int(ids.Report().Lines)
}

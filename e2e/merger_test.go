package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pulse/testenv"
)

// TestMergerSnapshots: two agents roll l2met lines up into fragments,
// hashed across two merger shards; one merger is killed with kill -9 and
// restarted mid-run. The final snapshots hold exact counts, sums, minima
// and maxima of what the agents read.
func TestMergerSnapshots(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end merger test; run without -short")
	}
	const perAgent = 20_000
	root := t.TempDir()
	var mergers []*testenv.Node
	var mergerAddrs []string
	for i := 1; i <= 2; i++ {
		addr := testenv.FreeAddr(t)
		m := testenv.StartMerger(t, root, fmt.Sprintf("merger%d", i), fmt.Sprintf(`data_dir: %%[1]s
admin: {listen: "off"}
inputs:
  - {name: agents, type: http, listen: %q, format: pulse}
merge: {interval: 200ms, finalize_after: 3s}
outputs:
  - {name: snapshots, type: file, path: %%[1]s/snapshots}
`, addr))
		testenv.WaitListening(t, m.Process, addr)
		m.Addr = addr
		mergers = append(mergers, m)
		mergerAddrs = append(mergerAddrs, fmt.Sprintf("%q", addr))
	}
	// Known values, spread over a few one-second windows starting now.
	var wantCount, wantSum float64
	wantMin, wantMax := math.Inf(1), math.Inf(-1)
	var orders float64
	start := time.Now().UTC()
	var agents []*testenv.Node
	for a := 1; a <= 2; a++ {
		logFile := filepath.Join(root, fmt.Sprintf("app%d.log", a))
		var b strings.Builder
		for i := range perAgent {
			ts := start.Add(time.Duration(i%3) * time.Second).Format(time.RFC3339Nano)
			v := float64((i*7+a)%1000) + 0.5
			n := i%5 + 1
			fmt.Fprintf(&b, "%s app[web.%d]: source=web.%d count#orders=%d measure#latency=%gms id=%d\n", ts, a, a, n, v, i)
			wantCount++
			wantSum += v
			wantMin, wantMax = math.Min(wantMin, v), math.Max(wantMax, v)
			orders += float64(n)
		}
		writeFile(t, logFile, b.String())
		agents = append(agents, testenv.StartAgent(t, root, fmt.Sprintf("agent%d", a), fmt.Sprintf(`id: agent%d
data_dir: %%[1]s
admin: {listen: "off"}
inputs:
  - {name: app, type: file, paths: [%q], poll_interval: 20ms}
metrics: {window: 1s, late_windows: 60, l2met: true}
outputs:
  - name: mergers
    stream: fragments
    type: http
    endpoints: [%s]
    encoding: pulse
    balance: hash
    retry_max: 300ms
    batch: {max_events: 1000, max_bytes: 1MiB, max_wait: 50ms}
`, a, logFile, strings.Join(mergerAddrs, ", "))))
	}
	// kill -9 one merger while fragments flow, and start it again.
	testenv.WaitFor(t, 30*time.Second, "the first snapshots, from the first closed windows", func() bool {
		return dirSize(filepath.Join(mergers[0].Dir, "snapshots"))+dirSize(filepath.Join(mergers[1].Dir, "snapshots")) > 0
	})
	mergers[0].Kill()
	mergers[0].Restart()
	testenv.WaitListening(t, mergers[0].Process, mergers[0].Addr)

	type agg struct {
		count         float64
		sum, min, max float64
	}
	read := func() (map[string]*agg, bool) {
		got := map[string]*agg{}
		finals := 0
		for _, m := range mergers {
			files, _ := filepath.Glob(filepath.Join(m.Dir, "snapshots", "*.log"))
			// Last snapshot per key and window wins: finals come last.
			last := map[string]map[string]any{}
			for _, f := range files {
				fh, err := os.Open(f)
				if err != nil {
					continue
				}
				sc := bufio.NewScanner(fh)
				sc.Buffer(make([]byte, 1<<20), 1<<20)
				for sc.Scan() {
					var s map[string]any
					if json.Unmarshal(sc.Bytes(), &s) != nil {
						continue
					}
					dims, _ := json.Marshal(s["dims"])
					last[fmt.Sprint(s["name"], string(dims), s["window_start"])] = s
				}
				fh.Close()
			}
			for _, s := range last {
				if s["final"] != true {
					continue
				}
				finals++
				name := s["name"].(string)
				g := got[name]
				if g == nil {
					g = &agg{min: math.Inf(1), max: math.Inf(-1)}
					got[name] = g
				}
				g.count += s["count"].(float64)
				g.sum += s["sum"].(float64)
				if v, ok := s["min"].(float64); ok {
					g.min = math.Min(g.min, v)
				}
				if v, ok := s["max"].(float64); ok {
					g.max = math.Max(g.max, v)
				}
			}
		}
		return got, finals > 0
	}
	var got map[string]*agg
	if !testenv.Eventually(60*time.Second, func() bool {
		var ok bool
		got, ok = read()
		return ok && got["latency"] != nil && got["latency"].count == wantCount && got["orders"] != nil && got["orders"].sum == orders
	}) {
		for name, g := range got {
			t.Logf("final %s: %+v", name, *g)
		}
		for _, n := range append(agents, mergers...) {
			t.Logf("%s:\n%s", n.Name, n.Tail(15))
		}
		t.Fatalf("final snapshots do not hold every observation: want latency count %v, orders sum %v", wantCount, orders)
	}
	l := got["latency"]
	if math.Abs(l.sum-wantSum) > 1e-6*wantSum || l.min != wantMin || l.max != wantMax {
		t.Errorf("latency: count %v sum %v min %v max %v; want %v %v %v %v", l.count, l.sum, l.min, l.max, wantCount, wantSum, wantMin, wantMax)
	}
	t.Logf("latency: count %v sum %v min %v max %v; orders sum %v", l.count, l.sum, l.min, l.max, got["orders"].sum)
	for _, n := range append(agents, mergers...) {
		if err := n.Stop(30 * time.Second); err != nil {
			t.Errorf("%s: %v\n%s", n.Name, err, n.Tail(10))
		}
	}
}

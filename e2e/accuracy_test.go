package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"pulse/admin"
	"pulse/testenv"
)

// The accuracy run: four agents tail files that `pulse gen` writes live
// (Heroku router and l2met lines stamped with the wall clock), roll them up
// in 2 s windows and hash their fragments over three merger shards.
const (
	accAgents   = 4
	accShards   = 3
	accLines    = 60_000 // per agent
	accRate     = 3_000  // lines per second per generator: a 20 s run
	accWindow   = 2 * time.Second
	accFinalize = 20 * time.Second // > the 503 spell and a restart, plus delivery
	accFaulty   = "agent4"         // the agent whose path to the mergers fails
	accClock    = "15:04:05.0"
)

// accRules are the agent's rules over router lines, beside l2met.
const accRules = `
    - {name: router.service, match: {at: info}, value: service, kind: measure, group_by: [status]}
    - {name: router.connect, match: {at: "*"}, value: connect, kind: measure, group_by: [dyno]}
    - {name: router.errors, match: {at: error}, kind: counter, group_by: [code]}
    - {name: router.clients, match: {at: "*"}, value: fwd, kind: unique}`

// TestMergerAccuracy is issue 5's accuracy acceptance. While the generators
// write, every 503 of agent 4's path and a kill -9 of one merger shard
// happen mid-run; at the end the agents stop with SIGTERM (flushing their
// open windows) and the shards' final snapshots are compared with a
// reference computed here from the raw files, with plain Go: for every
// key and window, count, sum, min and max exact (sum to float rounding),
// p50/p95/p99 within the sketch's 1% of the exact lower quantile, and no
// key missing or extra.
//
// How the cluster spreads keys, which decides what can be checked:
//   - With balance: hash an agent routes a fragment by its key's bucket on a
//     ring whose points come from the endpoint strings, so agents listing
//     the same endpoints send a key to the same shard. An agent reaching the
//     shards through addresses of its own (its own proxies) would hash keys
//     elsewhere and split nearly every key. So every agent reaches the
//     shards through the same three proxies, which refuse only agent 4's
//     requests (by X-Pulse-Agent) during its 503 spell.
//   - A node that fails is ejected and its keys walk on to the next shard
//     of the ring until it is back, and so does a batch whose node is on
//     trial: a key's fragments for one window can land on two shards. Seen
//     here: windows around the kill -9 (batches refused with 502 by the
//     proxy of the dead shard go to the next one), and the windows of agent
//     4's backlog (when its three nodes are due for trials at once, a batch
//     whose node is already trying goes to another as that one's trial).
//     Count, sum, min, max and a sample's last value combine exactly across
//     shards and are checked for every key. Quantiles, unique estimates and
//     the agents count do not combine: they are checked on the key windows
//     held by one shard, and at least half of the measure windows must be
//     such (in practice over 90%).
//   - A batch a shard may have stored without answering (killed in
//     between, or its answer lost) is retried on that shard only, whose
//     seen set ignores it: never counted twice (TestMergerLostAnswerCountsOnce).
//
// It runs twice: with the default failover (a shard's keys walk on while
// it is out, as above) and with hash_failover: false, where a key's
// batches wait for its own shard — then no key window may be split, and
// every quantile and unique estimate is checked.
func TestMergerAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end accuracy test; run without -short")
	}
	t.Run("failover", func(t *testing.T) { testMergerAccuracy(t, false) })
	t.Run("strict", func(t *testing.T) { testMergerAccuracy(t, true) })
}

func testMergerAccuracy(t *testing.T, strict bool) {
	began := time.Now()
	root := t.TempDir()
	bin := testenv.Binary(t)

	// Shards, each behind a proxy that every agent goes through.
	shards := make([]*accShard, accShards)
	var endpoints []string
	for i := range shards {
		s := startShard(t, root, i+1, accFinalize)
		s.proxy = testenv.NewProxy(t, s.addr)
		s.proxy.FaultOnly(func(r *http.Request) bool { return r.Header.Get("X-Pulse-Agent") == accFaulty })
		shards[i] = s
		endpoints = append(endpoints, strconv.Quote(s.proxy.Addr()))
	}

	agents := startMetricsAgents(t, root, accAgents, fmt.Sprintf(`  - name: mergers
    stream: fragments
    type: http
    endpoints: [%s]
    encoding: pulse
    balance: hash
    hash_failover: %t
    retry_max: 500ms
    batch: {max_events: 1000, max_bytes: 1MiB, max_wait: 50ms}
`, strings.Join(endpoints, ", "), !strict))
	gens := startGens(t, root, bin, agents, accLines, accRate, 1000)
	past := func(frac float64) bool { return eventsRead(agents[0]) >= int64(frac*accLines) }
	faulty := agents[accAgents-1]
	const phase = 60 * time.Second

	// Agent 4's path answers 503 from 15% to 45% of the run (about 6 s),
	// once it has delivered something, so that its backlog is retried.
	testenv.WaitFor(t, phase, "15% of the lines read, and agent 4 delivering", func() bool {
		return past(0.15) && delivered(faulty) > 0
	})
	for _, s := range shards {
		s.proxy.SetStatus(http.StatusServiceUnavailable)
	}
	spellFrom := time.Now().UTC()
	testenv.WaitFor(t, phase, "45% of the lines read, with agent 4 refused", func() bool {
		return past(0.45) && refused(shards) >= accShards
	})
	for _, s := range shards {
		s.proxy.SetStatus(0)
	}
	spellTo := time.Now().UTC()
	refusedTotal := refused(shards)

	// kill -9 the shard holding the most, once it has checkpointed (and so
	// acknowledged) merged fragments and agent 4 gets through again.
	var victim *accShard
	testenv.WaitFor(t, phase, "60% of the lines read, agent 4 through again and a shard checkpointed", func() bool {
		if !past(0.60) || delivered(faulty) == 0 {
			return false
		}
		victim = nil
		best := int64(0)
		for _, s := range shards {
			st, err := getStatus(s.admin)
			if err != nil || st.Merger == nil {
				continue
			}
			if _, err := os.Stat(filepath.Join(s.Dir, "merger", "state.bin")); err == nil && st.Merger.FragmentsIn > best {
				victim, best = s, st.Merger.FragmentsIn
			}
		}
		return victim != nil && dirSize(filepath.Join(victim.Dir, "snapshots")) > 0
	})
	killedAt, killedLines := time.Now().UTC(), eventsRead(agents[0])
	victim.Kill()
	// Down until a sender has failed over: a batch its proxy answered 502.
	testenv.WaitFor(t, phase, "a batch for the dead shard refused with 502", func() bool { return victim.proxy.Stats().Failed > 0 })
	victim.Restart()
	testenv.WaitListening(t, victim.Process, victim.addr)
	restartedAt := time.Now().UTC()

	for i, g := range gens {
		if err := g.Wait(phase); err != nil {
			t.Fatalf("gen%d: %v\n%s", i+1, err, g.Tail(10))
		}
	}
	for _, a := range agents {
		testenv.WaitFor(t, phase, a.id+" read its whole file", func() bool { return eventsRead(a) == accLines })
		st, err := getStatus(a.admin)
		if err != nil {
			t.Fatal(err)
		}
		if st.Metrics == nil || st.Metrics.DroppedLate != 0 {
			t.Errorf("%s: metrics status %+v: no line may be dropped as late", a.id, st.Metrics)
		}
	}
	// SIGTERM flushes every open window, and drains the outputs.
	for _, a := range agents {
		if err := a.Stop(30 * time.Second); err != nil {
			t.Fatalf("%s: %v\n%s", a.id, err, a.Tail(20))
		}
		if !strings.Contains(a.Log(), "outputs drained") {
			t.Errorf("%s stopped without draining its outputs:\n%s", a.id, a.Tail(10))
		}
	}
	if !strings.Contains(victim.Log(), "checkpoint=true") {
		t.Errorf("%s restarted without its checkpoint:\n%s", victim.Name, victim.Tail(20))
	}

	ref := newReference()
	for i, a := range agents {
		if err := ref.addFile(i, a.file); err != nil {
			t.Fatal(err)
		}
	}
	if ref.lines != accAgents*accLines {
		t.Fatalf("reference read %d lines, want %d", ref.lines, accAgents*accLines)
	}

	// Every window is finalized (the shards hold no key), and then the
	// snapshot files hold every final snapshot.
	testenv.WaitFor(t, accFinalize+60*time.Second, "every window finalized on every shard", func() bool {
		for _, s := range shards {
			st, err := getStatus(s.admin)
			if err != nil || st.Merger == nil || st.Merger.Keys != 0 {
				return false
			}
		}
		return true
	})
	var got map[string][]snapshotLine
	var readErr error
	if !testenv.Eventually(30*time.Second, func() bool {
		got, readErr = readShards(shards)
		return readErr == nil && ref.complete(got)
	}) {
		for _, n := range append(agentNodes(agents), shardNodes(shards)...) {
			t.Logf("%s:\n%s", n.Name, n.Tail(10))
		}
		t.Errorf("final snapshots incomplete (read error: %v)", readErr)
	}
	res := ref.compare(t, got)
	if strict && res.split != 0 {
		t.Errorf("hash_failover: false, yet %d key windows split over shards (%s)", res.split, res.splitWindows())
	}
	if t.Failed() {
		// Where fragments went elsewhere, or twice: the senders' view.
		for _, a := range agents {
			for _, l := range strings.Split(a.Log(), "\n") {
				if strings.Contains(l, `msg="node out"`) || strings.Contains(l, `msg="node back"`) {
					t.Logf("%s: %s", a.id, l)
				}
			}
		}
	}

	var merged, dups, late int64
	for _, s := range shards {
		st, err := getStatus(s.admin)
		if err != nil || st.Merger == nil {
			t.Fatalf("%s status: %v", s.Name, err)
		}
		merged += st.Merger.FragmentsIn
		dups += st.Merger.Duplicates
		late += st.Merger.TooLate
	}
	if late != 0 {
		t.Errorf("%d fragments came too late for their windows (finalize_after %v)", late, accFinalize)
	}
	t.Logf("%d lines (%d per agent), %d key windows (%d measure), %d final snapshots; %d key windows split over shards (%d measure), %.0f%% of measure windows on one shard",
		ref.lines, accLines, len(ref.keys), res.measures, res.snapshots, res.split, res.splitMeasures, 100*float64(res.measures-res.splitMeasures)/float64(res.measures))
	t.Logf("largest relative quantile error (bound %.2f%%): p50 %.4f%%, p95 %.4f%%, p99 %.4f%%; largest unique error %.3f%%; largest sum error %.2g",
		100*accQuantileBound, 100*res.qerr[0], 100*res.qerr[1], 100*res.qerr[2], 100*res.uerr, res.sumErr)
	t.Logf("agent 4 refused %d times from %s to %s; %s killed at %s (%d lines of %d read) and listening again at %s; split windows: %s",
		refusedTotal, spellFrom.Format(accClock), spellTo.Format(accClock), victim.Name, killedAt.Format(accClock), killedLines, accLines,
		restartedAt.Format(accClock), res.splitWindows())
	var outs []string
	for _, a := range agents {
		outs = append(outs, fmt.Sprintf("%s %d", a.id, strings.Count(a.Log(), `msg="node out"`)))
	}
	t.Logf("nodes ejected (node out): %s", strings.Join(outs, ", "))
	t.Logf("shards: %d fragments received (since their last start), %d duplicates ignored, %d too late; run %v",
		merged, dups, late, time.Since(began).Round(time.Second))

	for _, s := range shards {
		if err := s.Stop(30 * time.Second); err != nil {
			t.Errorf("%s: %v\n%s", s.Name, err, s.Tail(10))
		}
	}
}

// TestMergerLostAnswerCountsOnce: a shard stores a batch of fragments but
// its answer is lost, as when it is killed between storing a batch and
// answering (TestMergerAccuracy's kill -9 lands there now and then). The
// agent retries the batch, and its fragments must still count once in the
// cluster: a shard ignores a fragment it merged before, but only the shard
// that merged it knows.
func TestMergerLostAnswerCountsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end merger test; run without -short")
	}
	const lines = 4000
	root := t.TempDir()
	var shards []*accShard
	var endpoints []string
	for i := range 2 {
		s := startShard(t, root, i+1, 3*time.Second)
		s.proxy = testenv.NewProxy(t, s.addr)
		s.proxy.LoseAnswers(true)
		shards = append(shards, s)
		endpoints = append(endpoints, strconv.Quote(s.proxy.Addr()))
	}
	logFile := filepath.Join(root, "app.log")
	var b strings.Builder
	ts := time.Now().UTC().Format(time.RFC3339Nano)
	for i := range lines {
		fmt.Fprintf(&b, "%s app[web.1]: source=web.%d count#orders=1 id=%d\n", ts, i%16, i)
	}
	writeFile(t, logFile, b.String())
	adminAddr := testenv.FreeAddr(t)
	agent := testenv.StartAgent(t, root, "agent", fmt.Sprintf(`id: agent
data_dir: %%[1]s
admin: {listen: %q}
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
`, adminAddr, logFile, strings.Join(endpoints, ", ")))
	testenv.WaitFor(t, 30*time.Second, "a shard's answer lost", func() bool {
		return shards[0].proxy.Stats().Lost+shards[1].proxy.Stats().Lost > 0
	})
	for _, s := range shards {
		s.proxy.LoseAnswers(false)
	}
	testenv.WaitFor(t, 30*time.Second, "the agent read every line", func() bool {
		st, err := getStatus(adminAddr)
		return err == nil && len(st.Inputs) > 0 && st.Inputs[0].Events == lines
	})
	if err := agent.Stop(30 * time.Second); err != nil {
		t.Fatalf("agent: %v\n%s", err, agent.Tail(20))
	}
	testenv.WaitFor(t, 30*time.Second, "every window finalized", func() bool {
		for _, s := range shards {
			st, err := getStatus(s.admin)
			if err != nil || st.Merger == nil || st.Merger.Keys != 0 || st.Merger.SnapshotsOut == 0 {
				return false
			}
		}
		return true
	})
	var got int64
	testenv.Eventually(10*time.Second, func() bool {
		finals, err := testenv.FinalsIn(filepath.Join(shards[0].Dir, "snapshots"), filepath.Join(shards[1].Dir, "snapshots"))
		got = int64(finals["orders"].Sum)
		return err == nil && got >= lines
	})
	var lost []string
	for _, s := range shards {
		st := s.proxy.Stats()
		lost = append(lost, fmt.Sprintf("%s: %d forwarded, %d answers lost", s.Name, st.Forwarded, st.Lost))
	}
	if got != lines {
		t.Errorf("final orders sum over both shards %d, want %d (%s): a batch retried on another shard counts twice", got, lines, strings.Join(lost, "; "))
	}
	for _, s := range shards {
		if err := s.Stop(30 * time.Second); err != nil {
			t.Errorf("%s: %v\n%s", s.Name, err, s.Tail(10))
		}
	}
}

// accShard is one merger shard and the proxy in front of it.
type accShard struct {
	*testenv.Node
	addr, admin string
	proxy       *testenv.Proxy
}

// startShard starts merger shard i, emitting snapshots every 500 ms to
// files, with windows finalized finalize after their end.
func startShard(t *testing.T, root string, i int, finalize time.Duration) *accShard {
	t.Helper()
	s := &accShard{addr: testenv.FreeAddr(t), admin: testenv.FreeAddr(t)}
	s.Node = testenv.StartMerger(t, root, fmt.Sprintf("merger%d", i), fmt.Sprintf(`data_dir: %%[1]s
admin: {listen: %q}
inputs:
  - {name: agents, type: http, listen: %q, format: pulse}
merge: {interval: 500ms, finalize_after: %s}
outputs:
  - {name: snapshots, type: file, path: %%[1]s/snapshots}
`, s.admin, s.addr, finalize))
	testenv.WaitListening(t, s.Process, s.addr)
	testenv.WaitListening(t, s.Process, s.admin)
	return s
}

// accAgent is one agent, the file it tails and its admin address.
type accAgent struct {
	*testenv.Node
	id, file, admin string
}

func agentNodes(as []*accAgent) []*testenv.Node {
	var ns []*testenv.Node
	for _, a := range as {
		ns = append(ns, a.Node)
	}
	return ns
}

func shardNodes(ss []*accShard) []*testenv.Node {
	var ns []*testenv.Node
	for _, s := range ss {
		ns = append(ns, s.Node)
	}
	return ns
}

// refused sums the requests the proxies refused.
func refused(ss []*accShard) (n int64) {
	for _, s := range ss {
		n += s.proxy.Stats().Refused
	}
	return n
}

// delivered returns the fragment batches an agent's output delivered since
// its nodes were last ejected: non-zero once it gets through again.
func delivered(a *accAgent) int64 {
	st, err := getStatus(a.admin)
	if err != nil || len(st.Outputs) == 0 {
		return 0
	}
	for _, n := range st.Outputs[0].Nodes {
		if !n.Up {
			return 0
		}
	}
	return st.Outputs[0].Batches
}

func getStatus(addr string) (admin.Status, error) {
	var st admin.Status
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET %s/status: %s", addr, resp.Status)
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

// The reference: the test's own reading of the raw lines.

// accQuantileBound is the sketch's relative accuracy (metrics.RelativeAccuracy),
// with room for float rounding.
const accQuantileBound = 0.01 * (1 + 1e-9)

var accQuantiles = [...]float64{0.50, 0.95, 0.99}

// refAgg is what the reference knows of one key and window.
type refAgg struct {
	kind     string
	count    uint64
	sum      float64
	min, max float64
	values   []float64           // measures
	distinct map[string]struct{} // uniques
	last     float64             // samples: the value with the latest time,
	lastTime time.Time           // the larger on a tie
	agents   uint8               // bit i: agent i+1 observed it
}

type reference struct {
	lines int
	keys  map[string]*refAgg // by snapshotKey
}

func newReference() *reference { return &reference{keys: map[string]*refAgg{}} }

// addFile reads one agent's file.
func (r *reference) addFile(agent int, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if err := r.line(agent, sc.Text()); err != nil {
			return fmt.Errorf("%s: line %d: %w", path, r.lines, err)
		}
		r.lines++
	}
	return sc.Err()
}

// line derives what the agent derives from one line, as the rules above
// and l2met's conventions say: the leading RFC 3339 time picks the window
// (the agent's eventTime), durations become milliseconds.
func (r *reference) line(agent int, line string) error {
	ts, msg, ok := strings.Cut(line, " ")
	if !ok {
		return fmt.Errorf("no timestamp in %q", line)
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return err
	}
	win := t.Truncate(accWindow).UTC()
	pairs := splitLogfmt(msg)
	field := func(k string) (string, bool) { // the last one, as logfmt lookups take
		v, ok := "", false
		for _, p := range pairs {
			if p.key == k {
				v, ok = p.val, true
			}
		}
		return v, ok
	}

	// l2met: count#, measure#, sample#, unique#, with source= as a dimension.
	var dims []string
	if src, ok := field("source"); ok {
		dims = []string{"source=" + src}
	}
	for _, p := range pairs {
		kind, name, ok := strings.Cut(p.key, "#")
		if !ok || name == "" {
			continue
		}
		switch kind {
		case "count":
			v, unit := 1.0, ""
			if p.val != "" {
				if v, unit, ok = quantity(p.val); !ok {
					continue
				}
			}
			r.observe(agent, name, "counter", unit, dims, win, v, t, "")
		case "measure", "sample":
			v, unit, ok := quantity(p.val)
			if !ok {
				continue
			}
			v, unit = toMillis(v, unit)
			r.observe(agent, name, kind, unit, dims, win, v, t, "")
		case "unique":
			v, unit, ok := quantity(p.val) // a number counts as its value, a name as 0
			if !ok {
				v, unit = 0, ""
			}
			v, unit = toMillis(v, unit)
			r.observe(agent, name, "unique", unit, dims, win, v, t, p.val)
		}
	}

	// The rules of accRules.
	at, isRouter := field("at")
	if !isRouter {
		return nil
	}
	for _, m := range []struct{ name, value, dim string }{
		{"router.service", "service", "status"},
		{"router.connect", "connect", "dyno"},
	} {
		if m.name == "router.service" && at != "info" {
			continue
		}
		raw, ok := field(m.value)
		if !ok {
			continue
		}
		v, unit, ok := quantity(raw)
		if !ok {
			continue
		}
		v, unit = toMillis(v, unit)
		d, _ := field(m.dim)
		r.observe(agent, m.name, "measure", unit, []string{m.dim + "=" + d}, win, v, t, "")
	}
	if at == "error" {
		code, _ := field("code")
		r.observe(agent, "router.errors", "counter", "", []string{"code=" + code}, win, 1, t, "")
	}
	if fwd, ok := field("fwd"); ok {
		r.observe(agent, "router.clients", "unique", "", nil, win, 1, t, fwd)
	}
	return nil
}

func (r *reference) observe(agent int, name, kind, unit string, dims []string, win time.Time, v float64, t time.Time, raw string) {
	k := snapshotKey(name, kind, unit, dims, win)
	a := r.keys[k]
	if a == nil {
		a = &refAgg{kind: kind, min: v, max: v, last: v, lastTime: t}
		r.keys[k] = a
	}
	a.count++
	a.sum += v
	a.min, a.max = math.Min(a.min, v), math.Max(a.max, v)
	a.agents |= 1 << agent
	switch kind {
	case "measure":
		a.values = append(a.values, v)
	case "unique":
		if a.distinct == nil {
			a.distinct = map[string]struct{}{}
		}
		a.distinct[raw] = struct{}{}
	case "sample":
		if t.After(a.lastTime) || t.Equal(a.lastTime) && v > a.last {
			a.last, a.lastTime = v, t
		}
	}
}

// snapshotKey names a key and window: name, kind, unit, sorted "k=v"
// dimensions and window start.
func snapshotKey(name, kind, unit string, dims []string, win time.Time) string {
	dims = slices.Clone(dims)
	sort.Strings(dims)
	return name + "|" + kind + "|" + unit + "|" + strings.Join(dims, ",") + "|" + win.UTC().Format(time.RFC3339Nano)
}

type kv struct{ key, val string }

// splitLogfmt splits "k=v k2=\"quoted value\" bare" into pairs; a quoted
// value comes without its quotes. Enough for the lines gen writes.
func splitLogfmt(s string) []kv {
	var out []kv
	for i := 0; i < len(s); {
		if s[i] == ' ' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] != '=' && s[j] != ' ' {
			j++
		}
		p := kv{key: s[i:j]}
		if j < len(s) && s[j] == '=' {
			j++
			if j < len(s) && s[j] == '"' {
				end := strings.IndexByte(s[j+1:], '"')
				if end < 0 {
					end = len(s) - j - 1
				}
				p.val = s[j+1 : j+1+end]
				j += end + 2
			} else {
				k := j
				for j < len(s) && s[j] != ' ' {
					j++
				}
				p.val = s[k:j]
			}
		}
		out = append(out, p)
		i = j
	}
	return out
}

// quantity splits "37ms" or "12.5" into a number and a unit of letters.
func quantity(s string) (float64, string, bool) {
	n := 0
	for n < len(s) && (s[n] >= '0' && s[n] <= '9' || s[n] == '.' || s[n] == '-' && n == 0) {
		n++
	}
	unit := s[n:]
	for _, c := range unit {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return 0, "", false
		}
	}
	v, err := strconv.ParseFloat(s[:n], 64)
	if err != nil {
		return 0, "", false
	}
	return v, unit, true
}

// toMillis states durations in milliseconds, as the agent does.
func toMillis(v float64, unit string) (float64, string) {
	switch unit {
	case "ms":
		return v, "ms"
	case "s":
		return v * 1000, "ms"
	case "us":
		return v / 1000, "ms"
	}
	return v, unit
}

// snapshotLine is one snapshot as a shard's file holds it.
type snapshotLine struct {
	Name        string            `json:"name"`
	Kind        string            `json:"kind"`
	Unit        string            `json:"unit"`
	Dims        map[string]string `json:"dims"`
	WindowStart time.Time         `json:"window_start"`
	WindowS     float64           `json:"window_s"`
	Count       uint64            `json:"count"`
	Sum         float64           `json:"sum"`
	Min         float64           `json:"min"`
	Max         float64           `json:"max"`
	P50         float64           `json:"p50"`
	P95         float64           `json:"p95"`
	P99         float64           `json:"p99"`
	Unique      uint64            `json:"unique"`
	Last        float64           `json:"last"`
	LastTime    time.Time         `json:"last_time"`
	Agents      int               `json:"agents"`
	Final       bool              `json:"final"`
}

func (s *snapshotLine) key() string {
	var dims []string
	for k, v := range s.Dims {
		dims = append(dims, k+"="+v)
	}
	return snapshotKey(s.Name, s.Kind, s.Unit, dims, s.WindowStart)
}

// readShards returns, per key and window, the final snapshot of each
// shard that has one (the last in its files: a restart may emit a window's
// snapshots again). A key and window whose latest snapshot on some shard
// is not final is an error: the shards are not done.
func readShards(ss []*accShard) (map[string][]snapshotLine, error) {
	out := map[string][]snapshotLine{}
	for _, s := range ss {
		files, err := filepath.Glob(filepath.Join(s.Dir, "snapshots", "*.log"))
		if err != nil {
			return nil, err
		}
		sort.Strings(files) // events-NNNNNN.log: zero-padded, in order
		last := map[string]snapshotLine{}
		finals := map[string]snapshotLine{}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			for _, l := range strings.SplitAfter(string(b), "\n") {
				if !strings.HasSuffix(l, "\n") {
					continue // being written
				}
				var sn snapshotLine
				if err := json.Unmarshal([]byte(l), &sn); err != nil {
					return nil, fmt.Errorf("%s: %w: %q", f, err, l)
				}
				k := sn.key()
				last[k] = sn
				if sn.Final {
					if prev, ok := finals[k]; ok && prev.Count != sn.Count {
						return nil, fmt.Errorf("%s: %s finalized twice: count %d, then %d", s.Name, k, prev.Count, sn.Count)
					}
					finals[k] = sn
				}
			}
		}
		for k, sn := range last {
			if !sn.Final {
				return nil, fmt.Errorf("%s: %s not final yet", s.Name, k)
			}
			out[k] = append(out[k], finals[k])
		}
	}
	return out, nil
}

// complete reports whether the shards' final counts reach the
// reference's for every key and window (more is for compare to report).
func (r *reference) complete(got map[string][]snapshotLine) bool {
	for k, a := range r.keys {
		var n uint64
		for _, s := range got[k] {
			n += s.Count
		}
		if n < a.count {
			return false
		}
	}
	return true
}

// accResult is what compare saw.
type accResult struct {
	snapshots, measures  int
	split, splitMeasures int
	qerr                 [len(accQuantiles)]float64 // largest relative error per quantile
	uerr                 float64                    // largest relative error of unique estimates
	sumErr               float64                    // largest relative sum error
	splitAt              map[time.Time]int          // split key windows by window start
}

// splitWindows lists the windows with split keys, and how many.
func (r *accResult) splitWindows() string {
	var b strings.Builder
	for _, w := range slices.SortedFunc(maps.Keys(r.splitAt), time.Time.Compare) {
		fmt.Fprintf(&b, "%s×%d ", w.Format(accClock), r.splitAt[w])
	}
	return strings.TrimSpace(b.String())
}

// compare checks every snapshot against the reference.
func (r *reference) compare(t *testing.T, got map[string][]snapshotLine) accResult {
	t.Helper()
	res := accResult{splitAt: map[time.Time]int{}}
	bad := 0
	errorf := func(format string, args ...any) {
		bad++
		if bad <= 20 {
			t.Errorf(format, args...)
		}
	}
	for k := range got {
		if r.keys[k] == nil {
			errorf("%s: in the snapshots, not in the input", k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.keys)) {
		a := r.keys[k]
		snaps := got[k]
		if len(snaps) == 0 {
			errorf("%s: no final snapshot; want count %d", k, a.count)
			continue
		}
		res.snapshots += len(snaps)
		if a.kind == "measure" {
			res.measures++
		}
		if len(snaps) > 1 {
			res.split++
			res.splitAt[snaps[0].WindowStart]++
			if a.kind == "measure" {
				res.splitMeasures++
			}
		}
		// Count, sum, min, max and last combine across shards.
		c := snaps[0]
		for _, s := range snaps[1:] {
			c.Count += s.Count
			c.Sum += s.Sum
			c.Min, c.Max = math.Min(c.Min, s.Min), math.Max(c.Max, s.Max)
			if s.LastTime.After(c.LastTime) || s.LastTime.Equal(c.LastTime) && s.Last > c.Last {
				c.Last, c.LastTime = s.Last, s.LastTime
			}
		}
		sumErr := math.Abs(c.Sum-a.sum) / math.Max(math.Abs(a.sum), 1)
		res.sumErr = math.Max(res.sumErr, sumErr)
		if c.Count != a.count || sumErr > 1e-9 || c.Min != a.min || c.Max != a.max || c.WindowS != accWindow.Seconds() {
			errorf("%s over %d shard(s): count %d sum %v min %v max %v window %vs; want %d %v %v %v %vs",
				k, len(snaps), c.Count, c.Sum, c.Min, c.Max, c.WindowS, a.count, a.sum, a.min, a.max, accWindow.Seconds())
		}
		if a.kind == "sample" && (c.Last != a.last || !c.LastTime.Equal(a.lastTime)) {
			errorf("%s: last %v at %v, want %v at %v", k, c.Last, c.LastTime, a.last, a.lastTime)
		}
		if len(snaps) > 1 {
			continue // the rest does not combine across shards
		}
		if want := popcount(a.agents); c.Agents != want {
			errorf("%s: %d agents, want %d", k, c.Agents, want)
		}
		switch a.kind {
		case "measure":
			sorted := slices.Clone(a.values)
			slices.Sort(sorted)
			for i, q := range accQuantiles {
				// The sketch's lower quantile: the value at rank
				// floor(q*(n-1)), computed as the sketch computes it.
				x := sorted[int(float64(q*float64(len(sorted)-1)))]
				p := [...]float64{c.P50, c.P95, c.P99}[i]
				e := math.Abs(p - x)
				if x != 0 {
					e /= math.Abs(x)
				}
				res.qerr[i] = math.Max(res.qerr[i], e)
				if e > accQuantileBound {
					errorf("%s: p%g %v, exact %v: %.3f%% off, bound %.0f%%", k, 100*q, p, x, 100*e, 100*accQuantileBound)
				}
			}
		case "unique":
			want := float64(len(a.distinct))
			e := math.Abs(float64(c.Unique)-want) / want
			res.uerr = math.Max(res.uerr, e)
			// HyperLogLog at precision 14: 0.8% standard error; three of them.
			if e > 0.025 {
				errorf("%s: unique %d, exact %v: %.2f%% off", k, c.Unique, want, 100*e)
			}
		}
	}
	if res.measures == 0 || res.splitMeasures*2 > res.measures {
		errorf("%d of %d measure windows split over shards: quantiles checked on too few", res.splitMeasures, res.measures)
	}
	if bad > 20 {
		t.Errorf("... %d mismatches in all", bad)
	}
	return res
}

func popcount(b uint8) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n
}

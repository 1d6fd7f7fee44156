package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"pulse/metrics"
	"pulse/testenv"
)

// The run of issue 14: agents tail files `pulse gen` writes live, roll
// them up in 2 s windows (accWindow, as the reference reads them) and hash
// their fragments, strictly, over two merger shards; each merger writes its
// snapshots to the same three PostgreSQL shards.
const (
	pgAgents   = 2
	pgMergers  = 2
	pgShards   = 3
	pgLines    = 45_000           // per agent
	pgRate     = 1_500            // lines per second per generator: a 30 s run
	pgFinalize = 8 * time.Second  // windows final (and checked unchanged) well within the shard's downtime
	pgDown     = 20 * time.Second // one PostgreSQL shard stopped this long
)

// TestPostgresSink is issue 14's acceptance, on real PostgreSQL servers
// and the real binary. While the generators write:
//   - one PostgreSQL shard is stopped for 20 s: the mergers keep its rows
//     in their outputs' buffers and retry, while the two others take rows
//     all along; once it is started again its rows arrive;
//   - meanwhile a merger is killed with SIGKILL and restarted, replaying
//     its buffers (fragments not yet checkpointed; snapshot batches not
//     yet written on every shard, which go to every shard again): the rows
//     of windows already final stay exactly as they were.
//
// At the end every key and window has exactly one row, on exactly one
// shard, final, and the rows equal a reference computed from the raw lines
// (count, sum, min, max exact; p50/p95/p99 within the sketch's 1%; unique
// within HyperLogLog's error; the agents count). The stored sketches
// decode to the row's own quantiles and unique count.
func TestPostgresSink(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end postgres test; run without -short")
	}
	began := time.Now()
	root := t.TempDir()
	bin := testenv.Binary(t)

	pgs := make([]*testenv.Postgres, pgShards)
	var dsns []string
	for i := range pgs {
		pgs[i] = testenv.StartPostgres(t)
		dsns = append(dsns, strconv.Quote(pgs[i].DSN()))
	}
	mergers := make([]*accShard, pgMergers)
	var endpoints []string
	for i := range mergers {
		mergers[i] = startPostgresMerger(t, root, i+1, strings.Join(dsns, ", "))
		endpoints = append(endpoints, strconv.Quote(mergers[i].addr))
	}
	agents := startMetricsAgents(t, root, pgAgents, fmt.Sprintf(`  - name: mergers
    stream: fragments
    type: http
    endpoints: [%s]
    encoding: pulse
    balance: hash
    hash_failover: false
    retry_max: 500ms
    batch: {max_events: 1000, max_bytes: 1MiB, max_wait: 50ms}
`, strings.Join(endpoints, ", ")))
	gens := startGens(t, root, bin, agents, pgLines, pgRate, 2000)
	const phase = 90 * time.Second

	// Shard 3 stops once every shard has rows.
	testenv.WaitFor(t, phase, "rows on every shard", func() bool {
		for _, pg := range pgs {
			if pgCount(t, pg, "true") == 0 {
				return false
			}
		}
		return true
	})
	down := pgs[pgShards-1]
	down.Stop()
	stoppedAt := time.Now()
	before := make([]int, pgShards)
	for i, pg := range pgs[:pgShards-1] {
		before[i] = pgCount(t, pg, "true")
	}
	var held int
	testenv.WaitFor(t, phase, "the mergers holding rows for the stopped shard", func() bool {
		held = 0
		for _, m := range mergers {
			st, err := getStatus(m.admin)
			if err != nil || len(st.Outputs) == 0 || len(st.Outputs[0].Nodes) != pgShards {
				return false
			}
			if n := st.Outputs[0].Nodes[pgShards-1]; !n.Up {
				held += n.InFlight
			}
		}
		return held > 0
	})
	// While shard 3 is down, kill -9 a merger that has checkpointed and
	// holds batches in flight (their rows for shard 3 unwritten): after
	// the restart they are replayed, to every shard again.
	testenv.WaitFor(t, phase, "final rows on the running shards", func() bool {
		return pgCount(t, pgs[0], "final") > 0 && pgCount(t, pgs[1], "final") > 0
	})
	var victim *accShard
	testenv.WaitFor(t, phase, "a checkpointed merger with batches in flight", func() bool {
		for _, m := range mergers {
			st, err := getStatus(m.admin)
			if err != nil || st.Merger == nil || len(st.Outputs) == 0 {
				continue
			}
			if _, err := os.Stat(filepath.Join(m.Dir, "merger", "state.bin")); err == nil && st.Outputs[0].Buffer.InFlight > 0 {
				victim = m
				return true
			}
		}
		return false
	})
	finalBefore := map[string]pgRow{}
	for _, pg := range pgs[:pgShards-1] {
		for _, r := range pgRows(t, pg) {
			if r.Final {
				finalBefore[r.key()] = r
			}
		}
	}
	victim.Kill()
	victim.Restart()
	testenv.WaitListening(t, victim.Process, victim.addr)
	testenv.WaitListening(t, victim.Process, victim.admin)
	var replayed int64
	testenv.WaitFor(t, phase, victim.Name+"'s postgres output replaying its batches", func() bool {
		st, err := getStatus(victim.admin)
		if err == nil && len(st.Outputs) > 0 {
			replayed = st.Outputs[0].Buffer.Replayed
		}
		return replayed > 0
	})
	t.Logf("%s killed and restarted; %d final rows before; its postgres output's buffer replayed %d snapshots", victim.Name, len(finalBefore), replayed)

	time.Sleep(time.Until(stoppedAt.Add(pgDown)))
	for i, pg := range pgs[:pgShards-1] {
		// Rows written while shard 3 was down: new windows' rows, and
		// rows of open windows updated.
		since := pgCount(t, pg, fmt.Sprintf("updated_at > '%s'", stoppedAt.Add(2*time.Second).UTC().Format(time.RFC3339Nano)))
		if since == 0 {
			t.Errorf("shard %d: no row written in the %v shard %d was down", i+1, pgDown, pgShards)
		}
		t.Logf("shard %d while shard %d was down: %d rows before, %d written since", i+1, pgShards, before[i], since)
	}
	down.Start()
	restartedPG := time.Now()
	testenv.WaitFor(t, phase, "the stopped shard's rows arriving", func() bool {
		return pgCount(t, down, fmt.Sprintf("updated_at > '%s'", restartedPG.UTC().Format(time.RFC3339Nano))) > 0
	})
	t.Logf("shard %d down %v; %d rows held for it by the mergers meanwhile (at least)", pgShards, time.Since(stoppedAt).Round(time.Second), held)

	for i, g := range gens {
		if err := g.Wait(phase); err != nil {
			t.Fatalf("gen%d: %v\n%s", i+1, err, g.Tail(10))
		}
	}
	for _, a := range agents {
		testenv.WaitFor(t, phase, a.id+" read its whole file", func() bool { return eventsRead(a) == pgLines })
	}
	for _, a := range agents {
		if err := a.Stop(30 * time.Second); err != nil {
			t.Fatalf("%s: %v\n%s", a.id, err, a.Tail(20))
		}
	}
	ref := newReference()
	for i, a := range agents {
		if err := ref.addFile(i, a.file); err != nil {
			t.Fatal(err)
		}
	}
	// Every window finalized, and every snapshot batch done with on every
	// shard (the postgres output's buffer empty, no row pending).
	testenv.WaitFor(t, pgFinalize+phase, "every window final and every row written", func() bool {
		for _, m := range mergers {
			st, err := getStatus(m.admin)
			if err != nil || st.Merger == nil || st.Merger.Keys != 0 || len(st.Outputs) == 0 {
				return false
			}
			o := st.Outputs[0]
			if o.Buffer.Batches != 0 || o.Buffer.Events != 0 {
				return false
			}
			for _, n := range o.Nodes {
				if n.InFlight != 0 {
					return false
				}
			}
		}
		return true
	})

	// The rows: each key and window once, on one shard, final.
	got := map[string][]snapshotLine{}
	where := map[string][]int{}
	var all []pgRow
	for i, pg := range pgs {
		rows := pgRows(t, pg)
		for _, r := range rows {
			k := r.key()
			got[k] = append(got[k], r.snapshotLine)
			where[k] = append(where[k], i+1)
			if !r.Final {
				t.Errorf("%s on shard %d not final", k, i+1)
			}
		}
		all = append(all, rows...)
		t.Logf("shard %d: %d rows", i+1, len(rows))
	}
	for k, ws := range where {
		if len(ws) > 1 {
			t.Errorf("%s on shards %v: a key's rows belong on exactly one", k, ws)
		}
	}
	res := ref.compare(t, got)
	if res.split != 0 {
		t.Errorf("%d key windows on more than one shard", res.split)
	}
	// The kill -9 and its replay changed no final row.
	changed := 0
	now := map[string]pgRow{}
	for _, r := range all {
		now[r.key()] = r
	}
	for k, b := range finalBefore {
		if a, ok := now[k]; !ok || !a.sameValues(b) {
			if changed++; changed <= 5 {
				t.Errorf("%s final before the kill, changed after the replay:\n before %+v\n after  %+v", k, b, a)
			}
		}
	}
	// The sketches decode to the row's own figures: they can be merged.
	checked := 0
	for _, r := range all {
		switch r.Kind {
		case "measure":
			sk, err := metrics.DecodeSketch(r.sketch)
			if err != nil {
				t.Fatalf("%s: sketch: %v", r.key(), err)
			}
			q, _ := sk.GetValuesAtQuantiles([]float64{0.5, 0.99})
			if q[0] != r.P50 || q[1] != r.P99 || uint64(sk.GetCount()) != r.Count {
				t.Errorf("%s: sketch says p50 %v p99 %v count %v, the row %v %v %v", r.key(), q[0], q[1], sk.GetCount(), r.P50, r.P99, r.Count)
			}
			checked++
		case "unique":
			h, err := metrics.DecodeHLL(r.hll)
			if err != nil || h.Estimate() != r.Unique {
				t.Errorf("%s: hll %v: estimate %d, the row %d", r.key(), err, h.Estimate(), r.Unique)
			}
			checked++
		}
	}
	var retries, failures int64
	for _, m := range mergers {
		st, err := getStatus(m.admin)
		if err != nil {
			t.Fatal(err)
		}
		if st.Merger.TooLate != 0 {
			t.Errorf("%s: %d fragments too late for their windows (finalize_after %v)", m.Name, st.Merger.TooLate, pgFinalize)
		}
		o := st.Outputs[0]
		retries += o.Retries
		failures += o.Failures
		if o.DeadLetters != 0 {
			t.Errorf("%s: %d dead letters", m.Name, o.DeadLetters)
		}
	}
	t.Logf("%d lines, %d key windows = %d rows over %d shards; %d sketches checked; mergers' postgres outputs: %d retries, %d failed transactions (since their last start); quantile error up to p50 %.3f%% p95 %.3f%% p99 %.3f%%; run %v",
		ref.lines, len(ref.keys), len(all), pgShards, checked, retries, failures, 100*res.qerr[0], 100*res.qerr[1], 100*res.qerr[2], time.Since(began).Round(time.Second))
	for _, m := range mergers {
		if err := m.Stop(30 * time.Second); err != nil {
			t.Errorf("%s: %v\n%s", m.Name, err, m.Tail(10))
		}
	}
}

// startPostgresMerger starts merger shard i, emitting snapshots every
// 500 ms to the postgres shards dsns (a YAML list's items).
func startPostgresMerger(t *testing.T, root string, i int, dsns string) *accShard {
	t.Helper()
	s := &accShard{addr: testenv.FreeAddr(t), admin: testenv.FreeAddr(t)}
	s.Node = testenv.StartMerger(t, root, fmt.Sprintf("merger%d", i), fmt.Sprintf(`data_dir: %%[1]s
admin: {listen: %q}
inputs:
  - {name: agents, type: http, listen: %q, format: pulse}
merge: {interval: 500ms, finalize_after: %s}
outputs:
  - name: db
    type: postgres
    encoding: pulse
    shards: [%s]
    columns: [dyno, status]
    retry_initial: 100ms
    retry_max: 1s
    timeout: 5s
    batch: {max_events: 2000, max_bytes: 1MiB, max_wait: 50ms}
`, s.admin, s.addr, pgFinalize, dsns))
	testenv.WaitListening(t, s.Process, s.addr)
	testenv.WaitListening(t, s.Process, s.admin)
	return s
}

// pgRow is one row of a snapshots table, as the reference compares it.
type pgRow struct {
	snapshotLine
	sumsq       float64
	sketch, hll []byte
	seq         int64
}

func (r pgRow) key() string { return r.snapshotLine.key() }

// sameValues compares everything but seq (a replay may write the same
// snapshot again, later).
func (r pgRow) sameValues(o pgRow) bool {
	a, b := r.snapshotLine, o.snapshotLine
	return a.key() == b.key() && a.Count == b.Count && a.Sum == b.Sum && r.sumsq == o.sumsq && a.Min == b.Min && a.Max == b.Max &&
		a.P50 == b.P50 && a.P95 == b.P95 && a.P99 == b.P99 && a.Unique == b.Unique && a.Last == b.Last &&
		a.LastTime.Equal(b.LastTime) && a.Agents == b.Agents && a.Final == b.Final &&
		string(r.sketch) == string(o.sketch) && string(r.hll) == string(o.hll)
}

// pgSchemas lists a shard's day schemas (a run may span midnight UTC).
func pgSchemas(t *testing.T, pg *testenv.Postgres) []string {
	var out []string
	for _, r := range pg.Query(t, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'metrics\_________' ORDER BY 1`) {
		out = append(out, r[0].(string))
	}
	return out
}

// pgCount counts a shard's rows matching cond, over its day schemas.
func pgCount(t *testing.T, pg *testenv.Postgres, cond string) int {
	if !pg.Running() {
		return 0
	}
	n := 0
	for _, s := range pgSchemas(t, pg) {
		n += int(pg.Int(t, "SELECT count(*) FROM "+s+".snapshots WHERE "+cond))
	}
	return n
}

// pgRows reads every row of a shard.
func pgRows(t *testing.T, pg *testenv.Postgres) []pgRow {
	t.Helper()
	var out []pgRow
	for _, s := range pgSchemas(t, pg) {
		for _, v := range pg.Query(t, `SELECT name, kind, unit, dims, dim_dyno, dim_status, window_start,
			extract(epoch FROM window_len)::float8, count, sum, sumsq, min, max, coalesce(p50, 0), coalesce(p95, 0), coalesce(p99, 0),
			coalesce(uniq, 0), coalesce(last, 0), coalesce(last_time, 'epoch'), agents, final, sketch, hll, seq FROM `+s+`.snapshots`) {
			var r pgRow
			r.Name, r.Kind, r.Unit = v[0].(string), v[1].(string), v[2].(string)
			r.Dims = map[string]string{}
			if m, ok := v[3].(map[string]any); ok {
				for k, x := range m {
					r.Dims[k] = x.(string)
				}
			} else {
				b, _ := json.Marshal(v[3])
				t.Fatalf("dims %s", b)
			}
			for i, d := range []string{"dyno", "status"} {
				if x, ok := v[4+i].(string); ok {
					r.Dims[d] = x
				}
			}
			r.WindowStart = v[6].(time.Time).UTC()
			r.WindowS = v[7].(float64)
			r.Count = uint64(v[8].(int64))
			r.Sum, r.sumsq, r.Min, r.Max = v[9].(float64), v[10].(float64), v[11].(float64), v[12].(float64)
			r.P50, r.P95, r.P99 = v[13].(float64), v[14].(float64), v[15].(float64)
			r.Unique = uint64(v[16].(int64))
			r.Last, r.LastTime = v[17].(float64), v[18].(time.Time).UTC()
			r.Agents, r.Final = int(v[19].(int32)), v[20].(bool)
			r.sketch, _ = v[21].([]byte)
			r.hll, _ = v[22].([]byte)
			r.seq = v[23].(int64)
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b pgRow) int { return strings.Compare(a.key(), b.key()) })
	return out
}

package postgres

import (
	"fmt"
	"testing"
	"time"

	"pulse/metrics"
	"pulse/testenv"
)

// TestShardsSpread: over three shards, every app's rows are on the one
// shard its ring position names, each key once, and every shard has some.
func TestShardsSpread(t *testing.T) {
	pgs := []*testenv.Postgres{testenv.StartPostgres(t), testenv.StartPostgres(t), testenv.StartPostgres(t)}
	o := newOutput(t, Options{ShardBy: []string{"app"}, BatchRows: 7}, pgs...)
	src := newMemSource()
	run(t, o, src)
	const apps = 60
	var snaps []metrics.Snapshot
	for i := range apps {
		for _, dyno := range []string{"web", "worker"} {
			snaps = append(snaps, snap("lat", now, 1, []float64{float64(i)}, "app", fmt.Sprintf("app%d", i), "dyno", dyno))
		}
	}
	src.put(snaps[:50]...)
	src.putPulse(snaps[50:]...)
	testenv.WaitFor(t, 30*time.Second, "both batches acked", func() bool { return src.ackedCount() == 2 })
	tbl := o.schema.name(now) + "." + Table
	total := 0
	for i, pg := range pgs {
		rows := pg.Query(t, "SELECT dim_app, count(*) FROM "+tbl+" GROUP BY dim_app")
		if len(rows) == 0 {
			t.Errorf("shard %d has no rows", i)
		}
		for _, r := range rows {
			app := r[0].(string)
			s := metrics.Snapshot{Dims: []metrics.Dim{{Name: "app", Value: app}}}
			if want := o.ring.Owner(shardKey(&s, []string{"app"})); want != i {
				t.Errorf("%s on shard %d, its ring owner is %d", app, i, want)
			}
			if r[1] != int64(2) {
				t.Errorf("%s: %v rows on shard %d, want 2 (web, worker)", app, r[1], i)
			}
			total += int(r[1].(int64))
		}
	}
	if total != 2*apps {
		t.Errorf("%d rows over the shards, want %d", total, 2*apps)
	}
}

// TestShardDownOthersGoOn: with one of two shards stopped, the other
// takes its rows at once while the batches holding the stopped shard's
// rows stay unacknowledged; once it is back its rows arrive and every
// batch is acknowledged.
func TestShardDownOthersGoOn(t *testing.T) {
	pgs := []*testenv.Postgres{testenv.StartPostgres(t), testenv.StartPostgres(t)}
	o := newOutput(t, Options{ShardBy: []string{"app"}}, pgs...)
	src := newMemSource()
	run(t, o, src)
	// Apps for each shard, known from the ring.
	var on [2][]string
	for i := 0; len(on[0]) < 5 || len(on[1]) < 5; i++ {
		app := fmt.Sprintf("app%d", i)
		s := metrics.Snapshot{Dims: []metrics.Dim{{Name: "app", Value: app}}}
		sh := o.ring.Owner(shardKey(&s, []string{"app"}))
		on[sh] = append(on[sh], app)
	}
	tbl := o.schema.name(now) + "." + Table
	first := src.put(snap("lat", now, 1, []float64{1}, "app", on[0][0]), snap("lat", now, 1, []float64{1}, "app", on[1][0]))
	testenv.WaitFor(t, 20*time.Second, "the first batch acked", func() bool { return src.isAcked(first) })

	pgs[1].Stop()
	var ids []uint64
	for i := 1; i < 5; i++ {
		ids = append(ids, src.put(snap("lat", now, 2, []float64{2}, "app", on[0][i]), snap("lat", now, 2, []float64{2}, "app", on[1][i])))
	}
	onlyA := src.put(snap("lat", now, 3, []float64{3}, "app", on[0][0]))
	testenv.WaitFor(t, 20*time.Second, "shard 0's rows in while shard 1 is down", func() bool {
		return pgs[0].Int(t, "SELECT count(*) FROM "+tbl) == 5 && src.isAcked(onlyA)
	})
	for _, id := range ids {
		if src.isAcked(id) {
			t.Errorf("batch %d acked while its shard 1 rows cannot have been written", id)
		}
	}
	st := o.Stats()
	if st.Shards[1].Up || st.Shards[1].Pending != 4 || st.Shards[1].LastError == "" || !st.Shards[0].Up {
		t.Errorf("shard states while 1 is down: %+v", st.Shards)
	}

	pgs[1].Start()
	testenv.WaitFor(t, 30*time.Second, "every batch acked once shard 1 is back", func() bool { return src.ackedCount() == 6 })
	if n := pgs[1].Int(t, "SELECT count(*) FROM "+tbl); n != 5 {
		t.Errorf("shard 1 has %d rows, want 5", n)
	}
	if st := o.Stats(); st.Retries == 0 || st.Failures == 0 || !st.Shards[1].Up || st.Pending != 0 {
		t.Errorf("stats after shard 1 came back: %+v", st)
	}
}

// TestRingAddShard: a fourth shard takes about a quarter of the keys, all
// from the others, and no key moves between the first three.
func TestRingAddShard(t *testing.T) {
	three := []string{"db1:5432/m", "db2:5432/m", "db3:5432/m"}
	mk := func(ids []string) *Output {
		o := &Output{}
		o.ring = ringOf(ids)
		return o
	}
	a, b := mk(three), mk(append(three, "db4:5432/m"))
	const n = 20000
	moved := 0
	for i := range n {
		s := metrics.Snapshot{Dims: []metrics.Dim{{Name: "app", Value: fmt.Sprint("app", i)}}}
		k := shardKey(&s, []string{"app"})
		from, to := a.ring.Owner(k), b.ring.Owner(k)
		if from != to {
			moved++
			if to != 3 {
				t.Fatalf("app%d moved from shard %d to %d, not to the new one", i, from, to)
			}
		}
	}
	if frac := float64(moved) / n; frac < 0.15 || frac > 0.35 {
		t.Errorf("%.1f%% of keys moved to the fourth shard, want about 25%%", 100*frac)
	}
}

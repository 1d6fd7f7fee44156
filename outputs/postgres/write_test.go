package postgres

import (
	"testing"
	"time"

	"pulse/testenv"
)

// TestUpsertNewestWins: rows land one per key and window; a snapshot of the
// same key and window with a larger seq replaces its row, one with a
// smaller or equal seq changes nothing, whatever the order they come in.
func TestUpsertNewestWins(t *testing.T) {
	pg := testenv.StartPostgres(t)
	o := newOutput(t, Options{ShardBy: []string{"app"}}, pg)
	src := newMemSource()
	run(t, o, src)
	tbl := o.schema.name(now) + "." + Table

	a1 := snap("lat", now, 10, []float64{1, 2, 3}, "app", "a", "dyno", "web.1")
	b1 := snap("lat", now, 10, []float64{5}, "app", "b")
	id := src.put(a1, b1)
	testenv.WaitFor(t, 20*time.Second, "the first batch acked", func() bool { return src.isAcked(id) })
	if n := pg.Int(t, "SELECT count(*) FROM "+tbl); n != 2 {
		t.Fatalf("%d rows, want 2", n)
	}
	// The Metrics API's reads (one name over a range) have their index.
	if n := pg.Int(t, "SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND indexname = $2 AND indexdef LIKE '%(name, window_start)'",
		o.schema.name(now), Table+"_name_window"); n != 1 {
		t.Errorf("%d indexes %s_name_window on (name, window_start), want 1", n, Table)
	}
	// Newer (seq 20, more values), then older (seq 5), then the same
	// again, in separate batches; and both versions in one batch.
	a2 := snap("lat", now, 20, []float64{1, 2, 3, 4}, "app", "a", "dyno", "web.1")
	a0 := snap("lat", now, 5, []float64{1}, "app", "a", "dyno", "web.1")
	b2 := snap("lat", now, 30, []float64{5, 6}, "app", "b")
	src.put(a2)
	src.put(a0)
	src.put(a1)
	last := src.putPulse(b1, b2, b1)
	testenv.WaitFor(t, 20*time.Second, "every batch acked", func() bool { return src.isAcked(last) && src.ackedCount() == 5 })
	rows := pg.Query(t, "SELECT dim_app, count, seq, dims->>'dyno', sum, sketch IS NOT NULL FROM "+tbl+" ORDER BY dim_app")
	if len(rows) != 2 {
		t.Fatalf("rows %v", rows)
	}
	if rows[0][0] != "a" || rows[0][1] != int64(4) || rows[0][2] != int64(20) || rows[0][3] != "web.1" || rows[0][4] != 10.0 || rows[0][5] != true {
		t.Errorf("app a: %v, want the seq 20 snapshot (count 4, sum 10)", rows[0])
	}
	if rows[1][0] != "b" || rows[1][1] != int64(2) || rows[1][2] != int64(30) {
		t.Errorf("app b: %v, want the seq 30 snapshot (count 2)", rows[1])
	}
	st := o.Stats()
	if st.Stale < 3 || st.DeadRows != 0 || st.Batches != 5 || st.Pending != 0 {
		t.Errorf("stats %+v", st)
	}
}

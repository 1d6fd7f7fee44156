package postgres

import (
	"slices"
	"testing"
	"time"

	"pulse/testenv"
)

// TestRetentionDropsOldDays: with retention 7d, day schemas whose whole
// day ended over 7 days ago are dropped, newer ones and today's kept, and
// schemas the template did not make left alone; a snapshot of an expired
// day is counted, not written (it would bring its schema back).
func TestRetentionDropsOldDays(t *testing.T) {
	pg := testenv.StartPostgres(t)
	clock := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	o := newOutput(t, Options{Retention: 7 * 24 * time.Hour, Now: func() time.Time { return clock }}, pg)
	day := func(d int) string { return o.schema.name(clock.AddDate(0, 0, -d)) }
	for _, d := range []int{30, 9, 8, 7, 6, 1} {
		pg.Exec(t, "CREATE SCHEMA "+day(d))
		pg.Exec(t, "CREATE TABLE "+day(d)+".snapshots (n int)")
	}
	pg.Exec(t, "CREATE SCHEMA metrics_other")
	pg.Exec(t, "CREATE SCHEMA metrics_2026031")

	src := newMemSource()
	id := src.put(snap("lat", clock, 1, []float64{1}), snap("lat", clock.AddDate(0, 0, -9), 1, []float64{1}))
	run(t, o, src)
	testenv.WaitFor(t, 20*time.Second, "the batch acked", func() bool { return src.isAcked(id) })
	var got []string
	for _, r := range pg.Query(t, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'metrics%' ORDER BY 1") {
		got = append(got, r[0].(string))
	}
	want := []string{"metrics_2026031", day(7), day(6), day(1), day(0), "metrics_other"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("schemas %v, want %v (the 30, 9 and 8 days old dropped)", got, want)
	}
	st := o.Stats()
	if st.Dropped != 3 || st.Expired != 1 || st.Rows != 1 {
		t.Errorf("stats %+v: want 3 dropped, 1 expired, 1 row", st)
	}
	if n := pg.Int(t, "SELECT count(*) FROM "+day(0)+".snapshots"); n != 1 {
		t.Errorf("today: %d rows", n)
	}
}

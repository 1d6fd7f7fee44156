package api_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"pulse/api"
	"pulse/metrics"
	"pulse/outputs/postgres"
	"pulse/testenv"
)

// pgFixture is the data set written by the real postgres output into two
// shards, plus stale copies (smaller seq, wrong values) of every row on
// the other shard, as a reshard would leave them.
type pgFixture struct {
	ds       *dataSet
	pgs      []*testenv.Postgres
	store    *api.PostgresStore
	rows     int64 // rows in both shards
	snapshot int   // snapshots written (once each, before the stale copies)
}

func newPGFixture(t *testing.T) *pgFixture {
	t.Helper()
	f := &pgFixture{pgs: []*testenv.Postgres{testenv.StartPostgres(t), testenv.StartPostgres(t)}}
	// Three hours ago on the hour: a recent day (never past retention),
	// perhaps yesterday's schema and today's both.
	f.ds = newDataSet(time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour))
	snaps := f.ds.snapshots(10)
	f.snapshot = len(snaps)
	write := func(pgs []*testenv.Postgres, snaps []metrics.Snapshot) {
		var dsns []string
		for _, pg := range pgs {
			dsns = append(dsns, pg.DSN())
		}
		o, err := postgres.New(postgres.Options{Shards: dsns, ShardBy: []string{"dyno"}, Columns: []string{"status"},
			DeadLetterDir: t.TempDir(), Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		src := newMemSource()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- o.Run(ctx, src) }()
		n := src.put(snaps)
		testenv.WaitFor(t, 60*time.Second, "every batch written", func() bool { return src.ackedCount() == n })
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("output Run: %v", err)
		}
		if st := o.Stats(); st.DeadRows != 0 {
			t.Fatalf("output stats %+v", st)
		}
	}
	write(f.pgs, snaps)
	stale := f.ds.snapshots(5)
	for i := range stale {
		stale[i].Count += 1000
		stale[i].Sum += 1e6
		stale[i].Max = 1e9
	}
	// Each shard alone: every key gets a stale copy on the shard that
	// does not hold it (the ring's placement varies with the ports).
	write(f.pgs[:1], stale)
	write(f.pgs[1:], stale)
	for _, pg := range f.pgs {
		for _, r := range pg.Query(t, `SELECT schemaname FROM pg_tables WHERE tablename = 'snapshots'`) {
			f.rows += pg.Int(t, "SELECT count(*) FROM "+r[0].(string)+".snapshots")
		}
	}
	st, err := api.NewPostgres(api.PostgresOptions{Shards: []string{f.pgs[0].DSN(), f.pgs[1].DSN()}, Timeout: 20 * time.Second, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	f.store = st
	return f
}

// TestPostgresAPI reads a known data set back through the API over the
// postgres output's real tables: exact answers at 1m, 10m and 1h, the
// p95 of 10 minutes from merged sketches within the sketch's bound of the
// raw values' — where the mean of the 1-minute p95s is far off — and
// every bad query refused with its reason.
func TestPostgresAPI(t *testing.T) {
	f := newPGFixture(t)
	t.Logf("%d snapshots written, %d rows in the two shards (stale copies included)", f.snapshot, f.rows)
	if f.rows != 2*int64(f.snapshot) {
		t.Fatalf("%d rows, want %d: each snapshot and its stale copy on the other shard", f.rows, 2*f.snapshot)
	}
	const token = "s3cret-token"
	base := serve(t, api.Options{Store: f.store, Token: token, MaxRows: 10_000})
	checkAnswers(t, f.ds, base, token)
	t.Run("catalog", func(t *testing.T) { checkCatalog(t, f.ds, base, token) })
	t.Run("bad queries", func(t *testing.T) { checkBadQueries(t, f.ds, base, token) })
	t.Run("timeout", func(t *testing.T) {
		// A table locked by another session: the statement waits, until
		// the server's statement_timeout (or the request's) ends it: 504.
		st, err := api.NewPostgres(api.PostgresOptions{Shards: []string{f.pgs[0].DSN(), f.pgs[1].DSN()}, Timeout: 300 * time.Millisecond, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		slow := serve(t, api.Options{Store: st, Timeout: 2 * time.Second})
		ctx := context.Background()
		c := f.pgs[0].Conn(t)
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, "LOCK TABLE metrics_"+f.ds.base.Format("20060102")+".snapshots IN ACCESS EXCLUSIVE MODE"); err != nil {
			t.Fatal(err)
		}
		var e errAnswer
		code := get(t, slow, seriesPath("router.service", f.ds.base, f.ds.base.Add(time.Hour)), "", &e)
		if code != 504 || !strings.Contains(e.Error, "longer than the timeout") {
			t.Errorf("locked table: %d %+v, want 504", code, e)
		}
	})
	t.Run("row limit", func(t *testing.T) {
		// 240 router.service windows in the hour (4 keys x 60) and as
		// many stale copies: a limit of 100 is refused, by the store and
		// by the API.
		q := api.Query{Name: "router.service", From: f.ds.base, To: f.ds.base.Add(time.Hour), MaxLen: time.Minute, Limit: 100}
		if _, err := f.store.Windows(context.Background(), q); !errors.Is(err, api.ErrTooManyWindows) {
			t.Fatalf("Windows with Limit 100: %v, want ErrTooManyWindows", err)
		}
		q.Limit = 10_000
		ws, err := f.store.Windows(context.Background(), q)
		if err != nil || len(ws) != 480 {
			t.Fatalf("Windows with Limit 10000: %d windows, %v; want 480", len(ws), err)
		}
		small := serve(t, api.Options{Store: f.store, MaxRows: 100})
		var e errAnswer
		code := get(t, small, seriesPath("router.service", f.ds.base, f.ds.base.Add(time.Hour)), "", &e)
		if code != 400 || e.Param != "from" || !strings.Contains(e.Error, "max_rows (100)") {
			t.Errorf("over max_rows: %d %+v, want 400 naming max_rows", code, e)
		}
		// Every statement carries the LIMIT, one past the query's Limit.
		sql, args := api.WindowsSQL([]string{"metrics_20240101", "metrics_20240102"}, q)
		if !strings.HasSuffix(sql, "LIMIT $5") || args[4] != int64(10_001) || strings.Count(sql, `."snapshots"`) != 2 {
			t.Errorf("statement %s\nargs %v: want one LIMIT $5 = 10001 over both days", sql, args)
		}
	})
}

// checkAnswers compares the API's series with the raw observations.
func checkAnswers(t *testing.T, ds *dataSet, base, token string) {
	from, to := ds.base, ds.base.Add(time.Hour)
	for _, tc := range []struct {
		name, step string
		where      []string
		keep       func(o obs) bool
	}{
		{name: "router.service", step: "1m"},
		{name: "router.service", step: "10m"},
		{name: "router.service", step: "1h"},
		{name: "router.service", step: "10m", where: []string{"status:5xx"}, keep: func(o obs) bool { return dimValue(o.dims, "status") == "5xx" }},
		{name: "router.service", step: "1h", where: []string{"app:shop", "dyno:web.2"}, keep: func(o obs) bool { return dimValue(o.dims, "dyno") == "web.2" }},
		{name: "router.requests", step: "10m"},
		{name: "router.requests", step: "1h", where: []string{"status:2xx"}, keep: func(o obs) bool { return dimValue(o.dims, "status") == "2xx" }},
		{name: "router.users", step: "10m"},
		{name: "router.users", step: "1h"},
	} {
		t.Run(tc.name+"/"+tc.step+"/"+strings.Join(tc.where, ","), func(t *testing.T) {
			kv := []string{"step", tc.step}
			for _, w := range tc.where {
				kv = append(kv, "where", w)
			}
			var a answer
			if code := get(t, base, seriesPath(tc.name, from, to, kv...), token, &a); code != 200 {
				t.Fatalf("status %d", code)
			}
			step := api.Steps[tc.step]
			if len(a.Series) != 1 || a.StepS != step.Seconds() || len(a.WindowS) != 1 || a.WindowS[0] != 60 {
				t.Fatalf("answer %+v: want one series of %v steps from 60 s windows", a, step)
			}
			want := ds.expected(tc.name, step, tc.keep)
			checkPoints(t, a.Series[0].Kind, a.Series[0].Points, want, step)
		})
	}
	t.Run("group_by status", func(t *testing.T) {
		var a answer
		get(t, base, seriesPath("router.service", from, to, "step", "10m", "group_by", "status"), token, &a)
		if len(a.Series) != 2 || a.Series[0].Group["status"] != "2xx" || a.Series[1].Group["status"] != "5xx" {
			t.Fatalf("series %+v: want 2xx and 5xx", a.Series)
		}
		for _, s := range a.Series {
			st := s.Group["status"]
			checkPoints(t, s.Kind, s.Points, ds.expected("router.service", 10*time.Minute, func(o obs) bool { return dimValue(o.dims, "status") == st }), 10*time.Minute)
		}
	})
	t.Run("p95 not averaged", func(t *testing.T) {
		var fine, coarse answer
		get(t, base, seriesPath("router.service", from, to, "step", "1m"), token, &fine)
		get(t, base, seriesPath("router.service", from, to, "step", "10m"), token, &coarse)
		want := ds.expected("router.service", 10*time.Minute, nil)
		spike := ds.base // the first 10 minutes hold a spike minute
		exact := exactQuantile(want[spike].values, 0.95)
		got := *coarse.Series[0].Points[0].P95
		var sum float64
		n := 0
		for _, p := range fine.Series[0].Points {
			if p.T.Before(spike.Add(10 * time.Minute)) {
				sum += *p.P95
				n++
			}
		}
		avg := sum / float64(n)
		t.Logf("first 10 minutes: p95 of the raw values %.0f ms; merged sketches %.1f ms (%.2f%% off); mean of the ten 1-minute p95s %.1f ms (%.0f%% off)",
			exact, got, 100*math.Abs(got-exact)/exact, avg, 100*math.Abs(avg-exact)/exact)
		if math.Abs(got-exact) > metrics.RelativeAccuracy*exact {
			t.Errorf("10m p95 %v, exact %v: outside the sketch's %v bound", got, exact, metrics.RelativeAccuracy)
		}
		if n != 10 || math.Abs(avg-exact) <= 10*metrics.RelativeAccuracy*exact {
			t.Errorf("mean of %d 1-minute p95s %v is within 10x the bound of the exact %v: the data set does not show the error", n, avg, exact)
		}
	})
}

// checkPoints compares points with the expected roll-up: count, sum, min,
// max exact; mean and stddev to rounding; quantiles within the sketch's
// relative accuracy of the exact lower quantile; unique within 2%.
func checkPoints(t *testing.T, kind string, ps []api.Point, want map[time.Time]*expect, step time.Duration) {
	t.Helper()
	if len(ps) != len(want) {
		t.Fatalf("%d points, want %d", len(ps), len(want))
	}
	close := func(got, want, rel float64) bool { return math.Abs(got-want) <= rel*math.Abs(want)+1e-12 }
	for _, p := range ps {
		e := want[p.T]
		if e == nil {
			t.Fatalf("point at %v not expected", p.T)
		}
		n := float64(e.count)
		mean := e.sum / n
		stddev := math.Sqrt(max(e.sumSq/n-mean*mean, 0))
		if p.Count != e.count || *p.Sum != e.sum || *p.Min != e.min || *p.Max != e.max {
			t.Errorf("%v: count %d sum %v min %v max %v, want %d %v %v %v", p.T, p.Count, *p.Sum, *p.Min, *p.Max, e.count, e.sum, e.min, e.max)
		}
		if !close(*p.Mean, mean, 1e-12) || !close(*p.Stddev, stddev, 1e-9) {
			t.Errorf("%v: mean %v stddev %v, want %v %v", p.T, *p.Mean, *p.Stddev, mean, stddev)
		}
		switch kind {
		case "measure":
			for _, q := range []struct {
				got *float64
				q   float64
			}{{p.P50, 0.5}, {p.P90, 0.9}, {p.P95, 0.95}, {p.P99, 0.99}} {
				if x := exactQuantile(e.values, q.q); q.got == nil || !close(*q.got, x, metrics.RelativeAccuracy) {
					t.Errorf("%v: p%v %v, want %v within %v", p.T, q.q*100, q.got, x, metrics.RelativeAccuracy)
				}
			}
			if !close(*p.Rate, n/step.Seconds(), 1e-12) {
				t.Errorf("%v: rate %v, want %v", p.T, *p.Rate, n/step.Seconds())
			}
		case "counter":
			if !close(*p.Rate, e.sum/step.Seconds(), 1e-12) {
				t.Errorf("%v: rate %v, want %v", p.T, *p.Rate, e.sum/step.Seconds())
			}
		case "unique":
			u := float64(len(e.uniques))
			if p.Unique == nil || !close(float64(*p.Unique), u, 0.02) {
				t.Errorf("%v: unique %v, want %v within 2%%", p.T, p.Unique, u)
			}
			if step > time.Minute && float64(e.minuteUniquesTotal) < 1.5*u {
				t.Errorf("%v: the minutes' uniques add up to %d, near the %v distinct: the data set does not show adding them is wrong", p.T, e.minuteUniquesTotal, u)
			}
		}
	}
}

func dimValue(dims []metrics.Dim, name string) string {
	for _, d := range dims {
		if d.Name == name {
			return d.Value
		}
	}
	return ""
}

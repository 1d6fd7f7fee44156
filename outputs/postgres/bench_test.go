package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"pulse/testenv"
)

// The figure of issue 14: rows per second into one local PostgreSQL, by
// the output's path (COPY of 1024 rows into the staging table, then one
// upsert, in one transaction) and by single-row INSERT .. ON CONFLICT
// statements, each its own transaction. Same rows, same table layout; run
// both in one go test invocation:
//
//	go test -run XXX -bench 'COPY|Insert' ./outputs/postgres/

// benchRows returns n measure rows of distinct keys, a realistic sketch of
// 200 values each, in today's window.
func benchRows(b *testing.B, l layout, n int) []row {
	values := make([]float64, 200)
	for i := range values {
		values[i] = 1 + rand.ExpFloat64()*40
	}
	s := snap("router.service", now, 1, values, "app", "app1", "dyno", "web.1", "status", "2xx")
	tmpl, err := l.toRow(&s, nil)
	if err != nil {
		b.Fatal(err)
	}
	rows := make([]row, n)
	for i := range rows {
		r := tmpl
		r.vals = append([]any(nil), tmpl.vals...)
		rows[i] = r
	}
	return rows
}

// rekey gives rows fresh keys: every write is a new row, not an update.
func rekey(rows []row, gen int) {
	for i := range rows {
		rows[i].key = "router.service|measure|ms|app=app1,dyno=web." + strconv.Itoa(gen) + "." + strconv.Itoa(i)
		rows[i].vals[0] = rows[i].key
	}
}

func BenchmarkCOPY(b *testing.B) {
	pg := testenv.StartPostgres(b)
	o := newOutput(b, Options{ShardBy: []string{"app"}, BatchRows: DefaultBatchRows}, pg)
	s := o.shards[0]
	rows := benchRows(b, o.layout, o.opts.BatchRows)
	ctx := context.Background()
	rekey(rows, -1)
	if err := s.tx(ctx, rows); err != nil { // connection, staging table and day table made
		b.Fatal(err)
	}
	gen := 0
	for b.Loop() {
		b.StopTimer()
		rekey(rows, gen)
		gen++
		b.StartTimer()
		if err := s.tx(ctx, rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(gen*len(rows))/b.Elapsed().Seconds(), "rows/s")
	checkRows(b, pg, o, (gen+1)*len(rows))
}

func BenchmarkInsert(b *testing.B) {
	pg := testenv.StartPostgres(b)
	o := newOutput(b, Options{ShardBy: []string{"app"}}, pg)
	s := o.shards[0]
	rows := benchRows(b, o.layout, 1)
	ctx := context.Background()
	rekey(rows, -1)
	if err := s.tx(ctx, rows); err != nil {
		b.Fatal(err)
	}
	q := o.layout.insertSQL(o.schema.name(now))
	n := 0
	for b.Loop() {
		b.StopTimer()
		rekey(rows, n)
		n++
		b.StartTimer()
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := s.conn.Exec(tctx, q, rows[0].vals...)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
	checkRows(b, pg, o, n+1)
}

// checkRows: every row written is there, once.
func checkRows(b *testing.B, pg *testenv.Postgres, o *Output, want int) {
	b.StopTimer()
	if got := pg.Int(b, fmt.Sprintf("SELECT count(*) FROM %s.%s", o.schema.name(now), Table)); got != int64(want) {
		b.Fatalf("%d rows, want %d", got, want)
	}
}

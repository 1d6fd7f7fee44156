package postgres

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"pulse/metrics"
	"pulse/testenv"
)

// TestRejectedRowsSetAside: snapshots PostgreSQL refuses (a NUL byte in a
// name or a dimension: text columns, SQLSTATE 22021) go to the dead
// letters one by one with PostgreSQL's error, counted, while the other rows
// of their batches are written; a record that is no snapshot goes there
// too, and every batch is acknowledged.
func TestRejectedRowsSetAside(t *testing.T) {
	pg := testenv.StartPostgres(t)
	dead := t.TempDir()
	o := newOutput(t, Options{ShardBy: []string{"app"}, DeadLetterDir: dead}, pg)
	src := newMemSource()
	run(t, o, src)
	var snaps []metrics.Snapshot
	for i := range 40 {
		snaps = append(snaps, snap("lat", now, 1, []float64{1}, "app", fmt.Sprint("ok", i)))
	}
	badName := snap("la\x00t", now, 1, []float64{1}, "app", "x")
	badDim := snap("lat", now, 1, []float64{1}, "app", "y", "other", "a\x00b")
	snaps[7], snaps[31] = badName, badDim
	src.put(snaps...)
	src.putPayload([]byte("{\"name\": \"not a snapshot\"\nnot json at all\n"), 2)
	testenv.WaitFor(t, 20*time.Second, "both batches acked", func() bool { return src.ackedCount() == 2 })
	tbl := o.schema.name(now) + "." + Table
	if n := pg.Int(t, "SELECT count(*) FROM "+tbl); n != 38 {
		t.Errorf("%d rows, want the 38 good ones", n)
	}
	if st := o.Stats(); st.DeadRows != 4 {
		t.Errorf("%d dead rows, want 4 (2 rejected by postgres, 2 undecodable)", st.DeadRows)
	}
	reasons, _ := filepath.Glob(filepath.Join(dead, "*.reason"))
	var all strings.Builder
	for _, r := range reasons {
		b, _ := os.ReadFile(r)
		all.Write(b)
	}
	for _, want := range []string{"SQLSTATE 22021", "endpoint: decode"} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("no dead letter says %q:\n%s", want, all.String())
		}
	}
	if len(reasons) != 3 {
		t.Errorf("%d dead letters, want 3 (one per rejected row, one for the batch's undecodable records)", len(reasons))
	}
}

// TestConcurrentWritersDDL: several outputs (as several mergers would)
// write the same new days to one shard at once; the DDL lock lets every
// CREATE through without a failure, and every row arrives.
func TestConcurrentWritersDDL(t *testing.T) {
	pg := testenv.StartPostgres(t)
	const writers, days = 4, 3
	var wg sync.WaitGroup
	outs := make([]*Output, writers)
	srcs := make([]*memSource, writers)
	for w := range writers {
		outs[w] = newOutput(t, Options{}, pg)
		srcs[w] = newMemSource()
		for d := range days {
			srcs[w].put(snap(fmt.Sprint("m", w), now.Add(-time.Duration(d)*24*time.Hour), 1, []float64{1}))
		}
	}
	for w := range writers {
		wg.Go(func() { run(t, outs[w], srcs[w]) })
	}
	wg.Wait()
	for w := range writers {
		testenv.WaitFor(t, 30*time.Second, "every batch acked", func() bool { return srcs[w].ackedCount() == days })
		if st := outs[w].Stats(); st.Failures != 0 {
			t.Errorf("writer %d: %d failures (%+v)", w, st.Failures, st.Shards)
		}
	}
	for d := range days {
		tbl := outs[0].schema.name(now.Add(-time.Duration(d)*24*time.Hour)) + "." + Table
		if n := pg.Int(t, "SELECT count(*) FROM "+tbl); n != writers {
			t.Errorf("%s: %d rows, want %d", tbl, n, writers)
		}
	}
}

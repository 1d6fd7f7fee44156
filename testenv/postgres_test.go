package testenv

import (
	"os"
	"strings"
	"testing"
)

// TestPostgresLifecycle: a server of the test's own takes rows; a clean
// stop and a kill -9 of the postmaster each leave it down (no connection),
// and a start on the same data dir and port brings back every committed
// row, the killed one recovering from its WAL.
func TestPostgresLifecycle(t *testing.T) {
	pg := StartPostgres(t)
	if !strings.HasPrefix(pg.Dir, os.TempDir()) {
		t.Errorf("dir %s not under %s", pg.Dir, os.TempDir())
	}
	port := pg.Port
	pg.Exec(t, "CREATE TABLE t (n int PRIMARY KEY)")
	pg.Exec(t, "INSERT INTO t VALUES (1)")

	pg.Stop()
	if pg.Running() || Dial(pg.Addr()) {
		t.Fatal("stopped, yet running or listening")
	}
	pg.Start()
	if pg.Port != port {
		t.Fatalf("restarted on %d, was %d", pg.Port, port)
	}
	pg.Exec(t, "INSERT INTO t VALUES (2)")

	pg.Kill()
	if pg.Running() || Dial(pg.Addr()) {
		t.Fatal("killed, yet running or listening")
	}
	if err := pg.ping(); err == nil {
		t.Fatal("killed, yet answering")
	}
	pg.Start()
	if n := pg.Int(t, "SELECT count(*) FROM t"); n != 2 {
		t.Errorf("%d rows after stop, start, kill -9 and start, want 2", n)
	}
	rows := pg.Query(t, "SELECT n FROM t ORDER BY n")
	if len(rows) != 2 || rows[0][0] != int32(1) || rows[1][0] != int32(2) {
		t.Errorf("rows %v, want [[1] [2]]", rows)
	}
	if !strings.Contains(pg.Log(), "was interrupted") && !strings.Contains(pg.Log(), "not properly shut down") {
		t.Logf("log after the kill (no recovery line found):\n%s", pg.Tail(20))
	}
}

// TestPostgresApart: two servers at once, on ports and dirs of their own.
func TestPostgresApart(t *testing.T) {
	a, b := StartPostgres(t), StartPostgres(t)
	if a.Port == b.Port || a.Dir == b.Dir {
		t.Fatalf("shared: ports %d %d, dirs %s %s", a.Port, b.Port, a.Dir, b.Dir)
	}
	a.Exec(t, "CREATE TABLE only_a (n int)")
	if n := b.Int(t, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_a'"); n != 0 {
		t.Errorf("b sees a's table")
	}
}

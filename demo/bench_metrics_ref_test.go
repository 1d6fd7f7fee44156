package demo

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestMetricsReference: the reference counts what the rules and l2met
// derive from each line, and check finds a shard's latest snapshot per key
// and window (by seq), exact or not.
func TestMetricsReference(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	lines := `2026-11-21T10:00:01.000000+00:00 app[web.3]: source=web.3 count#email.sent=1 measure#db.query=11.7ms sample#db.pool.in_use=18 id=0
2026-11-21T10:00:02.000000+00:00 app[web.1]: source=web.1 measure#http.external=33.4ms unique#user=u9470 id=1
2026-11-21T10:00:03.000000+00:00 heroku[router]: at=info method=GET path="/a b" fwd="192.0.2.1" dyno=web.4 connect=1ms service=57ms status=200 id=2
2026-11-21T10:00:12.000000+00:00 heroku[router]: at=error code=H12 desc="Request timeout" fwd="192.0.2.2" dyno=web.4 connect=2ms service=30000ms status=503 id=3
2026-11-21T10:00:13.000000+00:00 app[web.3]: source=web.3 count#email.sent=1 measure#db.query=bad id=4
`
	if err := os.WriteFile(log, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	ref, err := buildReference(log, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	w0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC).UnixNano()
	w1 := w0 + int64(10*time.Second)
	want := map[string]uint64{
		refKey("email.sent", []string{"source=web.3"}, w0):     1,
		refKey("db.query", []string{"source=web.3"}, w0):       1,
		refKey("db.pool.in_use", []string{"source=web.3"}, w0): 1,
		refKey("http.external", []string{"source=web.1"}, w0):  1,
		refKey("user", []string{"source=web.1"}, w0):           1,
		refKey("router.service", []string{"status=200"}, w0):   1,
		refKey("router.connect", []string{"dyno=web.4"}, w0):   1,
		refKey("router.clients", nil, w0):                      1,
		refKey("router.connect", []string{"dyno=web.4"}, w1):   1,
		refKey("router.errors", []string{"code=H12"}, w1):      1,
		refKey("router.clients", nil, w1):                      1,
		refKey("email.sent", []string{"source=web.3"}, w1):     1, // db.query=bad yields nothing
	}
	if len(ref.counts) != len(want) || ref.total != 12 || ref.lines != 5 {
		t.Fatalf("reference: %d keys, total %d, %d lines: %v", len(ref.counts), ref.total, ref.lines, ref.counts)
	}
	for k, n := range want {
		if ref.counts[k] != n {
			t.Errorf("%s: %d, want %d", k, ref.counts[k], n)
		}
	}

	// One shard holds everything, the second snapshot of router.clients in
	// w1 (seq 2) replacing the first; then a wrong count is found.
	shard := filepath.Join(dir, "shard")
	if err := os.MkdirAll(shard, 0o755); err != nil {
		t.Fatal(err)
	}
	var snaps []byte
	add := func(name string, dims string, win int64, count, seq int) {
		snaps = append(snaps, `{"name":"`+name+`","dims":{`+dims+`},"window_start":"`+time.Unix(0, win).UTC().Format(time.RFC3339Nano)+`","count":`+strconv.Itoa(count)+`,"seq":`+strconv.Itoa(seq)+"}\n"...)
	}
	add("email.sent", `"source":"web.3"`, w0, 1, 1)
	add("db.query", `"source":"web.3"`, w0, 1, 1)
	add("db.pool.in_use", `"source":"web.3"`, w0, 1, 1)
	add("http.external", `"source":"web.1"`, w0, 1, 1)
	add("user", `"source":"web.1"`, w0, 1, 1)
	add("router.service", `"status":"200"`, w0, 1, 1)
	add("router.connect", `"dyno":"web.4"`, w0, 1, 1)
	add("router.clients", ``, w0, 1, 1)
	add("router.connect", `"dyno":"web.4"`, w1, 1, 1)
	add("router.errors", `"code":"H12"`, w1, 1, 1)
	add("router.clients", ``, w1, 5, 1)
	add("router.clients", ``, w1, 1, 2)
	add("email.sent", `"source":"web.3"`, w1, 1, 2)
	if err := os.WriteFile(filepath.Join(shard, "events-000001.log"), snaps, 0o644); err != nil {
		t.Fatal(err)
	}
	acc, err := ref.check([]string{shard})
	if err != nil {
		t.Fatal(err)
	}
	if !acc.OK() || acc.Exact != 12 || acc.SnapshotLines != 13 {
		t.Fatalf("accuracy %s (lines %d), want all 12 exact", acc, acc.SnapshotLines)
	}
	add("router.errors", `"code":"H12"`, w1, 2, 3)
	add("signup", `"source":"web.9"`, w1, 1, 3)
	if err := os.WriteFile(filepath.Join(shard, "events-000001.log"), snaps, 0o644); err != nil {
		t.Fatal(err)
	}
	if acc, err = ref.check([]string{shard}); err != nil || acc.OK() || acc.Wrong != 1 || acc.Extra != 1 {
		t.Fatalf("accuracy %s (%v), want 1 wrong and 1 extra", acc, err)
	}
}

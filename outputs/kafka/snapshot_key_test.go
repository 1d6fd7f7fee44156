package kafka

import (
	"testing"
	"time"

	"pulse/metrics"
)

// TestSnapshotKey: a snapshot's default record key is its metric key and
// window — the same for every version of one key and window, distinct
// across keys, windows and window lengths — and nothing for a record that
// is not a snapshot.
func TestSnapshotKey(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 10, 0, time.UTC)
	snap := func(name string, dims []metrics.Dim, start time.Time, win time.Duration, count uint64, final bool) []byte {
		s := metrics.Snapshot{Name: name, Kind: metrics.Counter, Dims: dims, WindowStart: start, Window: win, Count: count, Sum: float64(count), Final: final}
		return s.AppendJSON(nil)
	}
	web := []metrics.Dim{{Name: "dyno", Value: "web"}}
	base := string(snapshotKey(snap("router.requests", web, start, 10*time.Second, 3, false)))
	if want := "router.requests|counter||dyno=web@2026-01-02T03:04:10Z/10"; base != want {
		t.Fatalf("key %q, want %q", base, want)
	}
	for _, tc := range []struct {
		name string
		rec  []byte
		same bool
	}{
		{"a later version of the window", snap("router.requests", web, start, 10*time.Second, 9, true), true},
		{"another dimension value", snap("router.requests", []metrics.Dim{{Name: "dyno", Value: "worker"}}, start, 10*time.Second, 3, false), false},
		{"another name", snap("router.errors", web, start, 10*time.Second, 3, false), false},
		{"the next window", snap("router.requests", web, start.Add(10*time.Second), 10*time.Second, 3, false), false},
		{"another window length", snap("router.requests", web, start, time.Minute, 3, false), false},
		{"the same window in another zone", snap("router.requests", web, start.In(time.FixedZone("x", 3600)), 10*time.Second, 3, false), true},
	} {
		got := string(snapshotKey(tc.rec))
		if (got == base) != tc.same || got == "" {
			t.Errorf("%s: key %q (base %q), same %v", tc.name, got, base, tc.same)
		}
	}
	for _, rec := range []string{"", "not json", `{"count":3}`, `{"name":"x","kind":"nope"}`} {
		if k := snapshotKey([]byte(rec)); k != nil {
			t.Errorf("snapshotKey(%q) = %q, want none", rec, k)
		}
	}
}

package postgres

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"pulse/metrics"
)

// TestToRow: each kind's values land in their columns, the others NULL;
// configured dimensions in their own columns, the rest in dims.
func TestToRow(t *testing.T) {
	l := newLayout([]string{"app", "dyno"})
	col := func(r row, name string) any {
		i := slices.Index(l.names(), name)
		if i < 0 {
			t.Fatalf("no column %s", name)
		}
		return r.vals[i]
	}
	start := time.Date(2026, 5, 1, 23, 59, 50, 0, time.UTC)
	base := metrics.Snapshot{Name: "x", Unit: "ms", WindowStart: start, Window: 10 * time.Second, Count: 3, Sum: 6, SumSq: 14,
		Min: 1, Max: 3, Mean: 2, Stddev: 0.8, Agents: 2, Seq: 99, Final: true,
		Dims: []metrics.Dim{{Name: "app", Value: "a"}, {Name: "status", Value: "2xx"}}}
	tests := []struct {
		kind     metrics.Kind
		set      func(*metrics.Snapshot)
		nonNull  []string
		nullCols []string
	}{
		{metrics.Measure, func(s *metrics.Snapshot) { s.P50, s.P99, s.Sketch = 2, 3, []byte{1, 2} },
			[]string{"p50", "p90", "p95", "p99", "sketch"}, []string{"uniq", "hll", "last", "last_time"}},
		{metrics.Counter, nil, nil, []string{"p50", "sketch", "uniq", "hll", "last", "last_time"}},
		{metrics.Unique, func(s *metrics.Snapshot) { s.Unique, s.HLL = 2, []byte{9} },
			[]string{"uniq", "hll"}, []string{"p50", "sketch", "last", "last_time"}},
		{metrics.Sample, func(s *metrics.Snapshot) { s.Last, s.LastTime = 3, start.Add(time.Second) },
			[]string{"last", "last_time"}, []string{"p50", "sketch", "uniq", "hll"}},
	}
	for _, tc := range tests {
		t.Run(tc.kind.String(), func(t *testing.T) {
			s := base
			s.Kind = tc.kind
			if tc.set != nil {
				tc.set(&s)
			}
			r, err := l.toRow(&s, []byte("rec"))
			if err != nil {
				t.Fatal(err)
			}
			if len(r.vals) != len(l.cols) {
				t.Fatalf("%d values for %d columns", len(r.vals), len(l.cols))
			}
			for _, c := range tc.nonNull {
				if col(r, c) == nil {
					t.Errorf("%s is NULL", c)
				}
			}
			for _, c := range tc.nullCols {
				if col(r, c) != nil {
					t.Errorf("%s = %v, want NULL", c, col(r, c))
				}
			}
			if col(r, "dim_app") != "a" || col(r, "dim_dyno") != nil || string(col(r, "dims").([]byte)) != `{"status":"2xx"}` {
				t.Errorf("dims: app %v dyno %v rest %s", col(r, "dim_app"), col(r, "dim_dyno"), col(r, "dims"))
			}
			if col(r, "count") != int64(3) || col(r, "sumsq") != 14.0 || col(r, "seq") != int64(99) || col(r, "agents") != int32(2) ||
				col(r, "window_len") != 10*time.Second || col(r, "final") != true || col(r, "kind") != tc.kind.String() {
				t.Errorf("values %v", r.vals)
			}
			if want := "x|" + tc.kind.String() + "|ms|app=a,status=2xx"; r.key != want || col(r, "key") != want {
				t.Errorf("key %q, want %q", r.key, want)
			}
			if !r.day.Equal(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("day %v", r.day)
			}
		})
	}
	// NaN stays NaN: double precision has it.
	s := base
	s.Kind, s.Min = metrics.Counter, math.NaN()
	if r, err := l.toRow(&s, nil); err != nil || !math.IsNaN(col(r, "min").(float64)) {
		t.Errorf("NaN min: %v %v", err, r.vals)
	}
}

// TestToRowInvalid: what cannot be a row is refused before PostgreSQL.
func TestToRowInvalid(t *testing.T) {
	l := newLayout(nil)
	ok := metrics.Snapshot{Name: "x", Kind: metrics.Counter, WindowStart: time.Unix(0, 0), Window: time.Second}
	for name, mod := range map[string]func(*metrics.Snapshot){
		"no name":        func(s *metrics.Snapshot) { s.Name = "" },
		"no window":      func(s *metrics.Snapshot) { s.Window = 0 },
		"count > bigint": func(s *metrics.Snapshot) { s.Count = math.MaxUint64 },
		"bad utf-8 dim":  func(s *metrics.Snapshot) { s.Dims = []metrics.Dim{{Name: "a", Value: "\xff"}} },
	} {
		s := ok
		mod(&s)
		if _, err := l.toRow(&s, nil); !errors.Is(err, errInvalid) {
			t.Errorf("%s: %v, want errInvalid", name, err)
		}
	}
	if _, err := l.toRow(&ok, nil); err != nil {
		t.Errorf("valid snapshot: %v", err)
	}
}

// TestSchemaTemplate: names, their days back, what retention drops, and
// templates refused.
func TestSchemaTemplate(t *testing.T) {
	st, err := parseSchema("metrics_{yyyymmdd}")
	if err != nil {
		t.Fatal(err)
	}
	d := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	if got := st.name(d); got != "metrics_20260102" {
		t.Errorf("name %q", got)
	}
	if day, ok := st.day("metrics_20260102"); !ok || !day.Equal(dayOf(d)) {
		t.Errorf("day back: %v %v", day, ok)
	}
	for _, name := range []string{"metrics_2026010", "metrics_20261340", "metrics_x0260102", "other_20260102", "metrics_20260102x"} {
		if _, ok := st.day(name); ok {
			t.Errorf("%q parsed as a day schema", name)
		}
	}
	if p := st.likePattern(); p != `metrics\_________` {
		t.Errorf("like %q", p)
	}
	s2, err := parseSchema("m{yyyymmdd}_v2")
	if err != nil || s2.name(d) != "m20260102_v2" {
		t.Errorf("suffix template: %v %q", err, s2.name(d))
	}
	for _, bad := range []string{"metrics", "m_{yyyymmdd}_{yyyymmdd}", "Metrics_{yyyymmdd}", "1m_{yyyymmdd}", "m-{yyyymmdd}",
		"pg_{yyyymmdd}", strings.Repeat("m", 60) + "{yyyymmdd}"} {
		if _, err := parseSchema(bad); err == nil {
			t.Errorf("template %q accepted", bad)
		}
	}
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	week := 7 * 24 * time.Hour
	for _, tc := range []struct {
		ago  int
		gone bool
	}{{0, false}, {6, false}, {7, false}, {8, true}, {30, true}} {
		if got := expired(dayOf(now.AddDate(0, 0, -tc.ago)), now, week); got != tc.gone {
			t.Errorf("%d days ago: expired %v, want %v", tc.ago, got, tc.gone)
		}
	}
}

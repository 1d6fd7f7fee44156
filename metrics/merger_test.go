package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// fragmentsFor builds fragments of key k in window t0 from several agents.
func fragmentOf(k Key, agent string, id uint64, at time.Time, values ...float64) *Fragment {
	f := newFragment(k, WindowAt(at, 10*time.Second))
	for i, v := range values {
		f.observe(v, at.Add(time.Duration(i)), []byte{byte(v)})
	}
	f.Agent, f.ID = agent, id
	return f
}

func TestMergerIdempotent(t *testing.T) {
	m := NewMerger(MergeOptions{Logger: quietLogger()})
	k := key("lat", Measure)
	a := fragmentOf(k, "a", 1, t0, 1, 2, 3)
	b := fragmentOf(k, "b", 1, t0, 10) // same id, other agent: distinct
	if !m.Add(a) || !m.Add(b) {
		t.Fatal("first adds refused")
	}
	before := m.Snapshots(t0, true)
	if m.Add(a) || m.Add(b) || m.Add(a.clone()) {
		t.Fatal("duplicate merged")
	}
	after := m.Snapshots(t0, true)
	if len(before) != 1 || !sameSnapshot(before[0], after[0]) {
		t.Fatalf("duplicates changed the snapshot: %+v -> %+v", before, after)
	}
	s := after[0]
	if s.Count != 4 || s.Sum != 16 || s.Agents != 2 || s.Min != 1 || s.Max != 10 {
		t.Fatalf("snapshot %+v", s)
	}
	// The same agent and id for another key is another fragment.
	if !m.Add(fragmentOf(key("other", Counter), "a", 1, t0, 1)) {
		t.Fatal("same id, other key refused")
	}
	st := m.Stats()
	if st.Merged != 3 || st.Duplicates != 3 || st.Keys != 2 || st.Seen != 3 || st.Windows != 1 || st.Agents != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMergerSaveLoadKeepsSeen(t *testing.T) {
	m := NewMerger(MergeOptions{Logger: quietLogger()})
	frags := []*Fragment{
		fragmentOf(key("lat", Measure, "dyno", "web"), "a", 1, t0, 1, 2, 3),
		fragmentOf(key("lat", Measure, "dyno", "web"), "b", 9, t0, 4),
		fragmentOf(key("hits", Counter), "a", 2, t0, 5),
		fragmentOf(key("mem", Sample), "a", 3, t0.Add(10*time.Second), 7, 8),
		fragmentOf(key("users", Unique), "c", 4, t0, 1, 2, 3, 2),
	}
	for _, f := range frags {
		m.Add(f)
	}
	m.Snapshots(t0, false) // clears the changed marks
	m.Add(fragmentOf(key("hits", Counter), "b", 5, t0, 6))

	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	l, err := LoadMerger(bytes.NewReader(buf.Bytes()), MergeOptions{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frags {
		if l.Add(f) {
			t.Fatalf("replayed fragment %s/%d merged again after load", f.Agent, f.ID)
		}
	}
	if ms, ls := m.Stats(), l.Stats(); ms.Keys != ls.Keys || ms.Seen != ls.Seen || ms.Windows != ls.Windows || ls.Duplicates != ms.Duplicates+uint64(len(frags)) {
		t.Fatalf("stats before %+v after %+v", ms, ls)
	}
	// Only the hits entry changed after the last Snapshots: so it is in both.
	mc, lc := m.Snapshots(t0, false), l.Snapshots(t0, false)
	if len(mc) != 1 || len(lc) != 1 || !sameSnapshot(mc[0], lc[0]) {
		t.Fatalf("changed snapshots before %+v after %+v", mc, lc)
	}
	ma, la := m.Snapshots(t0, true), l.Snapshots(t0, true)
	if len(ma) != len(la) || len(ma) != 4 {
		t.Fatalf("%d snapshots before, %d after", len(ma), len(la))
	}
	for i := range ma {
		if !sameSnapshot(ma[i], la[i]) {
			t.Fatalf("snapshot %d: %+v != %+v", i, ma[i], la[i])
		}
	}
}

func TestLoadMergerRejectsCorruption(t *testing.T) {
	m := NewMerger(MergeOptions{Logger: quietLogger()})
	m.Add(fragmentOf(key("lat", Measure), "a", 1, t0, 1, 2, 3))
	m.Add(fragmentOf(key("users", Unique), "a", 2, t0, 1, 2))
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	for i := range good {
		b := slices.Clone(good)
		b[i] ^= 0x20
		if _, err := LoadMerger(bytes.NewReader(b), MergeOptions{}); !errors.Is(err, ErrBadState) {
			t.Fatalf("byte %d flipped: err = %v", i, err)
		}
		if _, err := LoadMerger(bytes.NewReader(good[:i]), MergeOptions{}); !errors.Is(err, ErrBadState) {
			t.Fatalf("truncated to %d: err = %v", i, err)
		}
	}
}

func TestMergerFinalize(t *testing.T) {
	m := NewMerger(MergeOptions{FinalizeAfter: time.Minute, Logger: quietLogger()})
	k := key("hits", Counter)
	m.Add(fragmentOf(k, "a", 1, t0, 1))
	m.Add(fragmentOf(k, "a", 2, t0.Add(30*time.Second), 1))

	s := m.Snapshots(t0.Add(20*time.Second), false)
	if len(s) != 2 || s[0].Final || s[1].Final {
		t.Fatalf("first snapshots %+v", s)
	}
	if s := m.Snapshots(t0.Add(30*time.Second), false); len(s) != 0 {
		t.Fatalf("unchanged entries returned: %+v", s)
	}
	// Window t0 ends at t0+10s: final from t0+70s, returned even unchanged.
	s = m.Snapshots(t0.Add(70*time.Second), false)
	if len(s) != 1 || !s[0].Final || !s[0].WindowStart.Equal(t0) || s[0].Count != 1 {
		t.Fatalf("final snapshots %+v", s)
	}
	if m.Add(fragmentOf(k, "b", 1, t0, 5)) {
		t.Fatal("fragment for a finalized window merged")
	}
	if st := m.Stats(); st.TooLate != 1 || st.Windows != 1 {
		t.Fatalf("stats %+v", st)
	}
	// A window that never had a fragment is too late as well, once behind.
	if m.Add(fragmentOf(k, "b", 2, t0.Add(-time.Hour), 5)) {
		t.Fatal("fragment for an old window merged")
	}
	// The open window is still open.
	if !m.Add(fragmentOf(k, "b", 3, t0.Add(30*time.Second), 5)) {
		t.Fatal("open window refused")
	}
}

func TestMergerRejects(t *testing.T) {
	m := NewMerger(MergeOptions{Logger: quietLogger()})
	good := fragmentOf(key("lat", Measure), "a", 1, t0, 1, 2)
	bad := []*Fragment{
		nil,
		{Key: key("x", Counter), Window: WindowAt(t0, time.Second)}, // empty
		func() *Fragment { f := good.clone(); f.Sketch = nil; return f }(),
		func() *Fragment { f := good.clone(); f.Count = 5; return f }(),
		func() *Fragment { f := good.clone(); f.Dims = []Dim{{"b", ""}, {"a", ""}}; return f }(),
		func() *Fragment { f := good.clone(); f.Start = f.Start.Add(time.Millisecond); return f }(),
	}
	for i, f := range bad {
		if m.Add(f) {
			t.Errorf("bad fragment %d merged", i)
		}
	}
	if st := m.Stats(); st.Rejected != uint64(len(bad)) || st.Keys != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSnapshotJSON(t *testing.T) {
	m := NewMerger(MergeOptions{Logger: quietLogger()})
	m.Add(fragmentOf(key("lat", Measure, "dyno", "web", "app", `a"b`), "a", 1, t0, 10, 20, 30, 40))
	m.Add(fragmentOf(key("hits", Counter), "a", 2, t0, 3, 4))
	m.Add(fragmentOf(key("mem", Sample), "a", 3, t0, 7, 9, 8))
	m.Add(fragmentOf(key("users", Unique), "a", 4, t0, 1, 2, 3, 1))
	want := map[string][]string{
		"measure": {"name", "kind", "unit", "dims", "window_start", "window_s", "count", "sum", "sumsq", "mean", "min", "max", "stddev", "p50", "p90", "p95", "p99", "sketch", "rate", "agents", "final", "seq"},
		"counter": {"name", "kind", "unit", "dims", "window_start", "window_s", "count", "sum", "sumsq", "mean", "min", "max", "stddev", "rate", "agents", "final", "seq"},
		"sample":  {"name", "kind", "unit", "dims", "window_start", "window_s", "count", "sum", "sumsq", "mean", "min", "max", "stddev", "last", "last_time", "agents", "final", "seq"},
		"unique":  {"name", "kind", "unit", "dims", "window_start", "window_s", "count", "sum", "sumsq", "mean", "min", "max", "stddev", "unique", "hll", "agents", "final", "seq"},
	}
	for _, s := range m.Snapshots(t0, true) {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := json.Unmarshal(b, &obj); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		keys := want[s.Kind.String()]
		if len(obj) != len(keys) {
			t.Errorf("%s: %d fields, want %v", b, len(obj), keys)
		}
		for _, k := range keys {
			if _, ok := obj[k]; !ok {
				t.Errorf("%s: no %q", b, k)
			}
		}
		if obj["window_start"] != "2024-05-01T10:00:00Z" || obj["window_s"] != 10.0 {
			t.Errorf("%s: window", b)
		}
		var back Snapshot
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !sameSnapshot(s, back) {
			t.Errorf("JSON round trip: %+v != %+v", s, back)
		}
		switch s.Kind {
		case Measure:
			if s.Count != 4 || s.Mean != 25 || math.Abs(s.Stddev-math.Sqrt(125)) > 1e-9 || s.Rate != 0.4 || obj["dims"].(map[string]any)["app"] != `a"b` {
				t.Errorf("measure %s", b)
			}
			if math.Abs(s.P50-20)/20 > RelativeAccuracy || math.Abs(s.P99-30)/30 > RelativeAccuracy { // p99 is the value at rank floor(0.99*(n-1))
				t.Errorf("measure quantiles %s", b)
			}
		case Counter:
			if s.Sum != 7 || s.Rate != 0.7 {
				t.Errorf("counter %s", b)
			}
		case Sample:
			if s.Last != 8 {
				t.Errorf("sample %s", b)
			}
		case Unique:
			if s.Unique != 3 {
				t.Errorf("unique %s", b)
			}
		}
	}
	// Non-finite numbers become null, keeping the JSON valid.
	s := Snapshot{Name: "x\x01\xff", Kind: Counter, Sum: math.Inf(1), WindowStart: t0, Window: time.Second}
	var obj map[string]any
	if err := json.Unmarshal(s.AppendJSON(nil), &obj); err != nil || obj["sum"] != nil || obj["name"] != "x\x01\ufffd" {
		t.Fatalf("%s: %v %v", s.AppendJSON(nil), err, obj)
	}
	if !strings.Contains(string(s.AppendJSON(nil)), `"sum":null`) {
		t.Fatalf("%s", s.AppendJSON(nil))
	}
}

// sameSnapshot compares snapshots, treating NaN as equal to NaN.
func sameSnapshot(a, b Snapshot) bool {
	eq := func(x, y float64) bool { return x == y || (math.IsNaN(x) && math.IsNaN(y)) }
	return a.Name == b.Name && a.Kind == b.Kind && a.Unit == b.Unit && slices.Equal(a.Dims, b.Dims) &&
		a.WindowStart.Equal(b.WindowStart) && a.Window == b.Window && a.Count == b.Count &&
		eq(a.Sum, b.Sum) && eq(a.SumSq, b.SumSq) && eq(a.Mean, b.Mean) && eq(a.Min, b.Min) && eq(a.Max, b.Max) && eq(a.Stddev, b.Stddev) &&
		eq(a.P50, b.P50) && eq(a.P90, b.P90) && eq(a.P95, b.P95) && eq(a.P99, b.P99) &&
		a.Unique == b.Unique && eq(a.Rate, b.Rate) && eq(a.Last, b.Last) && a.LastTime.Equal(b.LastTime) &&
		a.Agents == b.Agents && a.Final == b.Final &&
		bytes.Equal(a.Sketch, b.Sketch) && bytes.Equal(a.HLL, b.HLL) && a.Seq == b.Seq
}

package metrics

import (
	"encoding/json"
	"testing"
)

// TestSnapshotSketches: a snapshot carries its sketches (through JSON and
// back), and they decode to what its own figures came from — so a store of
// snapshots can merge two windows' sketches into the quantiles and unique
// count of both, as the merger would have.
func TestSnapshotSketches(t *testing.T) {
	m := NewMerger(MergeOptions{Logger: quietLogger()})
	m.Add(fragmentOf(key("lat", Measure), "a", 1, t0, 10, 20, 30, 40))
	m.Add(fragmentOf(key("users", Unique), "a", 2, t0, 1, 2, 3, 1))
	m.Add(fragmentOf(key("lat", Measure), "b", 1, t0.Add(10e9), 50, 60))
	m.Add(fragmentOf(key("users", Unique), "b", 2, t0.Add(10e9), 3, 4))
	var lat, users []Snapshot
	for _, s := range m.Snapshots(t0, true) {
		var back Snapshot
		if err := json.Unmarshal(s.AppendJSON(nil), &back); err != nil {
			t.Fatal(err)
		}
		switch s.Kind {
		case Measure:
			lat = append(lat, back)
		case Unique:
			users = append(users, back)
		}
	}
	if len(lat) != 2 || len(users) != 2 {
		t.Fatalf("%d measure and %d unique snapshots, want 2 each", len(lat), len(users))
	}
	sk, err := DecodeSketch(lat[0].Sketch)
	if err != nil {
		t.Fatal(err)
	}
	if q, _ := sk.GetValueAtQuantile(0.5); q != lat[0].P50 || sk.GetCount() != float64(lat[0].Count) {
		t.Errorf("decoded sketch: p50 %v count %v, snapshot says %v %v", q, sk.GetCount(), lat[0].P50, lat[0].Count)
	}
	other, err := DecodeSketch(lat[1].Sketch)
	if err != nil {
		t.Fatal(err)
	}
	if err := sk.MergeWith(other); err != nil {
		t.Fatal(err)
	}
	if q, _ := sk.GetValueAtQuantile(0.99); sk.GetCount() != 6 || q < 49.5 || q > 50.5 {
		t.Errorf("merged sketch: count %v p99 %v, want 6 and about 50", sk.GetCount(), q)
	}
	h, err := DecodeHLL(users[0].HLL)
	if err != nil {
		t.Fatal(err)
	}
	if h.Estimate() != users[0].Unique {
		t.Errorf("decoded hll %d, snapshot says %d", h.Estimate(), users[0].Unique)
	}
	h2, err := DecodeHLL(users[1].HLL)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Merge(h2); err != nil || h.Estimate() != 4 {
		t.Errorf("merged hll %d (%v), want 4", h.Estimate(), err)
	}
	if _, err := DecodeSketch([]byte{1}); err == nil {
		t.Error("garbage decoded as a sketch")
	}
	if lat[0].SumSq != 10*10+20*20+30*30+40*40 {
		t.Errorf("sumsq %v", lat[0].SumSq)
	}
}

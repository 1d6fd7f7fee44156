package api

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"pulse/metrics"
)

// Rolling stored windows up into coarser steps is exact, which is the
// point of storing sketches: each window becomes a metrics.Fragment again
// and the fragments of one step are merged with Fragment.Merge — the code
// the merger itself merges with. Counts, sums and sums of squares add, min
// is the min of mins and max the max of maxes, the standard deviation comes
// from the merged sum of squares, and quantiles and unique counts are read
// from the merged DDSketch and HyperLogLog. Nothing is averaged: the mean
// of a step's p95s is not its p95 (the tests show by how much).

// quantiles are the ones a point reports, as a snapshot does.
var quantiles = []float64{0.50, 0.90, 0.95, 0.99}

// Series is the points of one group of keys: those sharing kind, unit and
// the group_by dimension's value.
type Series struct {
	Kind string `json:"kind"`
	Unit string `json:"unit"`
	// Group is the group_by dimension and its value ("" where a key lacks
	// it); absent without group_by.
	Group  map[string]string `json:"group,omitempty"`
	Points []Point           `json:"points"`
}

// Point is one step of a series: the merge of every stored window of the
// series' keys that starts within [T, T+step). Steps without data have no
// point. Values that do not apply to the kind are left out (quantiles
// for measures, unique for unique keys, rate for counters and measures,
// last for samples), and so are quantiles or unique when a window of the
// step was stored without its sketch: a partial sketch would be wrong.
type Point struct {
	T      time.Time `json:"t"`
	Count  uint64    `json:"count"`
	Sum    *float64  `json:"sum,omitempty"`
	Mean   *float64  `json:"mean,omitempty"`
	Min    *float64  `json:"min,omitempty"`
	Max    *float64  `json:"max,omitempty"`
	Stddev *float64  `json:"stddev,omitempty"`
	P50    *float64  `json:"p50,omitempty"`
	P90    *float64  `json:"p90,omitempty"`
	P95    *float64  `json:"p95,omitempty"`
	P99    *float64  `json:"p99,omitempty"`
	Unique *uint64   `json:"unique,omitempty"`
	// Rate is per second of step: a counter's sum, a measure's count.
	Rate *float64 `json:"rate,omitempty"`
	Last *float64 `json:"last,omitempty"`
	// Windows is how many stored windows were merged into the point, and
	// Agents the most agents any of them had.
	Windows int `json:"windows"`
	Agents  int `json:"agents"`
}

// rolled is what rollup made of the windows.
type rolled struct {
	series []Series
	lens   []time.Duration // the stored window lengths used
	used   int             // windows merged
	// skipped counts windows not used: of a length that another of the
	// same key's lengths covers better (two roll-ups of the same data),
	// or a copy with a smaller seq.
	skipped int
	bad     int // windows whose sketch did not decode
}

// rollup merges ws into points of step, bucketed from from (aligned to
// step), grouped by kind, unit and the groupBy dimension ("" for none).
// Every window must be no longer than step and divide it: the store was
// asked for MaxLen = step, and lengths not dividing step are skipped.
func rollup(ws []Window, step time.Duration, groupBy string, maxSeries int) (rolled, error) {
	var r rolled
	ws = newest(ws, &r)
	ws = oneLengthPerKey(ws, step, &r)
	// A fixed order makes the merge, and so the floating-point sums,
	// the same on every call.
	slices.SortFunc(ws, func(a, b Window) int {
		return cmp.Or(a.Start.Compare(b.Start), a.Key.Compare(b.Key))
	})
	type groupID struct {
		kind       metrics.Kind
		unit, dimV string
	}
	type bucket struct {
		acc      *metrics.Fragment
		windows  int
		agents   int
		noSketch bool // a window of it came without its sketch
	}
	groups := map[groupID]map[int64]*bucket{}
	var order []groupID
	for i := range ws {
		w := &ws[i]
		g := groupID{kind: w.Key.Kind, unit: w.Key.Unit}
		if groupBy != "" {
			g.dimV = dimValue(w.Key.Dims, groupBy)
		}
		bs, ok := groups[g]
		if !ok {
			if len(groups) == maxSeries {
				return r, fmt.Errorf("%w: more than %d series", errTooManySeries, maxSeries)
			}
			bs = map[int64]*bucket{}
			groups[g] = bs
			order = append(order, g)
		}
		t := w.Start.Truncate(step)
		b := bs[t.UnixNano()]
		if b == nil {
			b = &bucket{acc: &metrics.Fragment{
				Key:    metrics.Key{Name: w.Key.Name, Kind: w.Key.Kind, Unit: w.Key.Unit},
				Window: metrics.Window{Start: t.UTC(), Len: step},
			}}
			bs[t.UnixNano()] = b
		}
		f, missing, err := fragmentOf(w)
		if err != nil {
			r.bad++
			continue
		}
		if err := b.acc.Merge(f); err != nil {
			r.bad++
			continue
		}
		b.noSketch = b.noSketch || missing
		b.windows++
		b.agents = max(b.agents, w.Agents)
		r.used++
	}
	slices.SortFunc(order, func(a, b groupID) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.unit, b.unit), cmp.Compare(a.dimV, b.dimV))
	})
	for _, g := range order {
		s := Series{Kind: g.kind.String(), Unit: g.unit, Points: []Point{}}
		if groupBy != "" {
			s.Group = map[string]string{groupBy: g.dimV}
		}
		var starts []int64
		for t, b := range groups[g] {
			if b.windows > 0 {
				starts = append(starts, t)
			}
		}
		slices.Sort(starts)
		for _, t := range starts {
			b := groups[g][t]
			s.Points = append(s.Points, point(b.acc, step, b.windows, b.agents, b.noSketch))
		}
		r.series = append(r.series, s)
	}
	return r, nil
}

// errTooManySeries: a group_by of too many values.
var errTooManySeries = fmt.Errorf("too many series")

// newest keeps, of windows with the same key, start and length, the one
// with the largest seq: a key's rows may sit on two shards after the
// shards were changed, and a file holds every snapshot of a window.
func newest(ws []Window, r *rolled) []Window {
	type id struct {
		key        string
		start, len int64
	}
	at := make(map[id]int, len(ws))
	out := ws[:0:0]
	for _, w := range ws {
		k := id{w.Key.String(), w.Start.UnixNano(), int64(w.Len)}
		if i, ok := at[k]; ok {
			r.skipped++
			if w.Seq > out[i].Seq {
				out[i] = w
			}
			continue
		}
		at[k] = len(out)
		out = append(out, w)
	}
	return out
}

// oneLengthPerKey keeps, of each key, the windows of one length: the
// longest that divides step. Two lengths of one key are two roll-ups of
// the same observations (a 10s and a 1m table, say), and adding both
// would count everything twice. Lengths not dividing step would straddle
// steps, and are dropped.
func oneLengthPerKey(ws []Window, step time.Duration, r *rolled) []Window {
	best := map[string]time.Duration{}
	for _, w := range ws {
		if w.Len > 0 && step%w.Len == 0 {
			k := w.Key.String()
			best[k] = max(best[k], w.Len)
		}
	}
	out := ws[:0:0]
	var lens []time.Duration
	for _, w := range ws {
		if best[w.Key.String()] != w.Len {
			r.skipped++
			continue
		}
		if !slices.Contains(lens, w.Len) {
			lens = append(lens, w.Len)
		}
		out = append(out, w)
	}
	slices.Sort(lens)
	r.lens = lens
	return out
}

// fragmentOf turns a stored window back into the fragment it merged from
// (one of its own: agent and id are unused by Merge). missing reports a
// measure or unique window stored without its sketch.
func fragmentOf(w *Window) (f *metrics.Fragment, missing bool, err error) {
	f = &metrics.Fragment{
		Key:    metrics.Key{Name: w.Key.Name, Kind: w.Key.Kind, Unit: w.Key.Unit},
		Window: metrics.Window{Start: w.Start, Len: w.Len},
		Count:  w.Count, Sum: w.Sum, SumSq: w.SumSq, Min: w.Min, Max: w.Max,
		Last: w.Last, LastTime: w.LastTime,
	}
	switch w.Key.Kind {
	case metrics.Measure:
		if len(w.Sketch) == 0 {
			return f, true, nil
		}
		if f.Sketch, err = metrics.DecodeSketch(w.Sketch); err != nil {
			return nil, false, err
		}
	case metrics.Unique:
		if len(w.HLL) == 0 {
			return f, true, nil
		}
		if f.HLL, err = metrics.DecodeHLL(w.HLL); err != nil {
			return nil, false, err
		}
	}
	return f, false, nil
}

// point reads a merged step's values, as a snapshot reads a merged window.
func point(f *metrics.Fragment, step time.Duration, windows, agents int, noSketch bool) Point {
	p := Point{T: f.Start, Count: f.Count, Windows: windows, Agents: agents}
	p.Sum, p.Min, p.Max = num(f.Sum), num(f.Min), num(f.Max)
	p.Mean, p.Stddev = num(f.Mean()), num(f.Stddev())
	secs := step.Seconds()
	switch f.Kind {
	case metrics.Counter:
		p.Rate = num(f.Sum / secs)
	case metrics.Measure:
		p.Rate = num(float64(f.Count) / secs)
		if !noSketch && f.Sketch != nil && !f.Sketch.IsEmpty() {
			if q, err := f.Sketch.GetValuesAtQuantiles(quantiles); err == nil {
				p.P50, p.P90, p.P95, p.P99 = num(q[0]), num(q[1]), num(q[2]), num(q[3])
			}
		}
	case metrics.Unique:
		if !noSketch && f.HLL != nil {
			u := f.HLL.Estimate()
			p.Unique = &u
		}
	case metrics.Sample:
		p.Last = num(f.Last)
	}
	return p
}

// num is v for JSON: nil (left out) when not finite, which JSON cannot carry.
func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// dimValue is the value of dimension name in dims, "" if absent.
func dimValue(dims []metrics.Dim, name string) string {
	for _, d := range dims {
		if d.Name == name {
			return d.Value
		}
	}
	return ""
}

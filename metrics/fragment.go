package metrics

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/axiomhq/hyperloglog"
)

// Fragment is a partial roll-up of one key over one window, from one agent.
// Mergers add fragments together; (Agent, ID) makes each one unique, so a
// fragment delivered twice is merged once.
type Fragment struct {
	Key
	Window

	Count uint64  // observations
	Sum   float64 // of values
	SumSq float64 // of squared values, for the standard deviation
	Min   float64
	Max   float64

	Sketch *ddsketch.DDSketch  // Measure only: the distribution
	HLL    *hyperloglog.Sketch // Unique only: distinct raw values

	Last     float64   // Sample only: the value with the latest event time
	LastTime time.Time // and that time

	Agent string // origin agent
	ID    uint64 // unique per agent, across restarts
}

// String identifies the fragment for logs: key, window, agent and id.
func (f *Fragment) String() string {
	return fmt.Sprintf("%s@%s from %s/%d", f.Key, f.Window, f.Agent, f.ID)
}

// newFragment returns an empty accumulator for k in w, with the sketch its
// kind needs.
func newFragment(k Key, w Window) *Fragment {
	f := &Fragment{Key: k, Window: w}
	switch k.Kind {
	case Measure:
		f.Sketch = newSketch()
	case Unique:
		f.HLL = newHLL()
	}
	return f
}

// observe adds one observation: a merge with a fragment of one value,
// without building that fragment. v has passed validValue.
func (f *Fragment) observe(v float64, t time.Time, raw []byte) {
	switch f.Kind {
	case Measure:
		_ = f.Sketch.Add(v) // cannot fail: validValue checked the range
	case Sample:
		f.mergeLast(v, t)
	case Unique:
		f.HLL.Insert(raw)
	}
	f.mergeMoments(1, v, v*v, v, v)
}

// MaxValue bounds the magnitude of an observed value, so that squares and
// sums stay finite (and within the sketch's range).
const MaxValue = 1e150

// validValue reports whether v can be observed: a number within ±MaxValue.
func validValue(v float64) bool {
	return v >= -MaxValue && v <= MaxValue // false for NaN
}

var errMismatch = errors.New("metrics: fragments of different series")

// Merge adds o's observations to f, which must be the same key (and, for
// the result to mean anything, the same window). Count, sum, sum of
// squares, min and max add exactly; sketches merge; for samples the value
// with the later event time wins (the larger value on a tie, so that the
// result does not depend on order). o is not modified or retained.
func (f *Fragment) Merge(o *Fragment) error {
	if f.Kind != o.Kind {
		return fmt.Errorf("%w: %s and %s", errMismatch, f.Kind, o.Kind)
	}
	if o.Count == 0 {
		return nil
	}
	switch f.Kind {
	case Measure:
		if o.Sketch != nil {
			if f.Sketch == nil {
				f.Sketch = newSketch()
			}
			if err := f.Sketch.MergeWith(o.Sketch); err != nil {
				return fmt.Errorf("metrics: merge sketch of %s: %w", f.Key, err)
			}
		}
	case Unique:
		if o.HLL != nil {
			if f.HLL == nil {
				f.HLL = newHLL()
			}
			if err := f.HLL.Merge(o.HLL); err != nil {
				return fmt.Errorf("metrics: merge hyperloglog of %s: %w", f.Key, err)
			}
		}
	case Sample:
		f.mergeLast(o.Last, o.LastTime)
	}
	f.mergeMoments(o.Count, o.Sum, o.SumSq, o.Min, o.Max)
	return nil
}

func (f *Fragment) mergeMoments(count uint64, sum, sumSq, lo, hi float64) {
	if f.Count == 0 {
		f.Min, f.Max = lo, hi
	} else {
		f.Min = min(f.Min, lo)
		f.Max = max(f.Max, hi)
	}
	f.Count += count
	f.Sum += sum
	f.SumSq += sumSq
}

// mergeLast must run before mergeMoments: an empty f takes o's value.
func (f *Fragment) mergeLast(v float64, t time.Time) {
	if f.Count == 0 || t.After(f.LastTime) || (t.Equal(f.LastTime) && v > f.Last) {
		f.Last, f.LastTime = v, t
	}
}

// Mean returns Sum/Count, or 0 for an empty fragment.
func (f *Fragment) Mean() float64 {
	if f.Count == 0 {
		return 0
	}
	return f.Sum / float64(f.Count)
}

// Stddev returns the population standard deviation from Sum and SumSq.
func (f *Fragment) Stddev() float64 {
	if f.Count == 0 {
		return 0
	}
	n := float64(f.Count)
	mean := f.Sum / n
	v := f.SumSq/n - mean*mean
	if v <= 0 || math.IsNaN(v) { // rounding can push a zero variance below 0
		return 0
	}
	return math.Sqrt(v)
}

// validate checks the invariants every fragment from an Aggregator holds,
// which a merged state must keep to be saved and loaded again.
func (f *Fragment) validate() error {
	switch {
	case !f.Kind.Valid():
		return fmt.Errorf("kind %d", f.Kind)
	case f.Count == 0:
		return errors.New("empty fragment")
	case !f.Window.aligned():
		return fmt.Errorf("window %s not aligned", f.Window)
	case len(f.Dims) > MaxDims:
		return fmt.Errorf("%d dims, at most %d", len(f.Dims), MaxDims)
	case !dimsSorted(f.Dims):
		return errors.New("dims not sorted")
	}
	for _, v := range [...]float64{f.Sum, f.Min, f.Max} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("non-finite moment %v", v)
		}
	}
	if !(f.SumSq >= 0) || !(f.Min <= f.Max) {
		return fmt.Errorf("inconsistent moments: sumsq %v min %v max %v", f.SumSq, f.Min, f.Max)
	}
	switch f.Kind {
	case Measure:
		if f.Sketch == nil {
			return errors.New("measure without sketch")
		}
		if n := f.Sketch.GetCount(); n != float64(f.Count) {
			return fmt.Errorf("sketch holds %v values, count is %d", n, f.Count)
		}
	case Unique:
		if f.HLL == nil {
			return errors.New("unique without hyperloglog")
		}
	case Sample:
		if !(f.Last >= f.Min && f.Last <= f.Max) {
			return fmt.Errorf("last %v outside [%v, %v]", f.Last, f.Min, f.Max)
		}
	}
	return nil
}

// clone returns a deep copy of f that shares nothing mutable with f.
func (f *Fragment) clone() *Fragment {
	c := *f
	c.Key = f.Key.clone()
	if f.Sketch != nil {
		c.Sketch = f.Sketch.Copy()
	}
	if f.HLL != nil {
		c.HLL = f.HLL.Clone()
	}
	return &c
}

package metrics

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"
)

// event is one generated observation, delivered to one agent.
type event struct {
	key     int
	agent   int
	at      time.Time // event time
	arrival time.Time // when the agent sees it
	value   float64
	raw     string
	late    bool // beyond the agents' horizon: must be dropped
}

// expect is the exact roll-up of the accepted events of one key and window.
type expect struct {
	count    uint64
	sum      float64
	sumSq    float64
	min, max float64
	values   []float64
	distinct map[string]bool
	last     float64
	lastAt   time.Time
	agents   map[int]bool
}

type propRound struct {
	rng    *rand.Rand
	keys   []Key
	events []event
	dyadic bool // values whose float64 sums are exact
}

const (
	propWindow = 10 * time.Second
	propLate   = 3 // windows
)

func newPropRound(seed uint64) *propRound {
	rng := rand.New(rand.NewPCG(20240501, seed))
	p := &propRound{rng: rng, dyadic: seed%4 != 3}
	nKeys := 3 + rng.IntN(6)
	for i := range nKeys {
		kind := Kind(1 + i%4)
		k := Key{Name: fmt.Sprintf("m%d", i), Kind: kind, Unit: "ms"}
		for d := range rng.IntN(3) {
			k.Dims = append(k.Dims, Dim{Name: fmt.Sprintf("d%d", d), Value: fmt.Sprint(rng.IntN(3))})
		}
		p.keys = append(p.keys, k)
	}
	nAgents := 1 + rng.IntN(4)
	nEvents := 200 + rng.IntN(1300)
	for range nEvents {
		e := event{key: rng.IntN(nKeys), agent: rng.IntN(nAgents)}
		e.at = t0.Add(time.Duration(rng.Int64N(int64(60 * time.Second))))
		delay := time.Duration(rng.Int64N(int64(20 * time.Second)))
		if rng.IntN(30) == 0 {
			// Beyond the horizon wherever the arrival falls in its window:
			// at least 50 s > 3 windows + 1 window.
			e.late = true
			delay = 50*time.Second + time.Duration(rng.Int64N(int64(time.Minute)))
		}
		e.arrival = e.at.Add(delay)
		switch p.keys[e.key].Kind {
		case Measure:
			// Spread over orders of magnitude, in quarters: exact sums.
			e.value = float64(rng.IntN(1<<(2+rng.IntN(16)))) / 4
			if !p.dyadic {
				e.value = rng.ExpFloat64() * 123.456
			}
		case Counter:
			e.value = float64(1 + rng.IntN(10))
		case Sample:
			e.value = float64(rng.IntN(1000))
		case Unique:
			e.value = 1
			e.raw = fmt.Sprint("user-", rng.IntN(300))
		}
		p.events = append(p.events, e)
	}
	return p
}

type ekey struct {
	key   int
	start int64
}

// expected computes the exact roll-ups from the accepted events.
func (p *propRound) expected() map[ekey]*expect {
	out := map[ekey]*expect{}
	for _, e := range p.events {
		if e.late {
			continue
		}
		k := ekey{e.key, WindowAt(e.at, propWindow).Start.UnixNano()}
		x := out[k]
		if x == nil {
			x = &expect{min: e.value, max: e.value, distinct: map[string]bool{}, agents: map[int]bool{}, last: e.value, lastAt: e.at}
			out[k] = x
		}
		x.count++
		x.sum += e.value
		x.sumSq += e.value * e.value
		x.min, x.max = min(x.min, e.value), max(x.max, e.value)
		x.values = append(x.values, e.value)
		x.distinct[e.raw] = true
		x.agents[e.agent] = true
		if e.at.After(x.lastAt) || (e.at.Equal(x.lastAt) && e.value > x.last) {
			x.last, x.lastAt = e.value, e.at
		}
	}
	return out
}

// aggregate runs the events through one Aggregator per agent, flushing at
// random points, and returns every fragment.
func (p *propRound) aggregate(t *testing.T) []*Fragment {
	byAgent := map[int][]event{}
	for _, e := range p.events {
		byAgent[e.agent] = append(byAgent[e.agent], e)
	}
	var out []*Fragment
	for agent := 0; agent < len(byAgent)+8; agent++ {
		evs, ok := byAgent[agent]
		if !ok {
			continue
		}
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].arrival.Before(evs[j].arrival) })
		clock := newFakeClock(evs[0].arrival)
		a := NewAggregator(AggOptions{
			Agent: fmt.Sprint("agent-", agent), Window: propWindow, LateWindows: propLate,
			Grace: time.Second, IDs: &seqIDs{}, Now: clock.Now, Logger: quietLogger(),
		})
		late := 0
		for _, e := range evs {
			clock.Set(e.arrival)
			a.Observe(p.keys[e.key], e.value, e.at, []byte(e.raw))
			if e.late {
				late++
			}
			if p.rng.IntN(20) == 0 {
				out = append(out, a.Flush(e.arrival)...)
			}
		}
		out = append(out, a.FlushAll()...)
		if st := a.Stats(); st.DroppedLate != uint64(late) || st.Clamped != 0 || st.Invalid != 0 || st.Pending != 0 {
			t.Fatalf("agent %d: stats %+v, %d late events", agent, st, late)
		}
	}
	return out
}

func (p *propRound) keyIndex(s Snapshot) int {
	for i, k := range p.keys {
		if k.Equal(Key{Name: s.Name, Kind: s.Kind, Unit: s.Unit, Dims: s.Dims}) {
			return i
		}
	}
	return -1
}

func closeTo(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// exactQuantile is the value a DDSketch approximates: rank floor(q*(n-1)).
func exactQuantile(sorted []float64, q float64) float64 {
	return sorted[int(math.Floor(q*float64(len(sorted)-1)))]
}

// checkAgainstRaw compares snapshots with the roll-ups of the raw events.
func (p *propRound) checkAgainstRaw(t *testing.T, snaps []Snapshot) {
	t.Helper()
	want := p.expected()
	if len(snaps) != len(want) {
		t.Fatalf("%d snapshots, want %d", len(snaps), len(want))
	}
	for _, s := range snaps {
		ki := p.keyIndex(s)
		x := want[ekey{ki, s.WindowStart.UnixNano()}]
		if ki < 0 || x == nil {
			t.Fatalf("unexpected snapshot %+v", s)
		}
		where := fmt.Sprintf("%s@%s", p.keys[ki], s.WindowStart.Format(time.TimeOnly))
		if s.Count != x.count || s.Min != x.min || s.Max != x.max || s.Agents != len(x.agents) {
			t.Fatalf("%s: count/min/max/agents %d %v %v %d, want %d %v %v %d", where, s.Count, s.Min, s.Max, s.Agents, x.count, x.min, x.max, len(x.agents))
		}
		if p.dyadic && s.Sum != x.sum || !closeTo(s.Sum, x.sum, 1e-12) {
			t.Fatalf("%s: sum %v, want %v", where, s.Sum, x.sum)
		}
		n := float64(x.count)
		mean := x.sum / n
		sd := math.Sqrt(max(0, x.sumSq/n-mean*mean))
		if !closeTo(s.Mean, mean, 1e-12) || !closeTo(s.Stddev, sd, 1e-6) {
			t.Fatalf("%s: mean %v stddev %v, want %v %v", where, s.Mean, s.Stddev, mean, sd)
		}
		switch s.Kind {
		case Measure:
			sorted := slices.Clone(x.values)
			slices.Sort(sorted)
			for _, q := range []struct {
				q   float64
				got float64
			}{{0.5, s.P50}, {0.9, s.P90}, {0.95, s.P95}, {0.99, s.P99}} {
				ex := exactQuantile(sorted, q.q)
				if math.Abs(q.got-ex) > RelativeAccuracy*math.Abs(ex)+1e-12 {
					t.Fatalf("%s: p%v = %v, exact %v: beyond 1%%", where, q.q*100, q.got, ex)
				}
			}
			if !closeTo(s.Rate, n/propWindow.Seconds(), 1e-12) {
				t.Fatalf("%s: rate %v", where, s.Rate)
			}
		case Counter:
			if !closeTo(s.Rate, x.sum/propWindow.Seconds(), 1e-12) {
				t.Fatalf("%s: rate %v", where, s.Rate)
			}
		case Sample:
			if s.Last != x.last || !s.LastTime.Equal(x.lastAt) {
				t.Fatalf("%s: last %v@%s, want %v@%s", where, s.Last, s.LastTime, x.last, x.lastAt)
			}
		case Unique:
			d := float64(len(x.distinct))
			if math.Abs(float64(s.Unique)-d) > 0.02*d+1 {
				t.Fatalf("%s: unique %d, want about %v", where, s.Unique, d)
			}
		}
	}
}

// sameMerge checks that two mergers' snapshots agree: exact for count,
// sum (for dyadic values), min, max, sketch quantiles, unique, last and
// agents; float tolerance where order changes rounding.
func sameMerge(t *testing.T, dyadic bool, got, want []Snapshot) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d snapshots, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		where := fmt.Sprintf("%s %s", w.Name, w.WindowStart.Format(time.TimeOnly))
		if g.Name != w.Name || g.Kind != w.Kind || !slices.Equal(g.Dims, w.Dims) || !g.WindowStart.Equal(w.WindowStart) {
			t.Fatalf("snapshot %d: %s, want %s", i, g.Name, w.Name)
		}
		if g.Count != w.Count || g.Min != w.Min || g.Max != w.Max || g.Agents != w.Agents || g.Unique != w.Unique ||
			g.Last != w.Last || !g.LastTime.Equal(w.LastTime) {
			t.Fatalf("%s: %+v\nwant %+v", where, g, w)
		}
		if g.P50 != w.P50 || g.P90 != w.P90 || g.P95 != w.P95 || g.P99 != w.P99 {
			t.Fatalf("%s: quantiles differ: %v %v %v %v, want %v %v %v %v", where, g.P50, g.P90, g.P95, g.P99, w.P50, w.P90, w.P95, w.P99)
		}
		if (dyadic && g.Sum != w.Sum) || !closeTo(g.Sum, w.Sum, 1e-12) || !closeTo(g.Mean, w.Mean, 1e-12) || !closeTo(g.Stddev, w.Stddev, 1e-6) {
			t.Fatalf("%s: sum %v mean %v stddev %v, want %v %v %v", where, g.Sum, g.Mean, g.Stddev, w.Sum, w.Mean, w.Stddev)
		}
	}
}

func TestPropertyMergeAnyOrderIdempotent(t *testing.T) {
	rounds := 60
	if testing.Short() {
		rounds = 10
	}
	snapNow := t0.Add(2 * time.Minute) // nothing is final yet
	var late, replays, dups, frags0 int
	for r := range rounds {
		p := newPropRound(uint64(r))
		frags := p.aggregate(t)
		frags0 += len(frags)
		for _, e := range p.events {
			if e.late {
				late++
			}
		}

		ref := NewMerger(MergeOptions{Logger: quietLogger()})
		for _, f := range frags {
			if !ref.Add(f) {
				t.Fatalf("round %d: reference merge refused %s/%d", r, f.Agent, f.ID)
			}
		}
		want := ref.Snapshots(snapNow, true)
		p.checkAgainstRaw(t, want)

		// The same fragments shuffled, some duplicated, with a checkpoint
		// and restart in the middle after which some are delivered again.
		deliveries := slices.Clone(frags)
		for _, f := range frags {
			if p.rng.IntN(3) == 0 {
				deliveries = append(deliveries, f)
			}
		}
		p.rng.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
		cut := p.rng.IntN(len(deliveries) + 1)
		m := NewMerger(MergeOptions{Logger: quietLogger()})
		merged := 0
		for i, f := range deliveries[:cut] {
			if m.Add(f) {
				merged++
			}
			if i%50 == 0 {
				m.Snapshots(snapNow, false)
			}
		}
		var state bytes.Buffer
		if err := m.Save(&state); err != nil {
			t.Fatal(err)
		}
		m2, err := LoadMerger(&state, MergeOptions{Logger: quietLogger()})
		if err != nil {
			t.Fatalf("round %d: %v", r, err)
		}
		for range p.rng.IntN(cut + 1) { // replays of what was checkpointed
			if f := deliveries[p.rng.IntN(cut)]; m2.Add(f) {
				t.Fatalf("round %d: replay of %s/%d merged twice", r, f.Agent, f.ID)
			}
			replays++
		}
		for _, f := range deliveries[cut:] {
			if m2.Add(f) {
				merged++
			}
		}
		if merged != len(frags) {
			t.Fatalf("round %d: merged %d of %d distinct fragments", r, merged, len(frags))
		}
		sameMerge(t, p.dyadic, m2.Snapshots(snapNow, true), want)
		dups += len(deliveries) - len(frags)
	}
	// The test is only as good as what it exercised.
	if late == 0 || replays == 0 || dups == 0 || frags0 < rounds*10 {
		t.Fatalf("exercised too little: %d late events, %d replays, %d duplicates, %d fragments", late, replays, dups, frags0)
	}
	t.Logf("%d rounds: %d fragments, %d late events dropped, %d duplicates, %d replays after load", rounds, frags0, late, dups, replays)
}

// TestPropertyObserveEqualsMergeOfOnes: an aggregator's fragment equals
// the merge of one-value fragments, in any order: one merge semantics.
func TestPropertyObserveEqualsMergeOfOnes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	w := WindowAt(t0, propWindow)
	for r := range 30 {
		k := key("m", Kind(1+r%4))
		obs := newFragment(k, w)
		var ones []*Fragment
		for i := range 100 {
			v := float64(rng.IntN(4000)) / 8
			at := t0.Add(time.Duration(rng.IntN(10)) * time.Second)
			raw := []byte(fmt.Sprint(rng.IntN(40)))
			obs.observe(v, at, raw)
			one := newFragment(k, w)
			one.observe(v, at, raw)
			one.Agent, one.ID = "a", uint64(i)
			ones = append(ones, one)
		}
		rng.Shuffle(len(ones), func(i, j int) { ones[i], ones[j] = ones[j], ones[i] })
		merged := newFragment(k, w)
		for _, o := range ones {
			if err := merged.Merge(o); err != nil {
				t.Fatal(err)
			}
		}
		if err := sameFragment(obs, merged); err != nil {
			t.Fatalf("round %d (%s): %v", r, k.Kind, err)
		}
	}
}

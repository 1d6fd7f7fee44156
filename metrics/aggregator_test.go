package metrics

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func newTestAggregator(clock *fakeClock, late int) *Aggregator {
	return NewAggregator(AggOptions{
		Agent:       "agent-1",
		Window:      10 * time.Second,
		LateWindows: late,
		Grace:       2 * time.Second,
		IDs:         &seqIDs{},
		Now:         clock.Now,
		Logger:      quietLogger(),
	})
}

func TestAggregatorWindowsAndFlush(t *testing.T) {
	clock := newFakeClock(t0.Add(3 * time.Second))
	a := newTestAggregator(clock, 3)
	lat := key("router.service", Measure, "dyno", "web")
	hits := key("hits", Counter)
	mem := key("mem", Sample)
	users := key("users", Unique)
	for i := range 100 {
		at := t0.Add(time.Duration(i) * 50 * time.Millisecond) // 0 .. 4.95 s: window t0
		a.Observe(lat, float64(i), at, nil)
		a.Observe(hits, 2, at, nil)
		a.Observe(mem, float64(1000-i), at, nil)
		a.Observe(users, 1, at, []byte(fmt.Sprint("u", i%13)))
	}
	a.Observe(hits, 5, t0.Add(10*time.Second), nil) // the next window

	if got := a.Flush(t0.Add(11 * time.Second)); len(got) != 0 {
		t.Fatalf("flushed %d fragments before window end + grace", len(got))
	}
	got := a.Flush(t0.Add(12 * time.Second))
	if len(got) != 4 {
		t.Fatalf("flushed %d fragments, want 4", len(got))
	}
	ids := map[uint64]bool{}
	for _, f := range got {
		if f.Agent != "agent-1" || ids[f.ID] || f.ID == 0 {
			t.Fatalf("fragment origin %s/%d (ids so far %v)", f.Agent, f.ID, ids)
		}
		ids[f.ID] = true
		if !f.Start.Equal(t0) || f.Len != 10*time.Second {
			t.Fatalf("window %s", f.Window)
		}
		if f.Count != 100 {
			t.Fatalf("%s: count %d", f.Key, f.Count)
		}
		if err := f.validate(); err != nil {
			t.Fatalf("%s: %v", f.Key, err)
		}
		switch f.Kind {
		case Measure:
			if f.Sum != 4950 || f.Min != 0 || f.Max != 99 || f.SumSq != 328350 {
				t.Fatalf("measure moments %v %v %v %v", f.Sum, f.SumSq, f.Min, f.Max)
			}
			p50, _ := f.Sketch.GetValueAtQuantile(0.5)
			if p50 < 49*0.99 || p50 > 49*1.01 {
				t.Fatalf("p50 %v", p50)
			}
		case Counter:
			if f.Sum != 200 {
				t.Fatalf("counter sum %v", f.Sum)
			}
		case Sample:
			if f.Last != 901 || !f.LastTime.Equal(t0.Add(99*50*time.Millisecond)) {
				t.Fatalf("sample last %v at %s", f.Last, f.LastTime)
			}
		case Unique:
			if f.HLL.Estimate() != 13 {
				t.Fatalf("unique estimate %d", f.HLL.Estimate())
			}
		}
	}
	got = a.Flush(t0.Add(22 * time.Second))
	if len(got) != 1 || got[0].Sum != 5 || !got[0].Start.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("second window: %d fragments", len(got))
	}
	st := a.Stats()
	if st.Observed != 401 || st.FragmentsOut != 5 || st.Pending != 0 || st.DroppedLate != 0 || st.Clamped != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestAggregatorLateEvents: a late event inside the horizon yields a further
// fragment for its old window, with a new id, holding only the late part,
// and a merger adds it in; outside the horizon it is counted and dropped.
func TestAggregatorLateEvents(t *testing.T) {
	clock := newFakeClock(t0.Add(time.Second))
	a := newTestAggregator(clock, 2)
	k := key("router.service", Measure)
	a.Observe(k, 10, t0.Add(time.Second), nil)
	a.Observe(k, 20, t0.Add(2*time.Second), nil)
	first := a.Flush(t0.Add(12 * time.Second))
	if len(first) != 1 || first[0].Count != 2 {
		t.Fatalf("first flush: %v", first)
	}

	// 25 s later the current window is t0+20s: t0 is two windows back, the
	// edge of the horizon; t0-10s is beyond it.
	clock.Set(t0.Add(25 * time.Second))
	a.Observe(k, 30, t0.Add(5*time.Second), nil)
	a.Observe(k, 1000, t0.Add(-5*time.Second), nil)
	late := a.Flush(t0.Add(25 * time.Second))
	if len(late) != 1 {
		t.Fatalf("late flush: %d fragments", len(late))
	}
	lf := late[0]
	if !lf.Start.Equal(t0) || lf.Count != 1 || lf.Sum != 30 || lf.ID == first[0].ID {
		t.Fatalf("late fragment: window %s count %d sum %v id %d (first id %d)", lf.Window, lf.Count, lf.Sum, lf.ID, first[0].ID)
	}
	if st := a.Stats(); st.DroppedLate != 1 || st.Observed != 3 {
		t.Fatalf("stats %+v", st)
	}

	m := NewMerger(MergeOptions{Logger: quietLogger()})
	if !m.Add(first[0]) || !m.Add(lf) {
		t.Fatal("merge refused")
	}
	snaps := m.Snapshots(t0.Add(30*time.Second), true)
	if len(snaps) != 1 || snaps[0].Count != 3 || snaps[0].Sum != 60 || snaps[0].Max != 30 || snaps[0].Min != 10 {
		t.Fatalf("snapshots %+v", snaps)
	}
}

func TestAggregatorClampAndInvalid(t *testing.T) {
	clock := newFakeClock(t0.Add(time.Second))
	a := newTestAggregator(clock, 1)
	k := key("x", Counter)
	a.Observe(k, 1, t0.Add(15*time.Second), nil) // the next window: kept there
	a.Observe(k, 1, t0.Add(20*time.Second), nil) // beyond: clamped to t0
	a.Observe(k, 1, t0.Add(time.Hour), nil)      // clamped to t0
	for _, v := range []float64{nanValue(), 1e200, -1e151} {
		a.Observe(k, v, t0, nil)
	}
	a.Observe(Key{Name: "bad", Kind: 0}, 1, t0, nil)
	st := a.Stats()
	if st.Clamped != 2 || st.Invalid != 4 || st.Observed != 3 {
		t.Fatalf("stats %+v", st)
	}
	got := a.FlushAll()
	if len(got) != 2 || !got[0].Start.Equal(t0) || got[0].Count != 2 || got[1].Count != 1 {
		t.Fatalf("fragments %v", got)
	}
	// A clamped sample counts as happening now: a clock gone wild on one
	// host cannot pin a window's last value.
	s := key("mem", Sample)
	a.Observe(s, 5, t0.Add(24*time.Hour), nil)
	a.Observe(s, 6, t0.Add(500*time.Millisecond), nil)
	got = a.FlushAll()
	if len(got) != 1 || got[0].Last != 5 || !got[0].LastTime.Equal(t0.Add(time.Second)) {
		t.Fatalf("clamped sample: %v", got)
	}
}

func TestAggregatorSortsDimsAndInterns(t *testing.T) {
	clock := newFakeClock(t0)
	a := newTestAggregator(clock, 1)
	dims := []Dim{{"status", "2xx"}, {"dyno", "web"}}
	a.Observe(Key{Name: "r", Kind: Counter, Dims: dims}, 1, t0, nil)
	// The caller reuses its slice: the interned key must not change.
	dims[0], dims[1] = Dim{"dyno", "worker"}, Dim{"status", "5xx"}
	a.Observe(Key{Name: "r", Kind: Counter, Dims: []Dim{{"dyno", "web"}, {"status", "2xx"}}}, 1, t0, nil)
	got := a.FlushAll()
	if len(got) != 1 || got[0].Count != 2 || got[0].Key.String() != "r|counter||dyno=web,status=2xx" {
		t.Fatalf("fragments %v", got)
	}
}

func TestAggregatorForgetsIdleKeys(t *testing.T) {
	clock := newFakeClock(t0)
	a := newTestAggregator(clock, 2)
	for i := range 50 {
		a.Observe(key(fmt.Sprint("k", i), Counter), 1, t0, nil)
	}
	a.Flush(t0.Add(15 * time.Second))
	if n := a.Stats().ActiveKeys; n != 50 {
		t.Fatalf("active keys %d, want 50", n)
	}
	// Window t0 is still inside the horizon at t0+20s, not at t0+30s.
	a.Flush(t0.Add(25 * time.Second))
	if n := a.Stats().ActiveKeys; n != 50 {
		t.Fatalf("active keys %d, want 50 within the horizon", n)
	}
	a.Flush(t0.Add(35 * time.Second))
	if n := a.Stats().ActiveKeys; n != 0 {
		t.Fatalf("active keys %d, want 0 after the horizon", n)
	}
}

type failingIDs struct {
	mu    sync.Mutex
	fails int
	next  uint64
}

func (f *failingIDs) NextID() (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		return 0, errors.New("disk full")
	}
	f.next++
	return f.next, nil
}

func TestAggregatorFlushWithoutIDs(t *testing.T) {
	clock := newFakeClock(t0)
	ids := &failingIDs{}
	a := NewAggregator(AggOptions{Agent: "a", Window: 10 * time.Second, IDs: ids, Now: clock.Now, Logger: quietLogger()})
	for i := range 3 {
		a.Observe(key(fmt.Sprint("k", i), Counter), 1, t0, nil)
	}
	ids.fails = 1
	if got := a.Flush(t0.Add(time.Minute)); len(got) != 0 {
		t.Fatalf("flushed %d without ids", len(got))
	}
	if st := a.Stats(); st.IDErrors != 1 || st.Pending != 3 {
		t.Fatalf("stats %+v", st)
	}
	if got := a.Flush(t0.Add(time.Minute)); len(got) != 3 {
		t.Fatalf("retry flushed %d, want 3", len(got))
	}
}

func TestAggregatorConcurrent(t *testing.T) {
	clock := newFakeClock(t0)
	a := newTestAggregator(clock, 5)
	const workers, per = 4, 2000
	var wg sync.WaitGroup
	var mu sync.Mutex
	var out []*Fragment
	stop := make(chan struct{})
	flushed := make(chan struct{})
	go func() { // a flusher, as an agent's ticker would be
		defer close(flushed)
		for {
			select {
			case <-stop:
				return
			default:
			}
			fs := a.Flush(clock.Now())
			mu.Lock()
			out = append(out, fs...)
			mu.Unlock()
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				at := t0.Add(time.Duration(i) * time.Millisecond * 20) // 0 .. 40 s
				if w == 0 {
					clock.Set(at)
				}
				a.Observe(key(fmt.Sprint("k", i%7), Measure), float64(i), at, nil)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-flushed
	out = append(out, a.FlushAll()...)
	var n uint64
	ids := map[uint64]bool{}
	for _, f := range out {
		n += f.Count
		if ids[f.ID] {
			t.Fatalf("id %d twice", f.ID)
		}
		ids[f.ID] = true
	}
	st := a.Stats()
	if n != st.Observed || n+st.DroppedLate != workers*per {
		t.Fatalf("fragments hold %d, stats %+v", n, st)
	}
}

func TestObserveAllocs(t *testing.T) {
	clock := newFakeClock(t0)
	a := newTestAggregator(clock, 1)
	for _, kind := range []Kind{Counter, Measure, Sample, Unique} {
		k := key("x", kind, "dyno", "web")
		raw := []byte("user")
		a.Observe(k, 1, t0, raw)
		v := 0.0
		allocs := testing.AllocsPerRun(1000, func() {
			v++
			a.Observe(k, float64(int(v)%50), t0, raw)
		})
		if allocs != 0 {
			t.Errorf("%s: Observe of a known key allocates %v per call", kind, allocs)
		}
	}
}

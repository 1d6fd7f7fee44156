package metrics

import (
	"log/slog"
	"math"
	"os"
	"slices"
	"sync"
	"time"
)

// AggOptions configure an Aggregator. Zero fields take the defaults noted.
type AggOptions struct {
	// Agent names this agent in its fragments. Default: the host name.
	Agent string
	// Window is the length of the wall-clock aligned windows. Default 10s.
	Window time.Duration
	// LateWindows is how many windows before the current one still accept
	// events. Default: five minutes' worth (the Heroku pipeline counts
	// measurements up to 5 minutes old). Negative: none.
	LateWindows int
	// Grace is how long after its end a window waits for stragglers before
	// Flush hands it out. Default: a fifth of Window, at most 2s.
	// Negative: none.
	Grace time.Duration
	// IDs hands out fragment ids; use FileIDs. Default: an in-memory
	// sequence seeded from the clock (not guaranteed unique across restarts).
	IDs IDSource
	// Now is the clock that decides the current window. Default time.Now.
	Now func() time.Time
	// Logger for warnings. Default slog.Default().
	Logger *slog.Logger
}

// AggStats are an Aggregator's counters. Every observation not merged into
// a fragment is counted in exactly one of DroppedLate and Invalid.
type AggStats struct {
	ActiveKeys   int    // keys observed within the late-event horizon
	Pending      int    // fragments accumulating, not yet flushed
	Observed     uint64 // observations merged into fragments
	DroppedLate  uint64 // observations older than the horizon, dropped
	Clamped      uint64 // observations from beyond the next window, moved to the current one
	Invalid      uint64 // observations with NaN, out of range values, bad kinds or too many dims
	FragmentsOut uint64 // fragments returned by Flush
	IDErrors     uint64 // flushes stopped because no id could be had
}

// Aggregator rolls observations up into fragments per key and window, on
// the agent. It is safe for concurrent use.
type Aggregator struct {
	agent string
	win   time.Duration
	late  int64 // accepted windows before the current one
	grace time.Duration
	ids   IDSource
	now   func() time.Time

	mu      sync.Mutex
	keys    map[uint64]*aggKey // interned keys by Key.Hash, chained on collision
	nkeys   int
	windows map[int64]*aggWindow // windows with pending fragments, by start
	swept   int64                // current window at the last key sweep
	stats   AggStats
	warn    rateLog
}

// aggKey is an interned key and its pending fragments, one per window
// (usually one or two: the current window and a late one).
type aggKey struct {
	key  Key
	next *aggKey
	last int64 // start of the newest window observed, Unix ns
	pend []pending
}

type pending struct {
	start int64
	f     *Fragment
}

// aggWindow lists the pending fragments of one window, in creation order.
type aggWindow struct {
	start int64
	frags []*Fragment
	keys  []*aggKey
}

// NewAggregator returns an Aggregator with opts' defaults applied.
func NewAggregator(opts AggOptions) *Aggregator {
	if opts.Agent == "" {
		opts.Agent, _ = os.Hostname()
	}
	if opts.Window <= 0 {
		opts.Window = 10 * time.Second
	}
	switch {
	case opts.LateWindows == 0:
		opts.LateWindows = int((5*time.Minute + opts.Window - 1) / opts.Window)
	case opts.LateWindows < 0:
		opts.LateWindows = 0
	}
	switch {
	case opts.Grace == 0:
		opts.Grace = min(opts.Window/5, 2*time.Second)
	case opts.Grace < 0:
		opts.Grace = 0
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.IDs == nil {
		opts.IDs = &memIDs{next: max(1, uint64(opts.Now().UnixNano()))}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Aggregator{
		agent:   opts.Agent,
		win:     opts.Window,
		late:    int64(opts.LateWindows),
		grace:   opts.Grace,
		ids:     opts.IDs,
		now:     opts.Now,
		keys:    make(map[uint64]*aggKey),
		windows: make(map[int64]*aggWindow),
		warn:    rateLog{log: opts.Logger.With("component", "metrics.aggregator", "agent", opts.Agent), every: 10 * time.Second},
	}
}

// Observe adds one observation of key: value at eventTime, which picks the
// window. Every kind counts value into count, sum, sum of squares, min and
// max; a Measure also into its sketch, a Sample keeps the value with the
// latest event time, and a Unique counts raw as one distinct value. An
// event more than LateWindows windows before the current one is dropped
// and counted; one from beyond the next window is counted and taken as
// happening now, in the current window. Observe sorts key.Dims in place if they are
// not sorted, copies key (its strings too, so they may alias the caller's
// buffer) only the first time it sees it, and does not retain key or raw. For a key already seen it does not allocate (sketch stores
// grow now and then).
//
// It returns the start of the window the observation went into (in Unix
// nanoseconds), and false if it was dropped.
func (a *Aggregator) Observe(key Key, value float64, eventTime time.Time, raw []byte) (window int64, ok bool) {
	if !validValue(value) || !key.Kind.Valid() || len(key.Dims) > MaxDims {
		a.mu.Lock()
		a.stats.Invalid++
		a.mu.Unlock()
		return 0, false
	}
	SortDims(key.Dims)
	h := key.Hash()
	now := a.now()
	cur := now.Truncate(a.win)
	w := a.win.Nanoseconds()

	a.mu.Lock()
	defer a.mu.Unlock()
	if eventTime.Before(cur.Add(-time.Duration(a.late) * a.win)) {
		a.stats.DroppedLate++
		return 0, false
	}
	var start int64
	if eventTime.Before(cur.Add(2 * a.win)) {
		start = eventTime.Truncate(a.win).UnixNano()
	} else {
		start, eventTime = cur.UnixNano(), now
		a.stats.Clamped++
	}
	k := a.intern(key, h)
	k.last = max(k.last, start)
	f := k.pendingAt(start)
	if f == nil {
		f = newFragment(k.key, Window{Start: time.Unix(0, start).UTC(), Len: time.Duration(w)})
		k.pend = append(k.pend, pending{start: start, f: f})
		aw := a.windows[start]
		if aw == nil {
			aw = &aggWindow{start: start}
			a.windows[start] = aw
		}
		aw.frags = append(aw.frags, f)
		aw.keys = append(aw.keys, k)
	}
	f.observe(value, eventTime, raw)
	a.stats.Observed++
	return start, true
}

// intern returns the interned copy of key, creating it if new.
func (a *Aggregator) intern(key Key, h uint64) *aggKey {
	for k := a.keys[h]; k != nil; k = k.next {
		if k.key.Equal(key) {
			return k
		}
	}
	k := &aggKey{key: key.clone(), next: a.keys[h]}
	a.keys[h] = k
	a.nkeys++
	return k
}

func (k *aggKey) pendingAt(start int64) *Fragment {
	for _, p := range k.pend {
		if p.start == start {
			return p.f
		}
	}
	return nil
}

func (k *aggKey) unpend(f *Fragment) {
	for i, p := range k.pend {
		if p.f == f {
			last := len(k.pend) - 1
			k.pend[i] = k.pend[last]
			k.pend[last] = pending{}
			k.pend = k.pend[:last]
			return
		}
	}
}

// Flush returns the fragments of windows closed at now (end + Grace <=
// now), oldest window first, each with the agent's name and a new id. A
// window that receives late events after its flush yields a further
// fragment, with a new id, holding only the late part: mergers add it in.
// The caller owns the fragments but must not modify their Key, which is
// shared with the aggregator.
func (a *Aggregator) Flush(now time.Time) []*Fragment {
	out, _ := a.FlushCovered(now)
	return out
}

// FlushCovered is Flush, and also returns the window start up to which
// every observation made before the call has now been handed out, in
// this or an earlier flush: the caller may forget the events behind them
// once these fragments are stored.
func (a *Aggregator) FlushCovered(now time.Time) (frags []*Fragment, covered int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out, covered := a.flush(now.Add(-a.grace - a.win).UnixNano())
	a.sweep(now.Truncate(a.win).UnixNano())
	return out, covered
}

// FlushAll returns every pending fragment, closed or not: for shutdown.
func (a *Aggregator) FlushAll() []*Fragment {
	out, _ := a.FlushAllCovered()
	return out
}

// FlushAllCovered is FlushAll with FlushCovered's second result.
func (a *Aggregator) FlushAllCovered() (frags []*Fragment, covered int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.flush(math.MaxInt64)
}

// flush hands out windows starting at or before last, and returns the
// start up to which every window is handed out: last, or less if fragment
// ids ran out.
func (a *Aggregator) flush(last int64) ([]*Fragment, int64) {
	var starts []int64
	n := 0
	for s, w := range a.windows {
		if s <= last {
			starts = append(starts, s)
			n += len(w.frags)
		}
	}
	if n == 0 {
		return nil, last
	}
	slices.Sort(starts)
	out := make([]*Fragment, 0, n)
	for _, s := range starts {
		w := a.windows[s]
		for i, f := range w.frags {
			id, err := a.ids.NextID()
			if err != nil {
				// Keep the rest for the next Flush: a fragment must not leave
				// without an id of its own.
				w.frags, w.keys = w.frags[i:], w.keys[i:]
				a.stats.IDErrors++
				a.warn.warn(a.now(), "no fragment id, flush postponed", "err", err, "pending", n-len(out))
				a.stats.FragmentsOut += uint64(len(out))
				return out, s - 1
			}
			f.Agent, f.ID = a.agent, id
			w.keys[i].unpend(f)
			out = append(out, f)
		}
		delete(a.windows, s)
	}
	a.stats.FragmentsOut += uint64(len(out))
	return out, last
}

// sweep forgets keys not observed within the horizon, once per window.
func (a *Aggregator) sweep(cur int64) {
	if cur <= a.swept {
		return
	}
	a.swept = cur
	horizon := cur - a.late*a.win.Nanoseconds()
	for h, first := range a.keys {
		var keep *aggKey
		for k := first; k != nil; {
			next := k.next
			if len(k.pend) > 0 || k.last >= horizon {
				k.next, keep = keep, k
			} else {
				a.nkeys--
			}
			k = next
		}
		if keep == nil {
			delete(a.keys, h)
		} else {
			a.keys[h] = keep
		}
	}
}

// Stats returns the current counters.
func (a *Aggregator) Stats() AggStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.stats
	s.ActiveKeys = a.nkeys
	for _, w := range a.windows {
		s.Pending += len(w.frags)
	}
	return s
}

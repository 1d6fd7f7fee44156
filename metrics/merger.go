package metrics

import (
	"cmp"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"
)

// MergeOptions configure a Merger. Zero fields take the defaults noted.
type MergeOptions struct {
	// FinalizeAfter is how long after its end a window keeps accepting
	// fragments. Then its snapshots are marked final, it is dropped from
	// memory, and fragments that still arrive for it are counted as too
	// late. It should exceed the agents' late horizon plus their Grace plus
	// the delivery delay. Default 6m (agents accept 5 minutes by default).
	FinalizeAfter time.Duration
	// Logger for warnings. Default slog.Default().
	Logger *slog.Logger
}

// MergeStats are a Merger's counters and sizes.
type MergeStats struct {
	Windows    int    // windows in memory
	Keys       int    // key and window pairs in memory
	Seen       int    // fragment ids remembered for idempotence
	Agents     int    // distinct agents ever seen
	Merged     uint64 // fragments merged
	Duplicates uint64 // fragments ignored: that agent's id was merged already
	TooLate    uint64 // fragments for windows already finalized and dropped
	Rejected   uint64 // fragments that cannot be merged (empty, bad key, incompatible sketch)
	Snapshots  uint64 // snapshots returned
}

// Merger combines fragments from many agents into snapshots per key and
// window. Merging is idempotent (a fragment id seen before for the same
// key and window is ignored) and independent of order. It is safe for
// concurrent use.
type Merger struct {
	finalizeAfter time.Duration

	mu      sync.Mutex
	windows map[winID]*mWindow
	agents  map[string]uint32 // agent name -> index into names
	names   []string
	closed  int64 // windows ending at or before this, Unix ns, are finalized
	stats   MergeStats
	warn    rateLog
}

// mWindow holds one window's merged entries and the ids merged into it:
// the seen set lives and dies with its window.
type mWindow struct {
	id      winID
	entries map[uint64]*mEntry // by key hash, chained on collision
	n       int
	seen    map[seenKey]struct{}
}

// seenKey is one merged fragment: its key's hash, its agent and its id.
type seenKey struct {
	key   uint64
	id    uint64
	agent uint32
}

type mEntry struct {
	acc     *Fragment // the merged state; Agent and ID unused
	next    *mEntry
	agents  []uint32 // sorted agent indexes
	changed bool     // since the last Snapshots
}

// NewMerger returns a Merger with opts' defaults applied.
func NewMerger(opts MergeOptions) *Merger {
	if opts.FinalizeAfter <= 0 {
		opts.FinalizeAfter = 6 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Merger{
		finalizeAfter: opts.FinalizeAfter,
		windows:       make(map[winID]*mWindow),
		agents:        make(map[string]uint32),
		closed:        math.MinInt64,
		warn:          rateLog{log: opts.Logger.With("component", "metrics.merger"), every: 10 * time.Second},
	}
}

// Add merges f and reports whether it did. It returns false, and counts
// why, for a fragment already merged (same agent and id for that key and
// window), for a window already finalized, and for a fragment that cannot
// be merged. f is not modified or retained.
func (m *Merger) Add(f *Fragment) (merged bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f == nil {
		m.stats.Rejected++
		return false
	}
	if err := f.validate(); err != nil {
		m.stats.Rejected++
		m.warn.warn(time.Now(), "invalid fragment", "key", f.Key.String(), "agent", f.Agent, "err", err)
		return false
	}
	id := f.Window.id()
	if id.end() <= m.closed {
		m.stats.TooLate++
		return false
	}
	h := f.Key.Hash()
	sk := seenKey{key: h, id: f.ID, agent: m.agentIndex(f.Agent)}
	w := m.windows[id]
	if w != nil {
		if _, dup := w.seen[sk]; dup {
			m.stats.Duplicates++
			return false
		}
	}
	if w == nil {
		w = &mWindow{id: id, entries: make(map[uint64]*mEntry), seen: make(map[seenKey]struct{})}
		m.windows[id] = w
	}
	e := w.entry(f.Key, h)
	if err := e.acc.Merge(f); err != nil {
		if e.acc.Count == 0 { // new and still empty: a saved state must not hold it
			w.remove(e, h)
		}
		m.stats.Rejected++
		m.warn.warn(time.Now(), "fragment not merged", "key", f.Key.String(), "window", f.Window.String(), "agent", f.Agent, "err", err)
		return false
	}
	w.seen[sk] = struct{}{}
	if i, found := slices.BinarySearch(e.agents, sk.agent); !found {
		e.agents = slices.Insert(e.agents, i, sk.agent)
	}
	e.changed = true
	m.stats.Merged++
	return true
}

func (m *Merger) agentIndex(name string) uint32 {
	i, ok := m.agents[name]
	if !ok {
		i = uint32(len(m.names))
		m.agents[name] = i
		m.names = append(m.names, name)
	}
	return i
}

// entry returns the window's entry for k, creating it empty.
func (w *mWindow) entry(k Key, h uint64) *mEntry {
	for e := w.entries[h]; e != nil; e = e.next {
		if e.acc.Key.Equal(k) {
			return e
		}
	}
	e := &mEntry{acc: newFragment(k.clone(), w.id.window()), next: w.entries[h]}
	w.entries[h] = e
	w.n++
	return e
}

func (w *mWindow) remove(e *mEntry, h uint64) {
	p := w.entries[h]
	if p == e {
		if e.next == nil {
			delete(w.entries, h)
		} else {
			w.entries[h] = e.next
		}
	} else {
		for ; p != nil && p.next != e; p = p.next {
		}
		if p != nil {
			p.next = e.next
		}
	}
	w.n--
}

// Snapshots returns snapshots of the key and window pairs changed since
// the last call (not of every key of a changed window), or of all pairs if
// all is set, ordered by window then key. Windows that
// ended FinalizeAfter or more before now are returned whole, marked Final,
// and dropped: fragments for them are too late from then on.
func (m *Merger) Snapshots(now time.Time, all bool) []Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	cutoff := now.Add(-m.finalizeAfter).UnixNano()
	ids := make([]winID, 0, len(m.windows))
	for id := range m.windows {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b winID) int {
		if c := cmp.Compare(a.start, b.start); c != 0 {
			return c
		}
		return cmp.Compare(a.len, b.len)
	})
	var out []Snapshot
	var es []*mEntry
	for _, id := range ids {
		w := m.windows[id]
		final := id.end() <= cutoff
		es = es[:0]
		for _, first := range w.entries {
			for e := first; e != nil; e = e.next {
				if final || all || e.changed {
					es = append(es, e)
				}
			}
		}
		slices.SortFunc(es, func(a, b *mEntry) int { return a.acc.Key.Compare(b.acc.Key) })
		for _, e := range es {
			out = append(out, e.snapshot(final))
			e.changed = false
		}
		if final {
			delete(m.windows, id)
		}
	}
	m.closed = max(m.closed, cutoff)
	m.stats.Snapshots += uint64(len(out))
	return out
}

// Stats returns the current counters and sizes.
func (m *Merger) Stats() MergeStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Windows = len(m.windows)
	s.Agents = len(m.names)
	for _, w := range m.windows {
		s.Keys += w.n
		s.Seen += len(w.seen)
	}
	return s
}

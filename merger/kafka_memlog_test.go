package merger

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pulse/metrics"
)

// memLog is a partitioned log in memory with one group's committed
// offsets, for the Group's unit tests: the test appends records, assigns
// partitions to members and moves them between members, as a broker's
// group coordinator would (the e2e test runs the real one).
type memLog struct {
	mu        sync.Mutex
	parts     map[Partition][]Record
	committed map[Partition]Commit
	owner     map[Partition]*memMember
	commits   int
}

func newMemLog(topic string, n int) *memLog {
	l := &memLog{parts: map[Partition][]Record{}, committed: map[Partition]Commit{}, owner: map[Partition]*memMember{}}
	for i := range n {
		l.parts[Partition{Topic: topic, ID: int32(i)}] = nil
	}
	return l
}

// partitions returns the log's partitions, in order.
func (l *memLog) partitions() []Partition {
	l.mu.Lock()
	defer l.mu.Unlock()
	ps := slices.Collect(maps.Keys(l.parts))
	slices.SortFunc(ps, func(a, b Partition) int { return cmp.Compare(a.ID, b.ID) })
	return ps
}

// partitionOf is the producer's partitioner: by key hash, so that a key's
// fragments share a partition.
func (l *memLog) partitionOf(f *metrics.Fragment) Partition {
	return Partition{Topic: "fragments", ID: int32(f.Key.Hash() % uint64(len(l.parts)))}
}

// append adds encoded fragments to their partitions.
func (l *memLog) append(t testing.TB, frags [][]byte) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range frags {
		f, err := metrics.DecodeFragment(b)
		if err != nil {
			t.Fatal(err)
		}
		p := l.partitionOf(f)
		l.parts[p] = append(l.parts[p], Record{Partition: p, Offset: int64(len(l.parts[p])), Value: b})
	}
}

// claim is what a new owner of p is told: the committed offset, or 0.
func (l *memLog) claim(p Partition) Claim {
	c, ok := l.committed[p]
	if !ok {
		c = Commit{Partition: p}
	}
	return Claim{Partition: p, Start: c.Offset, End: int64(len(l.parts[p])), Meta: c.Meta}
}

// memMember is one member's view of the log: its Log. Assignments are run
// by its Run goroutine, as kgo runs them between polls.
type memMember struct {
	l      *memLog
	name   string
	ops    chan func(handle func(context.Context, LogEvent) error)
	killed chan struct{}
	hold   atomic.Int64 // > 0: hand out no record at or past this offset
	refuse atomic.Bool  // refuse commits, as a broker out of reach
	// Owned by Run's goroutine.
	pos map[Partition]int64
}

func (l *memLog) member(name string) *memMember {
	return &memMember{l: l, name: name, ops: make(chan func(func(context.Context, LogEvent) error)), killed: make(chan struct{}), pos: map[Partition]int64{}}
}

// Run hands out records of the partitions held, a few at a time, runs the
// test's assignments, and revokes everything when ctx ends. After kill it
// returns at once, revoking nothing, as a process killed -9.
func (m *memMember) Run(ctx context.Context, handle func(context.Context, LogEvent) error) error {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-m.killed:
			return nil
		case <-ctx.Done():
			var held []Partition
			m.l.mu.Lock()
			for p, o := range m.l.owner {
				if o == m {
					held = append(held, p)
				}
			}
			m.l.mu.Unlock()
			if len(held) > 0 {
				_ = handle(context.Background(), LogEvent{Revoked: held})
				m.l.mu.Lock()
				for _, p := range held {
					delete(m.l.owner, p)
				}
				m.l.mu.Unlock()
			}
			return nil
		case op := <-m.ops:
			op(handle)
		case <-tick.C:
			m.deliver(ctx, handle)
		}
	}
}

// deliver hands out up to 7 records of each partition held.
func (m *memMember) deliver(ctx context.Context, handle func(context.Context, LogEvent) error) {
	var recs []Record
	m.l.mu.Lock()
	for p, o := range m.l.owner {
		if o != m {
			continue
		}
		all := m.l.parts[p]
		from := m.pos[p]
		to := min(from+7, int64(len(all)))
		if h := m.hold.Load(); h > 0 {
			to = max(from, min(to, h))
		}
		recs = append(recs, all[from:to]...)
		m.pos[p] = to
	}
	m.l.mu.Unlock()
	if len(recs) > 0 {
		_ = handle(ctx, LogEvent{Records: recs})
	}
}

// Commit commits for partitions m holds; others are refused, as a broker
// refuses a member fenced out by a new generation.
func (m *memMember) Commit(_ context.Context, commits []Commit) error {
	if m.refuse.Load() {
		return fmt.Errorf("%s: commit refused", m.name)
	}
	m.l.mu.Lock()
	defer m.l.mu.Unlock()
	for _, c := range commits {
		if m.l.owner[c.Partition] != m {
			return fmt.Errorf("%s: commit of %s: not the owner", m.name, c.Partition)
		}
	}
	for _, c := range commits {
		m.l.committed[c.Partition] = c
	}
	m.l.commits++
	return nil
}

// assign moves ps to m: their current owner (if alive) revokes them
// first, then m claims them at the committed offsets.
func (m *memMember) assign(t testing.TB, ps ...Partition) {
	t.Helper()
	m.l.mu.Lock()
	byOwner := map[*memMember][]Partition{}
	for _, p := range ps {
		if o := m.l.owner[p]; o != nil && o != m {
			byOwner[o] = append(byOwner[o], p)
		}
	}
	m.l.mu.Unlock()
	for o, rev := range byOwner {
		o.run(t, func(handle func(context.Context, LogEvent) error) {
			_ = handle(context.Background(), LogEvent{Revoked: rev})
			m.l.mu.Lock()
			for _, p := range rev {
				delete(m.l.owner, p)
			}
			m.l.mu.Unlock()
		})
	}
	m.run(t, func(handle func(context.Context, LogEvent) error) {
		m.l.mu.Lock()
		var claims []Claim
		for _, p := range ps {
			m.l.owner[p] = m
			c := m.l.claim(p)
			m.pos[p] = c.Start
			claims = append(claims, c)
		}
		m.l.mu.Unlock()
		_ = handle(context.Background(), LogEvent{Assigned: claims})
	})
}

// kill stops m as kill -9 does: no revoke, no commit; its partitions are
// free for assign.
func (m *memMember) kill() {
	close(m.killed)
	m.l.mu.Lock()
	defer m.l.mu.Unlock()
	for p, o := range m.l.owner {
		if o == m {
			delete(m.l.owner, p)
		}
	}
}

// run runs op in m's Run goroutine and waits for it.
func (m *memMember) run(t testing.TB, op func(func(context.Context, LogEvent) error)) {
	t.Helper()
	done := make(chan struct{})
	select {
	case m.ops <- func(h func(context.Context, LogEvent) error) { op(h); close(done) }:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: Run not taking assignments", m.name)
	}
	<-done
}

// caughtUp reports whether m has handed out every record of what it holds.
func (m *memMember) caughtUp() bool {
	done := make(chan bool, 1)
	select {
	case m.ops <- func(func(context.Context, LogEvent) error) {
		m.l.mu.Lock()
		defer m.l.mu.Unlock()
		for p, o := range m.l.owner {
			if o == m && m.pos[p] < int64(len(m.l.parts[p])) {
				done <- false
				return
			}
		}
		done <- true
	}:
	case <-m.killed:
		return false
	}
	return <-done
}

// testClock is a settable clock for a Group's ticks, counting them.
type testClock struct {
	mu    sync.Mutex
	now   time.Time
	ticks int
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ticks++
	return c.now
}

func (c *testClock) Ticks() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ticks
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

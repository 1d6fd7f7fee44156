package merger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"pulse/event"
	"pulse/lograte"
	"pulse/metrics"
)

// DefaultCommitTimeout bounds one commit of offsets (GroupOptions).
const DefaultCommitTimeout = 10 * time.Second

// GroupOptions configure a Group. Zero values take the defaults; Log and
// Emit are required.
type GroupOptions struct {
	// Log is the partitioned log of fragments, consumed as one member of
	// a group (inputs/kafka in production).
	Log Log
	// Interval is how often snapshots are emitted and offsets committed.
	// Default 10s.
	Interval time.Duration
	// FinalizeAfter is how long after its end a window still takes
	// fragments, as in Options. Default 6m. A partition's committed offset
	// trails its newest records by about this much: what a new owner
	// replays.
	FinalizeAfter time.Duration
	// CommitTimeout bounds one commit. Default DefaultCommitTimeout.
	CommitTimeout time.Duration
	// Emit is where snapshot batches go, as in Options. Required.
	Emit event.Emit
	// Logger; default slog.Default().
	Logger *slog.Logger
}

func (o GroupOptions) withDefaults() (GroupOptions, error) {
	if o.Log == nil {
		return o, errors.New("merger: GroupOptions.Log is required")
	}
	if o.Emit == nil {
		return o, errors.New("merger: GroupOptions.Emit is required")
	}
	if o.Interval < 0 || o.FinalizeAfter < 0 || o.CommitTimeout < 0 {
		return o, fmt.Errorf("merger: negative duration: interval %v, finalize after %v, commit timeout %v", o.Interval, o.FinalizeAfter, o.CommitTimeout)
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.FinalizeAfter == 0 {
		o.FinalizeAfter = DefaultFinalizeAfter
	}
	if o.CommitTimeout == 0 {
		o.CommitTimeout = DefaultCommitTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// Group is a merger that is one member of a consumer group over a
// partitioned log of fragments: the log assigns it partitions, it merges
// each partition's fragments into a state of that partition's own, emits
// snapshots every Interval, and commits each partition only past the
// windows finalized and emitted. See the package doc, "Kafka".
//
// Run is called once; Stats is safe for concurrent use.
type Group struct {
	opts    GroupOptions
	log     *slog.Logger
	reqs    chan groupReq
	done    chan struct{} // closed when Run's loop has returned
	running atomic.Bool
	now     func() time.Time // the clock of ticks: time.Now, a test's own

	// Owned by Run's goroutine.
	parts   map[Partition]*groupPart
	snap    snapshotSender
	retired metrics.MergeStats // counters of partitions dropped
	snaps   []metrics.Snapshot
	commits []Commit

	statsMu sync.Mutex
	stats   groupState // as of Run's last change

	c       groupCounters
	failLog lograte.Limiter // commit and emission failures
	badLog  lograte.Limiter // records that are not fragments
}

// groupPart is what the Group holds of one assigned partition.
type groupPart struct {
	state     *metrics.Merger
	book      offsetBook
	end       int64 // the partition's end at the assignment
	replaying bool  // records below end not all merged yet: emit nothing
	claimed   time.Time
	replayed  uint64    // records merged while replaying
	committed committed // the last commit made (or found at the claim)
}

// committed is a partition's commit as far as the rule goes: the offset
// and the closed horizon.
type committed struct{ offset, closed int64 }

type groupReq struct {
	ctx  context.Context
	ev   LogEvent
	done chan error
}

// groupState is the part of Stats that Run's goroutine computes.
type groupState struct {
	merge                 metrics.MergeStats
	partitions, replaying int
}

type groupCounters struct {
	records, badRecords, stray atomic.Uint64
	assigned, revoked, lost    atomic.Uint64
	commits, commitErrors      atomic.Uint64
	snapshots, snapBatches     atomic.Uint64
	snapErrors, snapDropped    atomic.Uint64
}

// errGroupStopped answers a Log calling handle after Run has returned.
var errGroupStopped = errors.New("merger: group stopped")

// NewGroup returns a Group over opts.Log.
func NewGroup(opts GroupOptions) (*Group, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Group{
		opts:    opts,
		log:     opts.Logger.With("component", "merger"),
		reqs:    make(chan groupReq),
		done:    make(chan struct{}),
		parts:   make(map[Partition]*groupPart),
		now:     time.Now,
		failLog: lograte.Limiter{Every: 10 * time.Second},
		badLog:  lograte.Limiter{Every: 10 * time.Second},
	}
	g.snap = snapshotSender{emit: opts.Emit, log: g.log, failLog: &g.failLog,
		snapshots: &g.c.snapshots, batches: &g.c.snapBatches, errors: &g.c.snapErrors, dropped: &g.c.snapDropped}
	return g, nil
}

// Run consumes the Log until ctx ends and the Log has left the group: it
// merges records, emits snapshots and commits every Interval, and serves
// the Log's assignments and revocations. After ctx ends it emits no more
// snapshots, but still serves the Log, whose leaving revokes (and so
// commits) every partition. It returns the Log's error, if any.
func (g *Group) Run(ctx context.Context) error {
	if !g.running.CompareAndSwap(false, true) {
		return errors.New("merger: Run called twice")
	}
	defer close(g.done)
	logErr := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() { logErr <- g.opts.Log.Run(ctx, g.handle) })
	defer wg.Wait()

	tick := time.NewTicker(g.opts.Interval)
	defer tick.Stop()
	tickC, ctxDone := tick.C, ctx.Done()
	g.log.Info("merger group running", "interval", g.opts.Interval, "finalize_after", g.opts.FinalizeAfter)
	for {
		select {
		case err := <-logErr:
			g.dropAll()
			st := g.Stats()
			g.log.Info("merger group stopped", "records", st.Records, "merged", st.Merged, "duplicates", st.Duplicates,
				"too_late", st.TooLate, "snapshots", st.Snapshots, "commits", st.Commits)
			if err != nil {
				return fmt.Errorf("merger: log: %w", err)
			}
			return nil
		case req := <-g.reqs:
			req.done <- g.apply(req.ctx, req.ev)
		case <-tickC:
			if err := g.tick(ctx, g.now()); err != nil {
				// Only a ctx ended mid-emission gets here: the windows
				// whose snapshots were not committed stay open in the
				// books, so the commits below them are kept back and a
				// new owner emits them.
				g.log.Warn("merger group stopped with snapshots not emitted: the partitions' next owners emit them", "err", err)
				tickC = nil
			}
		case <-ctxDone:
			tickC, ctxDone = nil, nil
		}
	}
}

// handle is the Log's way in: it hands ev to Run's goroutine and waits
// until it is applied.
func (g *Group) handle(ctx context.Context, ev LogEvent) error {
	req := groupReq{ctx: ctx, ev: ev, done: make(chan error, 1)}
	select {
	case g.reqs <- req:
		return <-req.done
	case <-g.done:
		return errGroupStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// apply applies one change of the Log.
func (g *Group) apply(ctx context.Context, ev LogEvent) error {
	defer g.refreshStats()
	switch {
	case len(ev.Assigned) > 0:
		for _, c := range ev.Assigned {
			g.claim(c)
		}
	case len(ev.Records) > 0:
		g.merge(ev.Records)
	case len(ev.Revoked) > 0:
		// Commit first, by the rule, then forget: the next owner
		// replays from the commit and rebuilds what is dropped here.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.opts.CommitTimeout)
		err := g.commit(cctx, ev.Revoked)
		cancel()
		for _, p := range ev.Revoked {
			g.drop(p)
		}
		g.c.revoked.Add(uint64(len(ev.Revoked)))
		g.log.Info("merger partitions revoked: committed and dropped", "partitions", partitionList(ev.Revoked), "commit_err", err)
	case len(ev.Lost) > 0:
		for _, p := range ev.Lost {
			g.drop(p)
		}
		g.c.lost.Add(uint64(len(ev.Lost)))
		g.log.Warn("merger partitions lost (membership expired): dropped without committing", "partitions", partitionList(ev.Lost))
	}
	return nil
}

// claim starts the state of a newly assigned partition, empty: its
// records from c.Start on rebuild it.
func (g *Group) claim(c Claim) {
	closed, err := parseMeta(c.Meta)
	if err != nil {
		g.log.Warn("merger: committed metadata unreadable: replaying without a closed horizon", "partition", c.Partition, "err", err)
	}
	p := &groupPart{
		state:     metrics.NewMerger(metrics.MergeOptions{FinalizeAfter: g.opts.FinalizeAfter, Logger: g.opts.Logger}),
		book:      newOffsetBook(c.Start, closed),
		end:       c.End,
		replaying: c.Start < c.End,
		claimed:   time.Now(),
		committed: committed{offset: c.Start, closed: closed},
	}
	if closed != noHorizon {
		// Close the state's windows up to the horizon, as the previous
		// owner had: their fragments in the replay are too late.
		p.state.Snapshots(time.Unix(0, closed).Add(g.opts.FinalizeAfter), false)
	}
	if g.parts[c.Partition] != nil {
		g.drop(c.Partition) // assigned again without a revoke: start over
	}
	g.parts[c.Partition] = p
	g.c.assigned.Add(1)
	g.log.Info("merger partition assigned", "partition", c.Partition, "start", c.Start, "end", c.End,
		"replay", max(c.End-c.Start, 0), "closed_horizon", p.book.horizon())
}

// merge adds records to their partitions' states.
func (g *Group) merge(recs []Record) {
	var p *groupPart
	var at Partition
	for i := range recs {
		r := &recs[i]
		if p == nil || r.Partition != at {
			at, p = r.Partition, g.parts[r.Partition]
		}
		g.c.records.Add(1)
		if p == nil {
			g.c.stray.Add(1) // not ours (any more): its owner merges it
			continue
		}
		f, err := metrics.DecodeFragment(r.Value)
		if err != nil {
			g.c.badRecords.Add(1)
			p.book.skip(r.Offset)
			if ok, suppressed := g.badLog.Allow(time.Now()); ok {
				g.log.Error("merger: record is not a fragment: skipped", "partition", r.Partition, "offset", r.Offset, "err", err, "suppressed", suppressed)
			}
		} else {
			p.book.observe(r.Offset, f.Window)
			p.state.Add(f)
		}
		if p.replaying {
			p.replayed++
			if p.book.next >= p.end {
				p.replaying = false
				g.log.Info("merger partition replayed", "partition", r.Partition, "records", p.replayed, "took", time.Since(p.claimed))
			}
		}
	}
}

// tick emits the snapshots due at now of every partition not replaying,
// closes their windows finalized, and commits. It returns an error only if
// ctx ended before the snapshots were emitted.
func (g *Group) tick(ctx context.Context, now time.Time) error {
	defer g.refreshStats()
	g.snaps = g.snaps[:0]
	for _, p := range g.parts {
		if !p.replaying {
			g.snaps = append(g.snaps, p.state.Snapshots(now, false)...)
		}
	}
	if len(g.snaps) > 0 {
		if err := g.snap.send(ctx, now, g.snaps); err != nil {
			return err
		}
	}
	horizon := now.Add(-g.opts.FinalizeAfter).UnixNano()
	for _, p := range g.parts {
		if !p.replaying {
			p.book.close(horizon)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, g.opts.CommitTimeout)
	defer cancel()
	_ = g.commit(cctx, nil)
	return nil
}

// commit commits the partitions named (all held, if none) by the rule,
// skipping those whose offset and metadata are committed already.
func (g *Group) commit(ctx context.Context, only []Partition) error {
	g.commits = g.commits[:0]
	add := func(id Partition, p *groupPart) {
		off, ok := p.book.commitPoint()
		if !ok {
			return
		}
		if (committed{offset: off, closed: p.book.closed}) != p.committed {
			g.commits = append(g.commits, Commit{Partition: id, Offset: off, Meta: CommitMeta(p.book.closed)})
		}
	}
	if only == nil {
		for id, p := range g.parts {
			add(id, p)
		}
	} else {
		for _, id := range only {
			if p := g.parts[id]; p != nil {
				add(id, p)
			}
		}
	}
	if len(g.commits) == 0 {
		return nil
	}
	if err := g.opts.Log.Commit(ctx, g.commits); err != nil {
		g.c.commitErrors.Add(1)
		if ok, suppressed := g.failLog.Allow(time.Now()); ok {
			g.log.Warn("merger: commit failed; tried again at the next interval", "partitions", len(g.commits), "err", err, "suppressed", suppressed)
		}
		return err
	}
	g.c.commits.Add(1)
	for _, c := range g.commits {
		if p := g.parts[c.Partition]; p != nil {
			p.committed.offset = c.Offset
			p.committed.closed, _ = parseMeta(c.Meta)
		}
	}
	return nil
}

// drop forgets a partition's state, keeping its counters.
func (g *Group) drop(id Partition) {
	p := g.parts[id]
	if p == nil {
		return
	}
	st := p.state.Stats()
	g.retired.Merged += st.Merged
	g.retired.Duplicates += st.Duplicates
	g.retired.TooLate += st.TooLate
	g.retired.Rejected += st.Rejected
	delete(g.parts, id)
}

func (g *Group) dropAll() {
	for id := range g.parts {
		g.drop(id)
	}
	g.refreshStats()
}

// refreshStats sums the partitions' stats for Stats.
func (g *Group) refreshStats() {
	s := groupState{merge: g.retired, partitions: len(g.parts)}
	for _, p := range g.parts {
		st := p.state.Stats()
		s.merge.Merged += st.Merged
		s.merge.Duplicates += st.Duplicates
		s.merge.TooLate += st.TooLate
		s.merge.Rejected += st.Rejected
		s.merge.Windows += st.Windows
		s.merge.Keys += st.Keys
		if p.replaying {
			s.replaying++
		}
	}
	g.statsMu.Lock()
	g.stats = s
	g.statsMu.Unlock()
}

// partitionList formats partitions for a log line, sorted.
func partitionList(ps []Partition) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	slices.Sort(out)
	return out
}

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"pulse/event"
	"pulse/metrics"
)

// Router fans input batches out to every output's batcher. It is the
// inputs' Emit.
type Router struct {
	events    []*batcher          // outputs of the events stream
	fragments []*batcher          // outputs of the fragments stream
	batchers  []*batcher          // all
	outputs   []*output           // in configuration order
	derive    *deriver            // nil without metrics
	gate      fragmentGate        // commits waiting for their fragments
	checks    map[string]*checker // by input name
}

// CheckInput makes the router parse every event of input in format
// (logfmt, json, syslog, router), counting those that do not parse by
// reason. Events are forwarded unchanged either way. Call before Emit.
func (r *Router) CheckInput(input, format string, log *slog.Logger) error {
	switch format {
	case ParseNone:
		return nil
	case ParseLogfmt, ParseJSON, ParseSyslog, ParseRouter:
	default:
		return fmt.Errorf("input %s: unknown parse format %q", input, format)
	}
	if r.checks == nil {
		r.checks = map[string]*checker{}
	}
	r.checks[input] = newChecker(input, format, log)
	return nil
}

// ParseErrors returns, per input, the events that did not parse by reason.
func (r *Router) ParseErrors(input string) map[string]int64 {
	if c := r.checks[input]; c != nil {
		return c.counts()
	}
	return nil
}

// NewRouter validates the outputs and builds a router. host names this
// agent in encoded records. m, if not nil, turns events into fragments for
// the outputs of the fragments stream.
func NewRouter(host string, outs []OutputOptions, m *MetricsOptions) (*Router, error) {
	r := &Router{}
	if m != nil {
		d, err := newDeriver(*m)
		if err != nil {
			return nil, err
		}
		r.derive = d
	}
	shared := map[batchShape]*batcher{}
	for _, o := range outs {
		if err := o.Encoding.valid(); err != nil {
			return nil, fmt.Errorf("output %s: %w", o.Name, err)
		}
		if !o.Compression.Valid() || o.Compression != "" && o.Encoding != Pulse {
			return nil, fmt.Errorf("output %s: compression %q: want zstd, s2 or none, with the pulse encoding", o.Name, o.Compression)
		}
		if o.Sink == nil || o.MaxEvents < 1 || o.MaxBytes < 1 || o.MaxWait <= 0 {
			return nil, fmt.Errorf("output %s: sink and positive batch limits are required", o.Name)
		}
		switch o.Stream {
		case "", "events", "snapshots": // a merger emits its snapshots as records
		case "fragments":
			if o.Encoding != Pulse {
				return nil, fmt.Errorf("output %s: fragments travel in the pulse encoding", o.Name)
			}
		default:
			return nil, fmt.Errorf("output %s: unknown stream %q", o.Name, o.Stream)
		}
		out := &output{opts: o}
		r.outputs = append(r.outputs, out)
		shape := shapeOf(o)
		bt := shared[shape]
		if bt == nil {
			bt = newBatcher(o, host)
			shared[shape] = bt
			r.batchers = append(r.batchers, bt)
			if shape.events {
				r.events = append(r.events, bt)
			} else {
				r.fragments = append(r.fragments, bt)
			}
		}
		bt.outs = append(bt.outs, out)
	}
	return r, nil
}

// Emit adds a batch to every output. It returns after the events are in
// every output's open batch (stored, if b.Sync); b.Commit runs once they
// are all stored. ctx bounds the wait for a full buffer.
func (r *Router) Emit(ctx context.Context, b *event.Batch) error {
	if len(b.Events) == 0 {
		if b.Commit != nil {
			b.Commit()
		}
		return nil
	}
	if c := r.checks[b.Input]; c != nil {
		c.observe(b.Events, b.Time)
	}
	if r.derive != nil && b.Keys == nil {
		latest, observed := r.derive.observeAll(b.Events, b.Time)
		if observed && b.Replayable && b.Commit != nil {
			gated := *b
			gated.Commit = r.gate.hold(latest, b.Commit)
			b = &gated
		}
	}
	return r.emit(ctx, r.events, b)
}

// emit adds b to the batchers of one stream.
func (r *Router) emit(ctx context.Context, batchers []*batcher, b *event.Batch) error {
	c := &commit{fn: b.Commit}
	c.refs.Store(1) // Emit's own hold, so no output commits it half-way
	defer c.release()
	for i, bt := range batchers {
		if held, err := bt.add(ctx, b, c); err != nil {
			// Unless every output holds every event, the input must not
			// move past them, even once some outputs store them: it will
			// read them again.
			if !held || i < len(batchers)-1 {
				c.failed.Store(true)
			}
			return err
		}
	}
	return nil
}

// flushFragments hands the fragments of closed windows (all, if final) to
// the fragments outputs.
func (r *Router) flushFragments(ctx context.Context, now time.Time, final bool) error {
	if r.derive == nil {
		return nil
	}
	agg := r.derive.opts.Aggregator
	// Commits held before the flush have their observations in it.
	held := r.gate.snapshot()
	var frags []*metrics.Fragment
	var covered int64
	if final {
		frags, covered = agg.FlushAllCovered()
	} else {
		frags, covered = agg.FlushCovered(now)
	}
	b := &event.Batch{Input: "metrics", Source: "fragments", Time: now, Commit: r.gate.take(held, covered)}
	if len(frags) == 0 {
		if b.Commit != nil {
			b.Commit()
		}
		return nil
	}
	var buf []byte
	offs := make([]int, 0, len(frags)+1)
	for _, f := range frags {
		offs = append(offs, len(buf))
		buf = metrics.AppendFragment(buf, f)
		b.Keys = append(b.Keys, f.Key.Hash())
	}
	offs = append(offs, len(buf))
	for i := range frags {
		b.Events = append(b.Events, buf[offs[i]:offs[i+1]])
	}
	return r.emit(ctx, r.fragments, b)
}

// Run flushes batches that reach their max_wait, and fragments of closed
// windows, until ctx is done.
func (r *Router) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	if r.derive != nil {
		g.Go(func() error {
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case now := <-tick.C:
					// Fragments not stored stay lost for this window: the
					// aggregator has handed them over. Logged by outputs.
					_ = r.flushFragments(ctx, now, false)
				}
			}
		})
	}
	for _, bt := range r.batchers {
		g.Go(func() error {
			tick := time.NewTicker(max(bt.opts.MaxWait/4, time.Millisecond))
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case now := <-tick.C:
					// A failed Put leaves the batch open for the next try
					// or the final Flush.
					_ = bt.flushIfOlder(ctx, now)
				}
			}
		})
	}
	return g.Wait()
}

// Flush stores every open batch, and the fragments of every window,
// waiting for buffer space until ctx is done.
func (r *Router) Flush(ctx context.Context) error {
	var errs []error
	if err := r.flushFragments(ctx, time.Now(), true); err != nil {
		errs = append(errs, err)
	}
	for _, bt := range r.batchers {
		if err := bt.flush(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Stats returns per-output counters, in the order the outputs were given.
func (r *Router) Stats() []OutputStats {
	s := make([]OutputStats, len(r.outputs))
	for i, o := range r.outputs {
		s[i] = o.snapshot()
	}
	return s
}

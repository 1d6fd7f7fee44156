package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"pulse/inputs"
)

// Router fans input batches out to every output's batcher. It is the
// inputs' Emit.
type Router struct {
	batchers []*batcher
}

// NewRouter validates the outputs and builds a router. host names this
// agent in encoded records.
func NewRouter(host string, outs []OutputOptions) (*Router, error) {
	r := &Router{}
	for _, o := range outs {
		if err := o.Encoding.valid(); err != nil {
			return nil, fmt.Errorf("output %s: %w", o.Name, err)
		}
		if o.Sink == nil || o.MaxEvents < 1 || o.MaxBytes < 1 || o.MaxWait <= 0 {
			return nil, fmt.Errorf("output %s: sink and positive batch limits are required", o.Name)
		}
		r.batchers = append(r.batchers, newBatcher(o, host))
	}
	return r, nil
}

// Emit adds a batch to every output. It returns after the events are in
// every output's open batch (stored, if b.Sync); b.Commit runs once they
// are all stored. ctx bounds the wait for a full buffer.
func (r *Router) Emit(ctx context.Context, b *inputs.Batch) error {
	if len(b.Events) == 0 {
		if b.Commit != nil {
			b.Commit()
		}
		return nil
	}
	c := &commit{fn: b.Commit}
	c.refs.Store(1) // Emit's own hold, so no output commits it half-way
	defer c.release()
	for i, bt := range r.batchers {
		if held, err := bt.add(ctx, b, c); err != nil {
			// Unless every output holds every event, the input must not
			// move past them, even once some outputs store them: it will
			// read them again.
			if !held || i < len(r.batchers)-1 {
				c.failed.Store(true)
			}
			return fmt.Errorf("output %s: %w", bt.opts.Name, err)
		}
	}
	return nil
}

// Run flushes batches that reach their max_wait, until ctx is done.
func (r *Router) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
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

// Flush stores every open batch, waiting for buffer space until ctx is done.
func (r *Router) Flush(ctx context.Context) error {
	var errs []error
	for _, bt := range r.batchers {
		if err := bt.flush(ctx); err != nil {
			errs = append(errs, fmt.Errorf("output %s: %w", bt.opts.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Stats returns per-output counters, in the order the outputs were given.
func (r *Router) Stats() []OutputStats {
	s := make([]OutputStats, len(r.batchers))
	for i, bt := range r.batchers {
		s[i] = bt.snapshot()
	}
	return s
}

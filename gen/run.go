package gen

import (
	"context"
	"errors"
	"io"
	"time"
)

// Stats is what a run did.
type Stats struct {
	Events   int64         // lines generated and handed to the output
	Bytes    int64         // their bytes, without newlines or framing
	Requests int64         // HTTP requests made, retries included
	Retries  int64         // HTTP requests retried
	Elapsed  time.Duration // from the first event to the end of the last flush
}

// chunk bounds the events made between two looks at the clock, the
// context and the pacer.
const chunk = 4096

// Run generates lines to opts.Out at opts.Rate until opts.Count lines are
// made or opts.Duration has passed, whichever comes first, and flushes
// them. It reports progress to progress (nil: none), ending with the line
// "generated N events in D (R events/s)".
//
// When ctx ends, Run stops generating, still sends what it has made, and
// returns nil unless that fails. Over HTTP it retries each request until
// it is accepted or opts.Timeout has passed, and then returns an error:
// an event given up on is never silently lost.
func Run(ctx context.Context, opts Options, progress io.Writer) (Stats, error) {
	var st Stats
	opts, err := opts.runDefaults()
	if err != nil {
		return st, err
	}
	g, err := New(opts)
	if err != nil {
		return st, err
	}
	em, err := newEmitter(ctx, opts)
	if err != nil {
		return st, err
	}
	start := time.Now()
	var deadline time.Time
	if opts.Duration > 0 {
		deadline = start.Add(opts.Duration)
	}
	pace := newPacer(opts.Rate, start)
	pr := newProgress(progress, isTerminal(progress), opts.Count, opts.Duration, start)
	line := make([]byte, 0, 1024)

	runErr := func() error {
		for opts.Count == 0 || st.Events < opts.Count {
			now := time.Now()
			if !deadline.IsZero() && !now.Before(deadline) || ctx.Err() != nil {
				return nil
			}
			pr.update(now, st.Events)
			limit := int64(chunk)
			if opts.Count > 0 {
				limit = min(limit, opts.Count-st.Events)
			}
			n := pace.take(now, limit)
			if n == 0 {
				if err := em.idle(ctx); err != nil {
					return err
				}
				wait := pace.wait()
				if !deadline.IsZero() {
					wait = min(wait, deadline.Sub(now))
				}
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
				case <-t.C:
				}
				continue
			}
			for range n {
				var p parts
				line, p = g.next(line[:0])
				st.Events++
				st.Bytes += int64(len(line))
				if err := em.emit(ctx, line, p); err != nil {
					return err
				}
			}
		}
		return nil
	}()
	if runErr != nil && ctx.Err() != nil && errors.Is(runErr, ctx.Err()) {
		runErr = nil // cancelled mid-send: the batch is still there to flush
	}
	if runErr == nil {
		// Cancelled or not, what was made is sent.
		runErr = em.flush(context.WithoutCancel(ctx))
	}
	if err := em.close(); runErr == nil {
		runErr = err
	}
	st.Elapsed = time.Since(start)
	st.Requests, st.Retries = em.counts()
	pr.finish(st)
	return st, runErr
}

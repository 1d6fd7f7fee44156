package fanout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"pulse/buffer"
)

// Run reads the shared buffer into the window, spills for outputs that
// fall behind, and feeds each output's own buffer to its Source, until ctx
// is done (then it returns nil) or a buffer fails.
func (f *Fanout) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range f.srcs {
		g.Go(func() error { return s.readOwn(gctx) })
	}
	g.Go(func() error { return f.read(gctx) })
	err := g.Wait()
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, buffer.ErrClosed)) {
		return nil
	}
	return err
}

// read moves batches from the shared buffer into the window while it has
// room.
func (f *Fanout) read(ctx context.Context) error {
	for {
		if err := f.makeRoom(ctx); err != nil {
			return err
		}
		m, err := f.shared.Next(ctx)
		if err != nil {
			return err
		}
		if err := f.add(m); err != nil {
			return err
		}
	}
}

// add puts a batch read from the shared buffer in the window. A batch
// handed out again after a restart skips the outputs the ack record says
// were done with it.
func (f *Fanout) add(m buffer.Message) error {
	n := len(f.srcs)
	f.mu.Lock()
	e := &entry{m: m, at: time.Now(), state: make([]state, n), untaken: n, left: n, slot: f.acks.alloc()}
	if mask, ok := f.masks[m.ID]; ok && m.Replayed {
		delete(f.masks, m.ID)
		for i := range n {
			if mask&(1<<i) != 0 {
				e.state[i] = stateDone
				e.untaken--
				e.left--
				e.mask |= 1 << i
			}
		}
	}
	if e.left == 0 {
		f.mu.Unlock()
		return f.ackShared(e)
	}
	if e.mask != 0 {
		f.record(e) // in its new slot, for the next restart
	}
	f.window = append(f.window, e)
	f.byID[m.ID] = e
	f.waiting++
	f.notify()
	f.mu.Unlock()
	return nil
}

// spill is one batch to copy into one output's own buffer.
type spill struct {
	e *entry
	i int
}

// makeRoom returns once fewer than Window batches in the window wait for
// some output. Until then it spills: every batch waiting for an output
// behind, and any batch that waited Behind for an output (which is then
// behind).
func (f *Fanout) makeRoom(ctx context.Context) error {
	for {
		f.mu.Lock()
		if f.waiting < f.opts.Window {
			f.mu.Unlock()
			return nil
		}
		now := time.Now()
		var (
			spills []spill
			wake   time.Time
		)
		for _, e := range f.window {
			for i, st := range e.state {
				if st != statePending {
					continue
				}
				due := e.at.Add(f.opts.Behind)
				if f.behind[i] || !now.Before(due) {
					e.state[i] = stateSpilling
					spills = append(spills, spill{e, i})
				} else if wake.IsZero() || due.Before(wake) {
					wake = due
				}
			}
		}
		changed := f.changed
		f.mu.Unlock()
		if len(spills) > 0 {
			if err := f.spill(ctx, spills); err != nil {
				return err
			}
			continue
		}
		var (
			t       *time.Timer
			timeout <-chan time.Time
		)
		if !wake.IsZero() {
			t = time.NewTimer(wake.Sub(now))
			timeout = t.C
		}
		select {
		case <-changed:
		case <-timeout:
		case <-ctx.Done():
		}
		if t != nil {
			t.Stop()
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// spill copies each batch into its output's own buffer, under that
// buffer's cap and policy (a drop counts there), and marks the output done
// with it. On error the batches not copied wait again.
func (f *Fanout) spill(ctx context.Context, spills []spill) error {
	for k, s := range spills {
		err := f.opts.Own[s.i].PutKey(ctx, s.e.m.Key, s.e.m.Payload, s.e.m.Events)
		if err != nil {
			f.mu.Lock()
			for _, r := range spills[k:] {
				r.e.state[r.i] = statePending
			}
			f.mu.Unlock()
			return fmt.Errorf("fanout: spill batch %d to output %s: %w", s.e.m.ID, f.opts.Names[s.i], err)
		}
		f.mu.Lock()
		if !f.behind[s.i] {
			f.behind[s.i] = true
			f.log.Info("output fell behind: the batches it has not taken go to its own buffer until it catches up",
				"output", f.opts.Names[s.i], "waited", time.Since(s.e.at).Round(time.Millisecond))
		}
		f.spilled[s.i]++
		ack := f.done(s.e, s.i)
		f.mu.Unlock()
		if ack {
			if err := f.ackShared(s.e); err != nil {
				return err
			}
		}
	}
	return nil
}

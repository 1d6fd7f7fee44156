package merger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"pulse/event"
)

// Emission retries: a snapshot batch refused for a reason other than the
// end of Run's context is tried again after a pause that doubles up to
// maxRetryPause.
const (
	minRetryPause = 100 * time.Millisecond
	maxRetryPause = 5 * time.Second
)

// emitSnapshots takes the snapshots due at now and emits them. It returns
// an error only if ctx ended before they were emitted: the state then
// records them as sent while no output has them, so it must not be saved
// again.
//
// A snapshot may show fragments of batches not yet checkpointed: they are
// still in the buffer, so after a crash they are merged again and the
// snapshot comes again with the same values, or larger ones if more
// fragments arrived meanwhile.
func (m *Merger) emitSnapshots(ctx context.Context, now time.Time) error {
	snaps := m.state.Snapshots(now, false)
	if len(snaps) == 0 {
		return nil
	}
	m.dirty = true // changed flags cleared, windows finalized
	m.refreshStats()
	// Offsets first, slices once snapBuf has stopped growing.
	m.snapBuf, m.snapEnds = m.snapBuf[:0], m.snapEnds[:0]
	for i := range snaps {
		m.snapBuf = snaps[i].AppendJSON(m.snapBuf)
		m.snapEnds = append(m.snapEnds, len(m.snapBuf))
	}
	m.snapEvs = m.snapEvs[:0]
	start := 0
	for _, end := range m.snapEnds {
		m.snapEvs = append(m.snapEvs, m.snapBuf[start:end:end])
		start = end
	}
	b := &event.Batch{Input: "merger", Source: "snapshots", Time: now, Events: m.snapEvs, Sync: true}
	if err := m.emitRetrying(ctx, b); err != nil {
		return err
	}
	m.c.snapshots.Add(uint64(len(snaps)))
	m.c.snapBatches.Add(1)
	return nil
}

// emitRetrying emits b until it is committed or ctx ends. Emit returning
// nil is not enough: the batch is stored only once Commit runs. A batch
// refused for good (event.ErrRejected) is dropped and counted.
func (m *Merger) emitRetrying(ctx context.Context, b *event.Batch) error {
	pause := minRetryPause
	for {
		committed := make(chan struct{})
		var once sync.Once
		b.Commit = func() { once.Do(func() { close(committed) }) }
		err := m.opts.Emit(ctx, b)
		if err == nil {
			select {
			case <-committed:
				return nil
			case <-ctx.Done():
				return fmt.Errorf("merger: snapshots emitted, not committed: %w", ctx.Err())
			}
		}
		m.c.snapErrors.Add(1)
		if errors.Is(err, event.ErrRejected) {
			m.c.snapDropped.Add(uint64(len(b.Events)))
			m.log.Error("merger: snapshot batch rejected by the outputs: dropped", "snapshots", len(b.Events), "err", err)
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("merger: emit snapshots: %w", err)
		}
		if ok, suppressed := m.failLog.Allow(time.Now()); ok {
			m.log.Warn("merger: emit snapshots failed, retrying", "snapshots", len(b.Events), "err", err, "retry_in", pause, "suppressed", suppressed)
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("merger: emit snapshots: %w", errors.Join(err, ctx.Err()))
		}
		pause = min(2*pause, maxRetryPause)
	}
}

package merger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"pulse/event"
	"pulse/lograte"
	"pulse/metrics"
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
	return m.snap.send(ctx, now, snaps)
}

// snapshotSender encodes snapshots and emits them as one batch until the
// outputs commit it: the emission of a Merger and of a Group.
type snapshotSender struct {
	emit    event.Emit
	log     *slog.Logger
	failLog *lograte.Limiter

	snapshots, batches, errors, dropped *atomic.Uint64 // the owner's counters

	seq  uint64   // Seq of the last batch sent
	buf  []byte   // snapshot JSON, reused across intervals
	ends []int    // end of each snapshot in buf
	evs  [][]byte // events of the snapshot batch, into buf
}

// send emits snaps as one batch and counts them. It returns an error only
// if ctx ended before the outputs committed the batch.
func (s *snapshotSender) send(ctx context.Context, now time.Time, snaps []metrics.Snapshot) error {
	// One Seq per emission, above every earlier one of this process and,
	// being the wall clock in ns, of its runs before a restart: a store of
	// snapshots keeps, of a key and window, the one with the largest (a
	// restart emits a window again, never with fewer fragments in it).
	s.seq = max(s.seq+1, uint64(time.Now().UnixNano()))
	for i := range snaps {
		snaps[i].Seq = s.seq
	}
	// Offsets first, slices once buf has stopped growing.
	s.buf, s.ends = s.buf[:0], s.ends[:0]
	for i := range snaps {
		s.buf = snaps[i].AppendJSON(s.buf)
		s.ends = append(s.ends, len(s.buf))
	}
	s.evs = s.evs[:0]
	start := 0
	for _, end := range s.ends {
		s.evs = append(s.evs, s.buf[start:end:end])
		start = end
	}
	b := &event.Batch{Input: "merger", Source: "snapshots", Time: now, Events: s.evs, Sync: true}
	if err := s.emitRetrying(ctx, b); err != nil {
		return err
	}
	s.snapshots.Add(uint64(len(snaps)))
	s.batches.Add(1)
	return nil
}

// emitRetrying emits b until it is committed or ctx ends. Emit returning
// nil is not enough: the batch is stored only once Commit runs. A batch
// refused for good (event.ErrRejected) is dropped and counted.
func (s *snapshotSender) emitRetrying(ctx context.Context, b *event.Batch) error {
	pause := minRetryPause
	for {
		committed := make(chan struct{})
		var once sync.Once
		b.Commit = func() { once.Do(func() { close(committed) }) }
		err := s.emit(ctx, b)
		if err == nil {
			select {
			case <-committed:
				return nil
			case <-ctx.Done():
				// Both may be ready: an output that commits before Emit
				// returns races the end of ctx. A committed batch is
				// stored, so it counts as emitted.
				select {
				case <-committed:
					return nil
				default:
				}
				return fmt.Errorf("merger: snapshots emitted, not committed: %w", ctx.Err())
			}
		}
		s.errors.Add(1)
		if errors.Is(err, event.ErrRejected) {
			s.dropped.Add(uint64(len(b.Events)))
			s.log.Error("merger: snapshot batch rejected by the outputs: dropped", "snapshots", len(b.Events), "err", err)
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("merger: emit snapshots: %w", err)
		}
		if ok, suppressed := s.failLog.Allow(time.Now()); ok {
			s.log.Warn("merger: emit snapshots failed, retrying", "snapshots", len(b.Events), "err", err, "retry_in", pause, "suppressed", suppressed)
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

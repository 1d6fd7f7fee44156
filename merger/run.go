package merger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"pulse/buffer"
	"pulse/metrics"
	"pulse/protocol"
)

// Run merges the batches Emit stores, saves the merged state every
// CheckpointEvery and acknowledges the batches it covers, and emits
// snapshots every Interval. It returns nil when ctx ends, after a final
// checkpoint, and an error if the buffer fails. Run may be called once.
func (m *Merger) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("merger: Run called twice")
	}
	rctx, stop := context.WithCancel(ctx)
	msgs := make(chan buffer.Message)
	readErr := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() { readErr <- m.read(rctx, msgs) })
	defer wg.Wait()
	defer stop()

	ckTick := time.NewTicker(m.opts.CheckpointEvery)
	defer ckTick.Stop()
	snapTick := time.NewTicker(m.opts.Interval)
	defer snapTick.Stop()
	m.log.Info("merger running")
	for {
		select {
		case <-ctx.Done():
			return m.finish(nil)
		case err := <-readErr:
			return m.finish(err)
		case msg := <-msgs:
			m.merge(msg)
		case now := <-ckTick.C:
			// A large state takes long to save, and merging waits
			// meanwhile: space checkpoints out to keep that a fifth of
			// the time at most. More batches then share each one.
			if now.Sub(m.ckEnd) >= checkpointSpacing*m.ckDur {
				_ = m.checkpoint()
			}
		case now := <-snapTick.C:
			if err := m.emitSnapshots(ctx, now); err != nil {
				// The state records the snapshots as sent: saving it
				// would lose them. The last checkpoint predates them,
				// and the batches merged since are still in the buffer.
				m.log.Warn("merger stopped with snapshots not emitted: they are taken again after the restart", "err", err)
				return nil
			}
		}
	}
}

// checkpointSpacing is the least time between the end of a checkpoint and
// the start of the next, in multiples of the time the last one took.
const checkpointSpacing = 4

// read hands the buffer's batches to Run's loop until ctx ends. A batch
// taken from the buffer but never merged stays in flight there: the next
// New hands it out again.
func (m *Merger) read(ctx context.Context, msgs chan<- buffer.Message) error {
	for {
		msg, err := m.q.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		select {
		case msgs <- msg:
		case <-ctx.Done():
			return nil
		}
	}
}

// finish takes the final checkpoint as Run returns.
func (m *Merger) finish(readErr error) error {
	err := m.checkpoint()
	if readErr != nil {
		return fmt.Errorf("merger: read buffer: %w", errors.Join(readErr, err))
	}
	if err != nil {
		return err
	}
	st := m.state.Stats()
	m.log.Info("merger stopped", "merged", st.Merged, "duplicates", st.Duplicates, "too_late", st.TooLate,
		"windows", st.Windows, "keys", st.Keys)
	return nil
}

// merge adds every fragment of one batch to the state. The batch is
// acknowledged by the next checkpoint. A record that does not decode
// (Emit checked them all, so only a bug or a changed format gets here) is
// counted and skipped: it can never be merged.
func (m *Merger) merge(msg buffer.Message) {
	err := protocol.Each(msg.Payload, protocol.Limits{}, func(rec []byte) error {
		f, err := metrics.DecodeFragment(rec)
		if err != nil {
			m.badRecord(msg.ID, err)
			return nil
		}
		m.state.Add(f)
		return nil
	})
	if err != nil {
		m.badRecord(msg.ID, err)
	}
	m.unacked = append(m.unacked, msg.ID)
	m.c.unacked.Store(int64(len(m.unacked)))
	m.c.merged.Add(1)
	m.dirty = true
	m.refreshStats()
}

// refreshStats copies the state's stats for Stats, which must not wait
// for a checkpoint holding the state.
func (m *Merger) refreshStats() {
	st := m.state.Stats()
	m.stateMu.Lock()
	m.stateStats = st
	m.stateMu.Unlock()
}

func (m *Merger) badRecord(batch uint64, err error) {
	m.c.badRecords.Add(1)
	if ok, suppressed := m.badLog.Allow(time.Now()); ok {
		m.log.Error("merger: record in the buffer is not a fragment: skipped", "batch", batch, "err", err, "suppressed", suppressed)
	}
}

// checkpoint saves the state if it changed, then acknowledges the batches
// merged into it. If the save fails they stay unacknowledged, to be tried
// again at the next checkpoint; meanwhile the buffer fills and pushes back.
func (m *Merger) checkpoint() error {
	if !m.dirty {
		return nil
	}
	start := time.Now()
	size, err := saveState(m.statePath, m.state)
	if err != nil {
		m.c.ckErrors.Add(1)
		if ok, suppressed := m.failLog.Allow(time.Now()); ok {
			m.log.Error("merger: checkpoint failed; its batches stay in the buffer", "err", err, "unacked", len(m.unacked), "suppressed", suppressed)
		}
		return err
	}
	m.dirty = false
	m.ckEnd = time.Now()
	m.ckDur = m.ckEnd.Sub(start)
	m.c.checkpoints.Add(1)
	m.c.ckBytes.Store(size)
	m.c.ckNanos.Store(int64(m.ckDur))
	m.c.ckTime.Store(m.ckEnd.UnixNano())
	for _, id := range m.unacked {
		// Not fatal: the batch comes again after a restart, and its
		// fragments are then found in the checkpoint's seen sets.
		if err := m.q.Ack(id); err != nil {
			if ok, suppressed := m.failLog.Allow(time.Now()); ok {
				m.log.Warn("merger: ack of a checkpointed batch failed", "batch", id, "err", err, "suppressed", suppressed)
			}
		}
	}
	m.unacked = m.unacked[:0]
	m.c.unacked.Store(0)
	return nil
}

package merger

import (
	"time"

	"pulse/buffer"
)

// Stats are a Merger's counters and sizes. Merged, Duplicates, TooLate,
// Invalid, Windows, Keys and Agents describe the merged state and, like
// it, survive restarts (they are as of the last checkpoint after one); the
// other counters count since New.
type Stats struct {
	Batches   uint64 // batches accepted by Emit: stored in the buffer and committed
	Fragments uint64 // fragments in those batches
	Rejected  uint64 // batches refused by Emit: a record not a fragment, or too large

	BatchesMerged uint64 // batches taken from the buffer and merged (replays after a restart included)
	BadRecords    uint64 // records in the buffer that did not decode: skipped
	Unacked       int    // batches merged, waiting for the next checkpoint to be acknowledged

	Merged     uint64 // fragments merged into the state
	Duplicates uint64 // fragments ignored: merged before (a retry, or a replay after a crash)
	TooLate    uint64 // fragments for windows already finalized
	Invalid    uint64 // fragments the state could not merge
	Windows    int    // windows held
	Keys       int    // key and window pairs held
	Agents     int    // distinct agents ever seen

	Checkpoints        uint64        // checkpoints saved
	CheckpointErrors   uint64        // checkpoints that failed (their batches stayed unacknowledged)
	LastCheckpoint     time.Time     // when the last one was saved; zero if none since New
	CheckpointBytes    int64         // size of the last one
	CheckpointDuration time.Duration // time the last one took, fsyncs included

	Snapshots        uint64 // snapshots emitted and committed
	SnapshotBatches  uint64 // batches of them
	SnapshotErrors   uint64 // failed emissions (retried, unless rejected)
	SnapshotsDropped uint64 // snapshots of batches the outputs rejected for good

	Buffer buffer.Stats // the buffer of accepted batches
}

// Stats returns the current counters. It is safe to call concurrently with
// everything else, and does not wait for a checkpoint being written.
func (m *Merger) Stats() Stats {
	m.stateMu.Lock()
	st := m.stateStats
	m.stateMu.Unlock()
	s := Stats{
		Batches:            m.c.batches.Load(),
		Fragments:          m.c.fragments.Load(),
		Rejected:           m.c.rejected.Load(),
		BatchesMerged:      m.c.merged.Load(),
		BadRecords:         m.c.badRecords.Load(),
		Unacked:            int(m.c.unacked.Load()),
		Merged:             st.Merged,
		Duplicates:         st.Duplicates,
		TooLate:            st.TooLate,
		Invalid:            st.Rejected,
		Windows:            st.Windows,
		Keys:               st.Keys,
		Agents:             st.Agents,
		Checkpoints:        m.c.checkpoints.Load(),
		CheckpointErrors:   m.c.ckErrors.Load(),
		CheckpointBytes:    m.c.ckBytes.Load(),
		CheckpointDuration: time.Duration(m.c.ckNanos.Load()),
		Snapshots:          m.c.snapshots.Load(),
		SnapshotBatches:    m.c.snapBatches.Load(),
		SnapshotErrors:     m.c.snapErrors.Load(),
		SnapshotsDropped:   m.c.snapDropped.Load(),
		Buffer:             m.q.Stats(),
	}
	if ns := m.c.ckTime.Load(); ns != 0 {
		s.LastCheckpoint = time.Unix(0, ns)
	}
	return s
}

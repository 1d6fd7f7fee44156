package merger

// GroupStats are a Group's counters and sizes. The merge counters (Merged,
// Duplicates, TooLate, Invalid) add up every partition held since Run
// started, those since dropped included; Windows and Keys are of the
// partitions held now.
type GroupStats struct {
	Partitions int // partitions held
	Replaying  int // of them, still merging the records below their end at the assignment

	Assigned, Revoked, Lost uint64 // partitions, since Run started

	Records      uint64 // records received
	BadRecords   uint64 // records that are not fragments: skipped
	StrayRecords uint64 // records of partitions not held: ignored

	Merged     uint64 // fragments merged
	Duplicates uint64 // fragments ignored: merged before (a replay)
	TooLate    uint64 // fragments for windows already finalized
	Invalid    uint64 // fragments the state could not merge
	Windows    int    // window and partition pairs held
	Keys       int    // key and window pairs held

	Snapshots        uint64 // snapshots emitted and committed
	SnapshotBatches  uint64 // batches of them
	SnapshotErrors   uint64 // failed emissions (retried, unless rejected)
	SnapshotsDropped uint64 // snapshots of batches the outputs rejected for good

	Commits      uint64 // offset commits that succeeded (each of one or more partitions)
	CommitErrors uint64 // that failed (tried again at the next interval)
}

// Stats returns the current counters; safe to call concurrently with Run.
func (g *Group) Stats() GroupStats {
	g.statsMu.Lock()
	s := g.stats
	g.statsMu.Unlock()
	return GroupStats{
		Partitions:       s.partitions,
		Replaying:        s.replaying,
		Assigned:         g.c.assigned.Load(),
		Revoked:          g.c.revoked.Load(),
		Lost:             g.c.lost.Load(),
		Records:          g.c.records.Load(),
		BadRecords:       g.c.badRecords.Load(),
		StrayRecords:     g.c.stray.Load(),
		Merged:           s.merge.Merged,
		Duplicates:       s.merge.Duplicates,
		TooLate:          s.merge.TooLate,
		Invalid:          s.merge.Rejected,
		Windows:          s.merge.Windows,
		Keys:             s.merge.Keys,
		Snapshots:        g.c.snapshots.Load(),
		SnapshotBatches:  g.c.snapBatches.Load(),
		SnapshotErrors:   g.c.snapErrors.Load(),
		SnapshotsDropped: g.c.snapDropped.Load(),
		Commits:          g.c.commits.Load(),
		CommitErrors:     g.c.commitErrors.Load(),
	}
}

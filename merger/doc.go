// Package merger is the merge stage of a merger process: it receives
// fragments (partial metric roll-ups) from many agents, merges them
// exactly, independently of order and idempotently, and every Interval
// emits snapshots, one JSON object per key and window.
//
// # Data flow
//
// The inputs' Emit is Merger.Emit: it checks that every record decodes as
// a fragment (a batch with one that does not is refused whole, with an
// error wrapping event.ErrRejected, so that the HTTP input answers 400),
// stores the batch in the stage's own crash-safe buffer (one Put per
// batch) and commits it: a sender's 200 means "durably accepted".
//
// Run takes batches from the buffer, Adds their fragments into an
// in-memory metrics.Merger, and every CheckpointEvery, if it changed, saves
// the whole merged state (Dir/state.bin: tmp file, fsync, rename, fsync of
// Dir) and only then acknowledges the batches merged since the previous
// checkpoint. Every
// Interval it emits the snapshots of the keys changed since the last ones,
// and those of windows older than FinalizeAfter, marked final.
//
// # Crashes
//
// After kill -9 the state is loaded from the last checkpoint and the buffer
// hands out again every batch not acknowledged. Fragments of those batches
// that the checkpoint covers are ignored (the merger remembers every
// fragment id per key and window), the others are merged: nothing
// acknowledged to a sender is lost, nothing is counted twice.
//
// An emitted snapshot never shows a value a restart could take back: what
// it shows is checkpointed, or in batches still in the buffer, merged again
// after a crash. A snapshot emitted before a crash may be emitted again
// after it, with the same values, or larger ones if more fragments arrived
// (a window's final snapshot included: fragments that came too late for it
// before the crash may make it after the restart). Consumers keep the
// latest snapshot of a key and window. If snapshots cannot be emitted
// before Run's context ends, Run skips its final checkpoint, which would
// record them as sent: the restart takes them again.
//
// Checkpoints save the whole state, and merging waits meanwhile: with a
// large state, Run spaces them out to at least four times the last one's
// duration, so that more batches share each.
//
// # Kafka: a consumer group of mergers
//
// With a Kafka bus, agents produce one record per fragment to a topic,
// keyed by metric key, so that a key's fragments share a partition, and
// the mergers are one consumer group over it: a Group per process over a
// Log (inputs/kafka.MergerLog). Kafka assigns the partitions, so a merger
// that joins takes some over and a dead one's move whole to the others: a
// key, and so a key's window, is only ever merged by the one member
// holding its partition.
//
// Group keeps one merged state per partition. It commits a partition by
// the seed pipeline's rule (kafka_offsets.go): the first offset of each
// window still open is remembered, and the commit is that of the oldest
// one, or with none open the offset after the last record — only after
// the snapshots finalizing the windows below it were committed by the
// outputs. With the offset goes a closed horizon (CommitMeta): windows
// ending by it were finalized and emitted. A window's first records can
// lie below the commit while its last lie above it; a new owner, told the
// horizon, takes those last ones as too late instead of finalizing a part
// of a window over the whole one that was emitted.
//
// A newly assigned partition starts empty and replays from its committed
// offset; fragment ids make the replay of what was merged before harmless.
// Until it has merged the records below the partition's end at the
// assignment, nothing of it is emitted — not even a window due, whose
// final snapshot would show part of it. On a revoke (a rebalance, or
// leaving the group at shutdown) the Group commits the partition by the
// rule, then drops its state, before the Log lets it go: from then on it
// emits nothing of the partition's keys, so two members never emit
// competing snapshots of a window. A lost partition (the session
// expired) is dropped without a commit: its next owner replays more.
//
// No local checkpoint and no buffer in this mode: Kafka is the log. The
// state of a partition is rebuilt by replay from its commit, which trails
// its newest records by about FinalizeAfter plus Interval: a restart or a
// move costs that replay (fragments are roll-ups: a few per key, window
// and agent). A checkpoint would save it at the price of a second source
// of truth to keep consistent with the commits, and of dropping what it
// holds for partitions not assigned back — and state a member keeps for
// partitions it may no longer own is exactly what must not be emitted.
//
// What survives what: a merger killed -9 loses nothing acknowledged (its
// uncommitted records are replayed by the partitions' next owners, after
// the group's session timeout); windows it finalized but had not yet
// committed are finalized again by the next owner, with the same values
// or more (a fragment that came too late for the first may make the
// second). Consumers keep the latest snapshot of a key and window (Seq).
// "Emitted" means stored in every output's buffer, as for the buffered
// Merger: a merger killed and never started again loses what its buffers
// had not delivered yet, and windows of it already committed are not
// emitted again; one started again delivers it late — on a compacted
// snapshots topic such a late record can land after a newer one of its key
// and window, and compaction keeps the last written, so a consumer of the
// topic should still prefer the larger Seq.
// The fragments topic must not be written transactionally: the replay
// gate waits for a record at the partition's end less one, which a
// transaction marker there would leave unreached (the kafka output's
// idempotent producer writes none).
//
// # Files in Dir (the buffered Merger)
//
//	state.bin      the last checkpoint (metrics.Merger.Save)
//	state.bin.tmp  a checkpoint being written (removed at New)
//	buffer/        the buffer of accepted batches, named "fragments"
package merger

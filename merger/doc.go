// Package merger is the merge stage of a merger process: it receives
// fragments (partial metric roll-ups) from many agents, merges them
// exactly, independently of order and idempotently, and every Interval
// emits snapshots, one JSON object per key and window.
//
// # Data flow
//
// The inputs' Emit is Merger.Emit: it checks that every record decodes as
// a fragment (a batch with one that does not is refused whole, with an
// error wrapping inputs.ErrRejected, so that the HTTP input answers 400),
// stores the batch in the stage's own crash-safe buffer (one Put per
// batch) and commits it: a sender's 200 means "durably accepted".
//
// Run takes batches from the buffer, Adds their fragments into an in-memory
// metrics.Merger, and every CheckpointEvery saves the whole merged state
// (Dir/state.bin: tmp file, fsync, rename, fsync of Dir) and only then
// acknowledges the batches merged since the previous checkpoint. Every
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
// Snapshots are taken right after a checkpoint, so an emitted snapshot
// never shows a value a later restart could take back. A snapshot emitted
// before a crash may be emitted again after it, with the same or larger
// values (the checkpoint taken after the emission, which records it as
// sent, may not have happened): consumers keep the latest snapshot of a key
// and window. If the snapshots cannot be emitted before Run's context ends,
// Run skips its final checkpoint, so that they are taken again after the
// restart.
//
// # Files in Dir
//
//	state.bin      the last checkpoint (metrics.Merger.Save)
//	state.bin.tmp  a checkpoint being written (removed at New)
//	buffer/        the buffer of accepted batches, named "fragments"
package merger

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
// # Files in Dir
//
//	state.bin      the last checkpoint (metrics.Merger.Save)
//	state.bin.tmp  a checkpoint being written (removed at New)
//	buffer/        the buffer of accepted batches, named "fragments"
package merger

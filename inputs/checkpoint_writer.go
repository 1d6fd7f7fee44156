package inputs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"pulse/lograte"
)

// checkpointRetry is how long the writer waits after a failed write before
// trying again.
const checkpointRetry = time.Second

// checkpointWriter persists checkpoints when they changed.
type checkpointWriter struct {
	path    string
	ckpt    *checkpoints
	log     *slog.Logger
	failLog lograte.Limiter
	// store persists recs (see storeCheckpoints): storeCheckpoints, unless
	// a test watches the writes.
	store func(path string, recs []checkpointRecord, sync bool) error

	mu      sync.Mutex // serializes writes: Run's loop and WriteCheckpoint
	written uint64     // version last written to path; versions start above 0
	synced  uint64     // version last written to the synced copy
}

// loop writes the checkpoints whenever they change, until ctx is done: one
// write at a time, the next as soon as the previous one is done and at
// least gap after it started, so that commits arriving during a write are
// coalesced into the next one. A kill -9 then reads again only what was
// committed since the last write began: the batches stored in the last
// few milliseconds, instead of those of a whole interval. These writes
// are not fsynced (an fsync waits for the disk, seconds under a heavy
// write load, and what it protects against, a power loss, takes the
// buffers' unsynced writes too); every syncEvery the synced copy, which a
// restart falls back to after a power loss, is written with fsyncs.
//
// A failed write is logged and retried after checkpointRetry: reading goes
// on, and a crash meanwhile only means more lines read twice.
func (w *checkpointWriter) loop(ctx context.Context, gap, syncEvery time.Duration) {
	tick := time.NewTicker(syncEvery)
	defer tick.Stop()
	var last time.Time
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			err = w.write(true) // the next tick retries a failure
		case <-w.ckpt.changed:
			if wait := gap - time.Since(last); wait > 0 && !sleepCtx(ctx, wait) {
				return
			}
			last = time.Now()
			err = w.write(false)
		}
		if err == nil {
			continue
		}
		if ok, suppressed := w.failLog.Allow(time.Now()); ok {
			w.log.Error("writing checkpoints failed; retrying", "err", err, "retry_in", checkpointRetry, "suppressed", suppressed)
		}
		if !sleepCtx(ctx, checkpointRetry) {
			return
		}
		w.ckpt.wake() // retry the write to path without waiting for a change
	}
}

// write persists the checkpoints, to path or with sync to its synced
// copy, if they changed since the last such write.
func (w *checkpointWriter) write(sync bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	recs, version := w.ckpt.snapshot()
	last := &w.written
	if sync {
		last = &w.synced
	}
	if version == *last {
		return nil
	}
	store := w.store
	if store == nil {
		store = storeCheckpoints
	}
	if err := store(w.path, recs, sync); err != nil {
		return err
	}
	*last = version
	return nil
}

// flush writes the checkpoints to path and to its synced copy, if they
// changed: the final write, which a clean stop leaves durable.
func (w *checkpointWriter) flush() error {
	return errors.Join(w.write(false), w.write(true))
}

// sleepCtx waits d, or until ctx is done; it reports whether d elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

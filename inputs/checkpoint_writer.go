package inputs

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// checkpointWriter persists checkpoints when they changed.
type checkpointWriter struct {
	path string
	ckpt *checkpoints
	log  *slog.Logger

	mu      sync.Mutex // serializes writes: Run's loop and WriteCheckpoint
	written uint64     // version last written; versions start above 0
}

// loop writes the checkpoints every interval until ctx is done. A failed
// write is logged and retried at the next tick: reading goes on, and a
// crash meanwhile only means more lines read twice.
func (w *checkpointWriter) loop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := w.write(); err != nil {
				w.log.Error("writing checkpoints failed", "err", err)
			}
		}
	}
}

// write persists the checkpoints if they changed since the last write.
func (w *checkpointWriter) write() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	recs, version := w.ckpt.snapshot()
	if version == w.written {
		return nil
	}
	if err := storeCheckpoints(w.path, recs); err != nil {
		return err
	}
	w.written = version
	return nil
}

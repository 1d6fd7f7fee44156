package merger

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"pulse/durable"
	"pulse/metrics"
)

// stateFile is the checkpoint's name in Options.Dir.
const stateFile = "state.bin"

// loadState returns the merger saved at path, or a new one if there is
// none yet. A checkpoint that does not load is an error, not a fresh
// start: starting empty would silently drop everything it had merged and
// acknowledged. Errors then wrap metrics.ErrBadState.
func loadState(path string, opts metrics.MergeOptions) (m *metrics.Merger, found bool, err error) {
	// A tmp file is a checkpoint interrupted before its rename: the
	// previous checkpoint stands.
	if err := os.Remove(durable.TmpPath(path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("merger: remove stale checkpoint: %w", err)
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return metrics.NewMerger(opts), false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("merger: open checkpoint: %w", err)
	}
	defer f.Close()
	m, err = metrics.LoadMerger(bufio.NewReaderSize(f, 1<<20), opts)
	if err != nil {
		return nil, false, fmt.Errorf("merger: checkpoint %s (move it aside to start empty, losing what it holds): %w", path, err)
	}
	return m, true, nil
}

// saveState replaces the checkpoint at path with m's state, atomically and
// durably: a tmp file, fsynced, renamed over path, the directory fsynced. It
// returns the checkpoint's size.
func saveState(path string, m *metrics.Merger) (size int64, err error) {
	// durable.Sync: batches merged into the state are acknowledged to their
	// agents, which will not send them again; a checkpoint a power loss took
	// would lose them. Checkpoints are periodic, the fsyncs off the hot path.
	f, err := durable.Writer{Policy: durable.Sync, Perm: 0o640}.Create(path)
	if err != nil {
		return 0, fmt.Errorf("merger: checkpoint: %w", err)
	}
	defer f.Abort()
	cw := &countingWriter{w: f}
	if err := m.Save(cw); err != nil {
		return 0, fmt.Errorf("merger: checkpoint %s: %w", path, err)
	}
	if err := f.Commit(); err != nil {
		return 0, fmt.Errorf("merger: checkpoint: %w", err)
	}
	return cw.n, nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

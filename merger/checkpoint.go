package merger

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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
	if err := os.Remove(path + ".tmp"); err != nil && !errors.Is(err, fs.ErrNotExist) {
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
// durably: write a tmp file, fsync it, rename it over path, fsync the
// directory. It returns the checkpoint's size.
func saveState(path string, m *metrics.Merger) (size int64, err error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return 0, fmt.Errorf("merger: checkpoint: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	cw := &countingWriter{w: f}
	err = m.Save(cw)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		return 0, fmt.Errorf("merger: checkpoint: %w", err)
	}
	return cw.n, nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w *os.File
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

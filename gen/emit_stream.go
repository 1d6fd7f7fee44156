package gen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
)

// streamEmitter writes lines, each ending in '\n', to stdout or a file.
type streamEmitter struct {
	w    *bufio.Writer
	file *os.File // closed at the end; nil for stdout
}

func newStreamEmitter(w io.Writer, file *os.File) *streamEmitter {
	return &streamEmitter{w: bufio.NewWriterSize(w, 256<<10), file: file}
}

func (e *streamEmitter) emit(_ context.Context, line []byte, _ parts) error {
	e.w.Write(line) // a write error sticks in the bufio.Writer: reported by Flush
	if err := e.w.WriteByte('\n'); err != nil {
		return fmt.Errorf("gen: write: %w", err)
	}
	return nil
}

func (e *streamEmitter) idle(ctx context.Context) error { return e.flush(ctx) }

func (e *streamEmitter) flush(context.Context) error {
	if err := e.w.Flush(); err != nil {
		return fmt.Errorf("gen: write: %w", err)
	}
	return nil
}

func (e *streamEmitter) close() error {
	if e.file == nil {
		return nil
	}
	if err := e.file.Close(); err != nil {
		return fmt.Errorf("gen: close: %w", err)
	}
	return nil
}

func (e *streamEmitter) counts() (int64, int64) { return 0, 0 }

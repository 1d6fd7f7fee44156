package outputs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"pulse/lograte"

	"github.com/cenkalti/backoff/v4"
)

// FileOptions configures a file output. Zero values take the defaults
// documented on each field.
type FileOptions struct {
	Name         string       // output name, for logs; default "file"
	Dir          string       // directory of rotated files; required
	MaxFileBytes int64        // rotate when the current file would exceed this; default DefaultFileMaxBytes
	MaxFiles     int          // keep at most this many files, removing the oldest; 0 keeps all
	Logger       *slog.Logger // default slog.Default()
}

// FileStats counts what a file output did since it was created.
type FileStats struct {
	Batches int64 // batches written and acknowledged
	Events  int64 // events in those batches
	Bytes   int64 // bytes written, with the newlines added
	Files   int64 // files created
}

// File is an output that appends payloads, one event per line, to rotated
// files Dir/events-NNNNNN.log. A batch is acknowledged once write(2) has
// returned: that survives kill -9; files are synced when they are rotated
// and when Run ends.
type File struct {
	opts    FileOptions
	log     *slog.Logger
	running atomic.Bool
	errLog  lograte.Limiter

	batches, events, bytes, files atomic.Int64
}

// DefaultFileMaxBytes is FileOptions.MaxFileBytes when it is zero.
const DefaultFileMaxBytes = 64 << 20

// Retry of failed writes (a full disk, say): from fileRetryInitial up to
// fileRetryMax between attempts, forever.
const (
	fileRetryInitial = 100 * time.Millisecond
	fileRetryMax     = 10 * time.Second
)

// NewFile returns a file output. The directory is created by Run.
func NewFile(opts FileOptions) (*File, error) {
	if opts.Name == "" {
		opts.Name = "file"
	}
	if opts.Dir == "" {
		return nil, fmt.Errorf("file output %q: no directory", opts.Name)
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultFileMaxBytes
	}
	if opts.MaxFiles < 0 {
		opts.MaxFiles = 0
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &File{
		opts:   opts,
		log:    opts.Logger.With("output", opts.Name),
		errLog: lograte.Limiter{Every: logEvery},
	}, nil
}

// Stats returns the output's counters.
func (f *File) Stats() FileStats {
	return FileStats{
		Batches: f.batches.Load(),
		Events:  f.events.Load(),
		Bytes:   f.bytes.Load(),
		Files:   f.files.Load(),
	}
}

// Run writes batches from src until ctx is done, then syncs and closes the
// current file and returns nil. A failed write is retried with backoff; the
// batch is never skipped. Run returns an error if the directory cannot be
// read, src fails, or the last file cannot be synced. Run must not be called
// concurrently.
func (f *File) Run(ctx context.Context, src Source) (err error) {
	if !f.running.CompareAndSwap(false, true) {
		return fmt.Errorf("file output %q: already running", f.opts.Name)
	}
	defer f.running.Store(false)

	w, err := openRotatingFile(f.opts.Dir, f.opts.MaxFileBytes, f.opts.MaxFiles, f.log)
	if err != nil {
		return fmt.Errorf("file output %q: %w", f.opts.Name, err)
	}
	dir, aerr := filepath.Abs(f.opts.Dir)
	if aerr != nil {
		dir = f.opts.Dir
	}
	f.log.Info("file output writing", "dir", dir, "files", "events-NNNNNN.log", "max_file_bytes", f.opts.MaxFileBytes, "max_files", f.opts.MaxFiles)
	defer func() {
		if cerr := w.closeCurrent(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("file output %q: %w", f.opts.Name, cerr))
		}
	}()

	for {
		b, err := src.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("file output %q: next batch: %w", f.opts.Name, err)
		}
		if !f.write(ctx, w, b) {
			return nil // ctx done; the batch stays in src
		}
		if err := src.Ack(b.ID); err != nil {
			return fmt.Errorf("file output %q: ack batch %d: %w", f.opts.Name, b.ID, err)
		}
	}
}

// write writes b, retrying with backoff until it succeeds (true) or ctx is
// done (false).
func (f *File) write(ctx context.Context, w *rotatingFile, b Batch) bool {
	var bo *backoff.ExponentialBackOff
	for {
		n, created, err := w.write(b.Payload)
		if created {
			f.files.Add(1)
		}
		if err == nil {
			f.batches.Add(1)
			f.events.Add(int64(b.Events))
			f.bytes.Add(n)
			return true
		}
		if ok, suppressed := f.errLog.Allow(time.Now()); ok {
			f.log.Error("write failed, will retry", "batch", b.ID, "err", err, "suppressed", suppressed)
		}
		if bo == nil {
			bo = backoff.NewExponentialBackOff(
				backoff.WithInitialInterval(fileRetryInitial),
				backoff.WithMaxInterval(fileRetryMax),
				backoff.WithMaxElapsedTime(0),
			)
		}
		if !sleep(ctx, bo.NextBackOff()) {
			return false
		}
	}
}

package inputs

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"pulse/event"
	"pulse/lograte"
)

// Where a File input starts in files it finds at its very first start.
const (
	StartAtBeginning = "beginning"
	StartAtEnd       = "end"
)

// FileOptions configure a File input.
type FileOptions struct {
	Name  string   // input name (goes into event.Batch.Input); default "file"
	Paths []string // glob patterns (filepath.Glob syntax)

	// StartAt is where to start in files that have no checkpoint and exist
	// at the first start, the one without a checkpoint file:
	// "beginning" (default) or "end". Files appearing later, and files
	// found at a restart without an entry in the checkpoint file (created
	// while the agent was down), are always read from the beginning.
	StartAt string

	MaxLineBytes int           // longer lines are cut to this length and the rest skipped; default 64 KiB
	BatchEvents  int           // max events per emitted batch; default 4096
	BatchBytes   int           // max event bytes per emitted batch, and read buffer size; default 1 MiB
	PollInterval time.Duration // how often files at their end are checked for growth; default 200ms

	// GlobInterval is how often the globs are evaluated for new files;
	// default 1s. A file no glob matches any more (renamed by a rotation,
	// deleted) is read to its end and dropped once it has been at its end
	// for a poll and at least GlobInterval has passed since it left: time
	// for its writer to reopen the new file.
	GlobInterval time.Duration

	// CheckpointFile is where committed offsets are persisted (JSON,
	// replaced atomically; CheckpointFile+".synced" is its fsynced copy).
	// Required.
	CheckpointFile string
	// CheckpointEvery is the least time between the starts of two writes
	// of the checkpoint file. The file is written as soon as batches are
	// committed, one write at a time, commits arriving during a write going
	// into the next (so a kill -9 re-reads only what was committed in the
	// last moments); this bounds how often that is. It is also written
	// when Run ends. Default 10ms.
	CheckpointEvery time.Duration
	// CheckpointSyncEvery is how often, when it changed, the checkpoint is
	// also written with fsyncs to CheckpointFile+".synced", the copy a
	// restart falls back to if a power loss tore CheckpointFile (whose
	// writes are not fsynced). Default 1s.
	CheckpointSyncEvery time.Duration

	Logger *slog.Logger // default slog.Default()
}

// Defaults of FileOptions and StdinOptions.
const (
	DefaultMaxLineBytes        = 64 << 10
	DefaultBatchEvents         = 4096
	DefaultBatchBytes          = 1 << 20
	DefaultPollInterval        = 200 * time.Millisecond
	DefaultGlobInterval        = time.Second
	DefaultCheckpointEvery     = 10 * time.Millisecond
	DefaultCheckpointSyncEvery = time.Second
)

// File follows the files matching a set of glob patterns, like tail -F:
// through appends, rename rotation, copytruncate, new and deleted files.
// It emits each file's lines in order, and persists how far each file's
// batches have been committed, so that after a restart or a crash it
// resumes there: lines may come twice, never not at all.
type File struct {
	opts   FileOptions
	log    *slog.Logger
	ckpt   *checkpoints
	writer *checkpointWriter
	stats  lineCounters

	files       atomic.Int64
	truncations atomic.Int64
	rotations   atomic.Int64

	running atomic.Bool
}

// NewFile checks opts, applies defaults, and returns a File input.
func NewFile(opts FileOptions) (*File, error) {
	if opts.Name == "" {
		opts.Name = "file"
	}
	if len(opts.Paths) == 0 {
		return nil, fmt.Errorf("inputs: file %q: no paths", opts.Name)
	}
	for _, p := range opts.Paths {
		if _, err := filepath.Match(p, ""); err != nil {
			return nil, fmt.Errorf("inputs: file %q: path %q: %w", opts.Name, p, err)
		}
	}
	switch opts.StartAt {
	case "":
		opts.StartAt = StartAtBeginning
	case StartAtBeginning, StartAtEnd:
	default:
		return nil, fmt.Errorf("inputs: file %q: start_at %q: want %q or %q", opts.Name, opts.StartAt, StartAtBeginning, StartAtEnd)
	}
	if opts.CheckpointFile == "" {
		return nil, fmt.Errorf("inputs: file %q: no checkpoint file", opts.Name)
	}
	if opts.MaxLineBytes < 0 || opts.BatchEvents < 0 || opts.BatchBytes < 0 ||
		opts.PollInterval < 0 || opts.GlobInterval < 0 || opts.CheckpointEvery < 0 || opts.CheckpointSyncEvery < 0 {
		return nil, fmt.Errorf("inputs: file %q: negative limit or interval", opts.Name)
	}
	opts.MaxLineBytes = cmp.Or(opts.MaxLineBytes, DefaultMaxLineBytes)
	opts.BatchEvents = cmp.Or(opts.BatchEvents, DefaultBatchEvents)
	opts.BatchBytes = cmp.Or(opts.BatchBytes, DefaultBatchBytes)
	opts.PollInterval = cmp.Or(opts.PollInterval, DefaultPollInterval)
	opts.GlobInterval = cmp.Or(opts.GlobInterval, DefaultGlobInterval)
	opts.CheckpointEvery = cmp.Or(opts.CheckpointEvery, DefaultCheckpointEvery)
	opts.CheckpointSyncEvery = cmp.Or(opts.CheckpointSyncEvery, DefaultCheckpointSyncEvery)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	f := &File{
		opts: opts,
		log:  opts.Logger.With("input", opts.Name),
		ckpt: newCheckpoints(),
	}
	f.writer = &checkpointWriter{path: opts.CheckpointFile, ckpt: f.ckpt, log: f.log,
		failLog: lograte.Limiter{Every: 10 * time.Second}}
	return f, nil
}

// Run follows the files until ctx is done or emit fails, then writes a final
// checkpoint and returns nil. It returns an error if it cannot start (the
// checkpoint file is unreadable or corrupt) or the final checkpoint cannot
// be written. Run may not be called concurrently with itself.
func (f *File) Run(ctx context.Context, emit event.Emit) error {
	if emit == nil {
		return fmt.Errorf("inputs: file %q: nil emit", f.opts.Name)
	}
	if !f.running.CompareAndSwap(false, true) {
		return fmt.Errorf("inputs: file %q: already running", f.opts.Name)
	}
	defer f.running.Store(false)

	offsets, found, err := loadCheckpoints(f.opts.CheckpointFile, f.log)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.opts.CheckpointFile), 0o755); err != nil {
		return fmt.Errorf("inputs: file %q: checkpoint directory: %w", f.opts.Name, err)
	}
	f.ckpt.clear()

	fl := newFollower(f, emit)
	defer fl.close()
	fl.scan(offsets, !found)

	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { f.writer.loop(wctx, f.opts.CheckpointEvery, f.opts.CheckpointSyncEvery) })

	err = fl.run(ctx)
	stop()
	wg.Wait()
	if err != nil {
		f.log.Info("file input stopping: batch not accepted", "err", err)
	}
	fl.close()
	if err := f.writer.flush(); err != nil {
		return fmt.Errorf("inputs: file %q: final checkpoint: %w", f.opts.Name, err)
	}
	return nil
}

// WriteCheckpoint persists the committed offsets now, if they changed since
// the last write. Commits that arrive after Run returned (the pipeline
// storing its open batches at shutdown) are persisted only by this: call it
// once they are in. It is safe to call at any time, concurrently with Run.
func (f *File) WriteCheckpoint() error {
	if err := f.writer.flush(); err != nil {
		return fmt.Errorf("inputs: file %q: %w", f.opts.Name, err)
	}
	return nil
}

// Stats returns the input's counters. It is safe to call concurrently.
func (f *File) Stats() FileStats {
	return FileStats{
		Files:          int(f.files.Load()),
		Events:         f.stats.events.Load(),
		Bytes:          f.stats.bytes.Load(),
		TruncatedLines: f.stats.truncated.Load(),
		Truncations:    f.truncations.Load(),
		Rotations:      f.rotations.Load(),
		CommittedLag:   f.ckpt.lag(),
	}
}

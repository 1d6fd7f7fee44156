package merger

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"pulse/buffer"
	"pulse/lograte"
	"pulse/metrics"
	"pulse/protocol"
)

// bufferName names the stage's buffer in Dir/buffer.
const bufferName = "fragments"

// Merger is the merge stage: Emit stores batches of fragments durably, Run
// merges them, checkpoints the merged state and emits snapshots. Emit and
// Stats are safe for concurrent use; Run is called once, and Close after
// Run has returned.
type Merger struct {
	opts      Options
	log       *slog.Logger
	q         *buffer.Queue
	state     *metrics.Merger
	statePath string

	writers sync.Pool // *protocol.Writer: Emit's payload scratch

	running   atomic.Bool
	closeOnce sync.Once
	closeErr  error

	// Owned by Run's goroutine.
	unacked []uint64       // batches merged since the last checkpoint
	dirty   bool           // the state changed since the last checkpoint
	snap    snapshotSender // emission, its scratch reused across intervals
	ckEnd   time.Time      // when the last checkpoint ended
	ckDur   time.Duration  // how long it took

	stateMu    sync.Mutex
	stateStats metrics.MergeStats // the state's, as of Run's last change

	c       counters
	badLog  lograte.Limiter // records in the buffer that do not decode
	failLog lograte.Limiter // checkpoint and snapshot emission failures
}

// counters are updated by Emit and Run and read by Stats.
type counters struct {
	batches, fragments, rejected atomic.Uint64
	merged, badRecords           atomic.Uint64
	unacked                      atomic.Int64
	checkpoints, ckErrors        atomic.Uint64
	ckTime, ckBytes, ckNanos     atomic.Int64
	snapshots, snapBatches       atomic.Uint64
	snapErrors, snapDropped      atomic.Uint64
}

// New opens the stage's buffer in opts.Dir, which locks the directory
// against a second process, and loads the last checkpoint. Batches the
// buffer holds are merged once Run starts: those merged before a crash
// and not yet acknowledged come first, and the checkpoint's seen sets
// ignore their fragments already in it.
func New(opts Options) (*Merger, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("merger: %w", err)
	}
	log := opts.Logger.With("component", "merger")
	q, err := buffer.Open(buffer.Options{
		Dir:      filepath.Join(opts.Dir, "buffer"),
		Name:     bufferName,
		MaxBytes: opts.MaxBufferBytes,
		Logger:   opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("merger: %w", err)
	}
	path := filepath.Join(opts.Dir, stateFile)
	start := time.Now()
	state, found, err := loadState(path, metrics.MergeOptions{FinalizeAfter: opts.FinalizeAfter, Logger: opts.Logger})
	if err != nil {
		_ = q.Close()
		return nil, err
	}
	m := &Merger{
		opts:      opts,
		log:       log,
		q:         q,
		state:     state,
		statePath: path,
		badLog:    lograte.Limiter{Every: 10 * time.Second},
		failLog:   lograte.Limiter{Every: 10 * time.Second},
	}
	m.writers.New = func() any { return new(protocol.Writer) }
	m.snap = snapshotSender{emit: opts.Emit, log: log, failLog: &m.failLog,
		snapshots: &m.c.snapshots, batches: &m.c.snapBatches, errors: &m.c.snapErrors, dropped: &m.c.snapDropped}
	m.refreshStats()
	st, bst := m.stateStats, q.Stats()
	log.Info("merger opened", "dir", opts.Dir, "checkpoint", found, "load_time", time.Since(start),
		"windows", st.Windows, "keys", st.Keys, "agents", st.Agents,
		"buffered_batches", bst.Batches, "interval", opts.Interval, "finalize_after", opts.FinalizeAfter,
		"checkpoint_every", opts.CheckpointEvery)
	return m, nil
}

// Close closes the buffer. Batches stored and not yet covered by a
// checkpoint stay in it, to be merged after the next New. Call it after
// Run has returned; Emit calls still blocked return an error.
func (m *Merger) Close() error {
	m.closeOnce.Do(func() {
		if err := m.q.Close(); err != nil {
			m.closeErr = fmt.Errorf("merger: %w", err)
		}
	})
	return m.closeErr
}

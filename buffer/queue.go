// Package buffer is a crash-safe, byte-capped disk queue of batches, one per
// output, built on github.com/nsqio/go-diskqueue.
//
// diskqueue forgets a message the moment it is read and persists its read
// position only now and then; it has no size cap and no checksums. Queue adds
// what an at-least-once pipeline needs on top of it: acknowledgement of
// batches handed out (an in-flight journal, see journal.go), a CRC per batch
// (frame.go), a cap on the bytes held with a policy for when it is reached
// (put.go), and recovery of counts and metadata at Open (recover.go).
//
// Files in Options.Dir:
//
//	<name>.diskqueue.NNNNNN.dat  diskqueue segments: per batch a 4-byte
//	                             big-endian length, then the frame
//	<name>.diskqueue.meta.dat    diskqueue's read and write positions
//	*.dat.bad                    segments diskqueue could not read (kept)
//	inflight/<seq>.batch         frames handed out by Next, not yet acked
//	spare/*.spare                files of acked ones, reused by the next
//	consumed                     highest seq consumed from diskqueue
//	<name>.lock                  flock held while open
//
// A frame is [crc32c u32][seq u64][events u32][payload], big-endian, the
// CRC (Castagnoli) over everything after it; seq is the batch id.
package buffer

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"pulse/lograte"

	"github.com/nsqio/go-diskqueue"
)

var (
	// ErrFull is returned, wrapped together with the context's error, by Put
	// under the Block policy when its context ends before space frees up.
	ErrFull = errors.New("buffer full")
	// ErrClosed is returned by operations on a closed Queue, and by Put and
	// Next blocked when it closes.
	ErrClosed = errors.New("buffer closed")
	// ErrTooLarge is returned by Put for a payload above MaxPayloadBytes.
	ErrTooLarge = errors.New("payload too large")
)

// Message is a batch handed out by Next. Its Payload is not reused by the
// Queue.
type Message struct {
	ID       uint64 // acknowledge with Ack(ID)
	Payload  []byte
	Events   int
	Key      uint64 // as given to PutKey
	Replayed bool   // handed out before a restart and never acknowledged: possibly a duplicate downstream
}

// Queue is a disk queue of batches with a byte cap and acknowledgement. Its
// methods are safe for concurrent use; several batches may be in flight at
// once, acknowledged in any order.
type Queue struct {
	opts Options
	log  *slog.Logger
	dq   diskqueue.Interface
	jr   *journal
	sync *syncer
	lock *os.File

	closing   chan struct{} // closed by Close: blocked Put and Next return
	closeOnce sync.Once
	closeErr  error

	// consumer is a token held by whoever receives from diskqueue (Next, and
	// Put evicting under DropOldest): diskqueue has one reader, and a peek
	// must not be separated from its consumption by another reader. A
	// channel, so that waiting for it honours a context.
	consumer chan struct{}
	consumed uint64 // highest seq consumed from diskqueue; guarded by consumer

	// wmu orders seq assignment with diskqueue writes, so that seq increases
	// in queue order: skipping duplicates by seq <= consumed relies on it.
	wmu     sync.Mutex
	wbuf    []byte // frame being written; guarded by wmu
	wclosed bool   // guarded by wmu
	nextSeq atomic.Uint64

	mu       sync.Mutex
	queued   tally            // not yet handed out, including Put reservations and the journal left at Open
	inflight tally            // handed out, not acknowledged
	handed   map[uint64]tally // in-flight batches by id
	replay   []journaled      // journal left at Open, not yet handed out again
	counters Stats            // the cumulative counters of Stats
	space    chan struct{}    // closed and replaced when bytes are freed while someone waits
	waiting  int              // Puts waiting on space
	head     *heldHead        // handed out unconsumed on a full disk, until acknowledged
	benign   []benignBad      // .bad files of diskqueue bug #38 still to remove
	nbenign  atomic.Int32     // len(benign), read without mu on the hot path
	benignN  int64            // how often bug #38 struck (tests look)

	dqQuiet  atomic.Bool            // the last diskqueue read error was harmless: quiet its follow-up lines
	readFile atomic.Pointer[string] // the segment diskqueue reads from, as it last said
	badBytes atomic.Int64           // bytes in .bad files, counted against MaxBytes (stats.go)

	disk diskUsage

	corruptLog  lograte.Limiter
	diskFullLog lograte.Limiter // guarded by mu
	dqSyncLog   lograte.Limiter // diskqueue's metadata syncs failing on a full disk
	dupLog      lograte.Limiter

	onCrashPoint func(name string) // tests only; set before use
}

// Open opens (or creates) the queue in opts.Dir. Batches journaled as in
// flight when the queue was last closed (or crashed) are handed out first by
// Next, with Replayed set.
func Open(opts Options) (*Queue, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("buffer %s: %w", opts.Name, err)
	}
	lock, err := lockDir(opts.Dir, opts.Name)
	if err != nil {
		return nil, fmt.Errorf("buffer %s: %w", opts.Name, err)
	}
	q, err := open(opts, lock)
	if err != nil {
		_ = unlockDir(lock)
		return nil, fmt.Errorf("buffer %s: open %s: %w", opts.Name, opts.Dir, err)
	}
	return q, nil
}

func open(opts Options, lock *os.File) (*Queue, error) {
	log := opts.Logger.With("buffer", opts.Name)
	// The journal first: what it says is consumed is not lost if damaged.
	jr, left, consumed, err := openJournal(opts.Dir)
	if err != nil {
		return nil, err
	}
	rec, err := recoverSegments(opts.Dir, opts.Name, consumed, opts.Fsync, log)
	if err != nil {
		_ = jr.close()
		return nil, err
	}
	bad, err := removeConsumedBad(opts.Dir, opts.Name, consumed, log)
	if err != nil {
		_ = jr.close()
		return nil, err
	}
	q := &Queue{
		opts:        opts,
		log:         log,
		jr:          jr,
		lock:        lock,
		closing:     make(chan struct{}),
		consumer:    make(chan struct{}, 1),
		consumed:    consumed,
		queued:      rec.queued,
		handed:      make(map[uint64]tally),
		replay:      left,
		space:       make(chan struct{}),
		corruptLog:  lograte.Limiter{Every: time.Second},
		diskFullLog: lograte.Limiter{Every: 10 * time.Second},
		dqSyncLog:   lograte.Limiter{Every: 10 * time.Second},
		dupLog:      lograte.Limiter{Every: time.Second},
	}
	q.counters.MaxBytes = opts.MaxBytes
	q.counters.TornWrites = rec.tornWrites
	q.counters.CorruptBatches = rec.lost.batches
	q.counters.LostEvents = rec.lost.events
	maxSeen := max(rec.maxSeq, consumed)
	for _, b := range left {
		q.queued.add1(b.events, b.bytes)
		maxSeen = max(maxSeen, b.seq)
	}
	q.nextSeq.Store(maxSeen + 1)
	q.dq = diskqueue.New(opts.Name, opts.Dir, opts.SegmentBytes, minMsgSize, maxMsgSize,
		opts.SyncEvery, opts.SyncTimeout, q.logDiskQueue)
	jr.fsync, jr.onSync = opts.Fsync, opts.onSync
	jr.spares.maxBytes = opts.MaxBytes / 16
	q.sync = newSyncer(opts, jr, log)
	if u := q.disk.refresh(q, true); u.badFiles > 0 {
		// Counted against the cap until reviewed: say so while it is news.
		log.Warn("buffer holds quarantined corruption (.bad files), counted against max_bytes until removed: review with pulse buffer verify, then salvage or clear-bad",
			"bad_files", u.badFiles, "bad_bytes", u.badBytes, "max_bytes", opts.MaxBytes)
	}
	log.Info("buffer opened", "dir", opts.Dir, "batches", q.queued.batches, "events", q.queued.events,
		"bytes", q.queued.bytes, "max_bytes", opts.MaxBytes, "replay", len(left), "bad_segments", bad,
		"when_full", string(opts.WhenFull), "fsync", string(opts.Fsync))
	return q, nil
}

// Close stops the queue: blocked Put and Next calls return ErrClosed, and
// diskqueue persists its state. Batches in flight stay journaled and are
// handed out again by the next Open.
func (q *Queue) Close() error {
	q.closeOnce.Do(func() {
		close(q.closing)
		// Wait out the consumer and the writer: both may be inside diskqueue.
		q.consumer <- struct{}{}
		q.wmu.Lock()
		q.wclosed = true
		err := q.dq.Close()
		q.wmu.Unlock()
		if metaDiskFull(err) {
			// Nothing lost: the metadata on disk lags, as after a kill -9,
			// and the next Open recovers the positions from the segments.
			q.log.Warn("disk full: diskqueue could not persist its positions at close; the next start recovers them from the segments", "err", err)
			err = nil
		}
		// diskqueue's loop has stopped: every rename to .bad is done.
		q.removeBenignBad()
		err = errors.Join(err, q.sync.close(), q.jr.close(), unlockDir(q.lock))
		if err != nil {
			q.closeErr = fmt.Errorf("buffer %s: close: %w", q.opts.Name, err)
		}
		q.log.Info("buffer closed")
	})
	return q.closeErr
}

func (q *Queue) closed() bool {
	select {
	case <-q.closing:
		return true
	default:
		return false
	}
}

func (q *Queue) errClosed(op string) error {
	return fmt.Errorf("buffer %s: %s: %w", q.opts.Name, op, ErrClosed)
}

// freeSpace wakes Puts waiting for space. Callers hold mu.
func (q *Queue) freeSpace() {
	if q.waiting > 0 {
		close(q.space)
		q.space = make(chan struct{})
	}
}

func (t *tally) add1(events, bytes int64) {
	t.batches++
	t.events += events
	t.bytes += bytes
}

func (t *tally) sub1(events, bytes int64) {
	t.batches--
	t.events -= events
	t.bytes -= bytes
}

func (t *tally) sub(o tally) {
	t.batches -= o.batches
	t.events -= o.events
	t.bytes -= o.bytes
}

package buffer

import (
	"os"
	"strings"
	"sync"
	"time"
)

// Stats is a snapshot of a Queue. Counters are cumulative since Open.
type Stats struct {
	Batches, Events int64 // queued, not yet handed out (batches left in flight at Open included) — exact
	Bytes           int64 // queued + in-flight bytes counted against MaxBytes (payload + 20 per batch)
	MaxBytes        int64
	InFlight        int   // batches handed out and not acknowledged
	InFlightEvents  int64 // events in those batches
	DiskBytes       int64 // all files in Dir, refreshed at most every second

	DroppedOldestBatches, DroppedOldestEvents int64
	DroppedNewestBatches, DroppedNewestEvents int64

	CorruptBatches int64 // batches skipped as corrupt: failed CRC, or lost in a .bad segment (best effort there)
	LostEvents     int64 // events known lost to corruption (best effort)
	BadSegments    int   // .bad segment files (real corruption, kept for inspection): found at Open + renamed since

	ReplayedBatches, ReplayedEvents int64         // handed out again after a restart: possible duplicates downstream
	SkippedDuplicates               int64         // batches diskqueue delivered again after a crash, already consumed: skipped
	DiskFullWaits                   int64         // writes refused for a full disk (ENOSPC, EDQUOT) and retried after a wait
	OldestAge                       time.Duration // not tracked: always 0
}

// Stats returns a snapshot of the queue's state and counters.
func (q *Queue) Stats() Stats {
	q.removeBenignBad()
	diskBytes := q.disk.refresh(q, false)
	q.mu.Lock()
	s := q.counters
	s.Batches, s.Events = q.queued.batches, q.queued.events
	s.Bytes = q.queued.bytes + q.inflight.bytes
	s.InFlight, s.InFlightEvents = int(q.inflight.batches), q.inflight.events
	q.mu.Unlock()
	s.DiskBytes = diskBytes
	return s
}

// diskUsage caches what a walk of the queue's files found.
type diskUsage struct {
	mu    sync.Mutex
	at    time.Time
	stale bool
	bytes int64
}

func (d *diskUsage) invalidate() {
	d.mu.Lock()
	d.stale = true
	d.mu.Unlock()
}

// refresh sums the sizes of the files in Dir and Dir/inflight, unless the
// last walk is under a second old.
func (d *diskUsage) refresh(q *Queue, force bool) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !force && !d.stale && time.Since(d.at) < time.Second {
		return d.bytes
	}
	d.bytes = 0
	for _, dir := range []string{q.opts.Dir, q.jr.dir} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			if fi, err := e.Info(); err == nil {
				d.bytes += fi.Size()
			}
		}
	}
	d.at, d.stale = time.Now(), false
	return d.bytes
}

// benignBad is a segment renamed .bad by diskqueue bug #38, to be removed.
type benignBad struct {
	path  string
	tries int
}

// maxBenignTries bounds attempts at removing one benign .bad file whose
// rename never happens.
const maxBenignTries = 1000

// removeBenignBad removes the .bad files of bug #38. diskqueue renames right
// after telling us, so a file may not be renamed yet: it stays pending while
// the segment exists under its old name.
func (q *Queue) removeBenignBad() {
	if q.nbenign.Load() == 0 {
		return
	}
	q.mu.Lock()
	pending := append([]benignBad(nil), q.benign...)
	q.mu.Unlock()
	done := make(map[string]bool, len(pending))
	for _, b := range pending {
		// Old name first: once it is gone, the rename is done.
		if _, err := os.Stat(strings.TrimSuffix(b.path, ".bad")); err == nil {
			if b.tries+1 >= maxBenignTries {
				done[b.path] = true
				q.log.Warn("diskqueue never renamed a consumed segment to .bad; giving up removing it", "file", b.path)
			}
			continue
		}
		err := os.Remove(b.path)
		switch {
		case err == nil, isNotExist(err): // isNotExist: another caller removed it
			done[b.path] = true
		default:
			q.log.Warn("cannot remove consumed diskqueue segment", "file", b.path, "err", err)
			done[b.path] = b.tries+1 >= maxBenignTries
		}
	}
	q.mu.Lock()
	kept := q.benign[:0]
	for _, b := range q.benign {
		if !done[b.path] {
			b.tries++
			kept = append(kept, b)
		}
	}
	q.benign = kept
	q.nbenign.Store(int32(len(kept)))
	q.mu.Unlock()
}

package buffer

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Stats is a snapshot of a Queue. Counters are cumulative since Open.
type Stats struct {
	Batches, Events int64 // queued, not yet handed out (batches left in flight at Open included) — exact
	Bytes           int64 // queued + in-flight bytes counted against MaxBytes (FrameBytes of each batch)
	MaxBytes        int64
	InFlight        int   // batches handed out and not acknowledged
	InFlightEvents  int64 // events in those batches
	DiskBytes       int64 // all files in Dir, refreshed at most every second

	DroppedOldestBatches, DroppedOldestEvents int64
	DroppedNewestBatches, DroppedNewestEvents int64

	// CorruptBatches are batches lost to corruption: failed their CRC, or
	// destroyed in a damaged segment (counted by their seqs). LostEvents
	// are the events of those whose header survived: a batch whose header
	// was destroyed too has unknown events (logged as such).
	CorruptBatches int64
	LostEvents     int64
	// BadSegments and BadBytes are the .bad files in Dir now: quarantined
	// corruption not yet reviewed and removed (pulse buffer clear-bad),
	// re-read with DiskBytes. BadBytes count against MaxBytes.
	BadSegments int
	BadBytes    int64
	// TornWrites are interrupted writes found at Open at the end of the
	// newest segment (a kill -9 during a Put that never returned) and
	// truncated: nothing acknowledged was lost.
	TornWrites int64

	ReplayedBatches, ReplayedEvents int64         // handed out again after a restart: possible duplicates downstream
	SkippedDuplicates               int64         // batches diskqueue delivered again after a crash, already consumed: skipped
	DiskFullWaits                   int64         // writes refused for a full disk (ENOSPC, EDQUOT) and retried after a wait
	OldestAge                       time.Duration // not tracked: always 0
}

// Stats returns a snapshot of the queue's state and counters.
func (q *Queue) Stats() Stats {
	q.removeBenignBad()
	du := q.disk.refresh(q, false)
	q.mu.Lock()
	s := q.counters
	s.BadSegments, s.BadBytes = du.badFiles, du.badBytes
	s.Batches, s.Events = q.queued.batches, q.queued.events
	s.Bytes = q.queued.bytes + q.inflight.bytes
	s.InFlight, s.InFlightEvents = int(q.inflight.batches), q.inflight.events
	q.mu.Unlock()
	s.DiskBytes = du.bytes
	return s
}

// diskUsage caches what a walk of the queue's files found.
type diskUsage struct {
	mu    sync.Mutex
	at    time.Time
	stale bool
	last  usage
}

// usage is what one walk of the queue's files found.
type usage struct {
	bytes    int64 // every file
	badFiles int   // .bad segments, but those of diskqueue bug #38 about to be removed
	badBytes int64
}

func (d *diskUsage) invalidate() {
	d.mu.Lock()
	d.stale = true
	d.mu.Unlock()
}

// refresh sums the sizes of the files in Dir, Dir/inflight and Dir/spare,
// and of the .bad files among them, unless the last walk is under a second
// old. The .bad bytes held are published to q.badBytes, which Put counts
// against MaxBytes.
func (d *diskUsage) refresh(q *Queue, force bool) usage {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !force && !d.stale && time.Since(d.at) < time.Second {
		return d.last
	}
	q.mu.Lock()
	benign := make(map[string]bool, len(q.benign))
	for _, b := range q.benign {
		benign[filepath.Base(b.path)] = true
	}
	q.mu.Unlock()
	var u usage
	for i, dir := range []string{q.opts.Dir, q.jr.dir, q.jr.spares.dir} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			fi, err := e.Info()
			if err != nil {
				continue
			}
			u.bytes += fi.Size()
			if i == 0 && quarantined(q.opts.Name, e.Name()) && !benign[e.Name()] {
				u.badFiles++
				u.badBytes += fi.Size()
			}
		}
	}
	if prev := q.badBytes.Swap(u.badBytes); prev > u.badBytes {
		q.mu.Lock()
		q.freeSpace()
		q.mu.Unlock()
	}
	d.last, d.at, d.stale = u, time.Now(), false
	return u
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

package merger

import (
	"time"

	"pulse/metrics"
)

// offsetBook is one partition's commit bookkeeping, the seed pipeline's
// rule: remember the offset of the first record of each window still open,
// and commit the oldest of them; with none open, the offset after the last
// record. Every record below the commit point then belongs to windows
// finalized and emitted (or was too late, or not a fragment), so a new
// owner replaying from there rebuilds every open window whole.
//
// A window is open from its first record until close passes a horizon at
// or after its end, which the Group calls once the snapshots finalizing it
// are emitted and committed by the outputs.
type offsetBook struct {
	first  map[bookWindow]int64 // open windows: offset of the first record seen of each
	next   int64                // offset after the last record seen; the start before any
	closed int64                // windows ending at or before this (Unix ns) are finalized
}

// bookWindow identifies a window: its start and end, Unix ns.
type bookWindow struct{ start, end int64 }

// newOffsetBook returns the book of a partition consumed from start (-1
// if unknown: no record seen, nothing to commit yet) whose windows ending
// at or before closed are finalized already.
func newOffsetBook(start, closed int64) offsetBook {
	return offsetBook{first: make(map[bookWindow]int64), next: start, closed: closed}
}

// observe records that the record at off holds a fragment of w. A window
// closed already does not open again: the merge counts such a fragment
// too late, and nothing of it needs replaying.
func (b *offsetBook) observe(off int64, w metrics.Window) {
	k := bookWindow{start: w.Start.UnixNano(), end: w.End().UnixNano()}
	if k.end > b.closed {
		if _, open := b.first[k]; !open {
			b.first[k] = off
		}
	}
	b.skip(off)
}

// skip records that the record at off holds nothing to replay (not a
// fragment): only the next offset moves.
func (b *offsetBook) skip(off int64) {
	b.next = max(b.next, off+1)
}

// close finalizes the windows ending at or before horizon (Unix ns).
func (b *offsetBook) close(horizon int64) {
	if horizon <= b.closed {
		return
	}
	b.closed = horizon
	for k := range b.first {
		if k.end <= horizon {
			delete(b.first, k)
		}
	}
}

// commitPoint returns the offset to commit: the first offset of the oldest
// open window, or with none open the next offset. ok is false when nothing
// is known yet (no record seen and no start).
func (b *offsetBook) commitPoint() (off int64, ok bool) {
	off, ok = b.next, b.next >= 0
	for _, o := range b.first {
		if !ok || o < off {
			off, ok = o, true
		}
	}
	return off, ok
}

// open returns the number of open windows.
func (b *offsetBook) open() int { return len(b.first) }

// horizon returns the closed horizon as a time, zero if none.
func (b *offsetBook) horizon() time.Time {
	if b.closed == noHorizon {
		return time.Time{}
	}
	return time.Unix(0, b.closed).UTC()
}

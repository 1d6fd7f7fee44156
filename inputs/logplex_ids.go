package inputs

import (
	"sync"
	"time"
)

// frameState is what frameIDs knows of a Logplex-Frame-Id.
type frameState int

const (
	frameNew  frameState = iota // not seen: handle the request
	frameSeen                   // accepted within the window: a retry
	frameBusy                   // another request with this id is in progress
)

// frameIDs remembers the Logplex-Frame-Ids of accepted requests for a
// window, at most max of them (the oldest go first), so that a drain's
// retry of a body already stored is not stored twice. Memory is bounded by
// max plus the requests in progress. It is safe for concurrent use.
type frameIDs struct {
	window time.Duration
	max    int
	now    func() time.Time

	mu      sync.Mutex
	seen    map[string]struct{} // the ids of order, to look them up
	order   []frameID           // accepted ids, oldest first from head
	head    int
	pending map[string]struct{} // ids of requests in progress
}

type frameID struct {
	id string
	at time.Time
}

func newFrameIDs(window time.Duration, max int) *frameIDs {
	return &frameIDs{
		window:  window,
		max:     max,
		now:     time.Now,
		seen:    make(map[string]struct{}),
		pending: make(map[string]struct{}),
	}
}

// begin looks id up. When it returns frameNew, id is in progress until
// the caller calls end.
func (f *frameIDs) begin(id string) frameState {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expire(f.now())
	if _, ok := f.pending[id]; ok {
		return frameBusy
	}
	if _, ok := f.seen[id]; ok {
		return frameSeen
	}
	f.pending[id] = struct{}{}
	return frameNew
}

// end closes the request begun with id: if its events were stored, id is
// remembered for the window; otherwise it is forgotten, so that a retry is
// handled afresh.
func (f *frameIDs) end(id string, stored bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.pending, id)
	if !stored {
		return
	}
	now := f.now()
	f.expire(now)
	if f.len() >= f.max {
		f.pop()
	}
	if f.head > 0 && f.head >= len(f.order)/2 {
		// Move the live entries down rather than let the slice grow.
		n := copy(f.order, f.order[f.head:])
		clear(f.order[n:])
		f.order = f.order[:n]
		f.head = 0
	}
	f.order = append(f.order, frameID{id: id, at: now})
	f.seen[id] = struct{}{}
}

// len returns the number of ids remembered.
func (f *frameIDs) len() int { return len(f.order) - f.head }

// expire forgets the ids accepted a window or more before now.
func (f *frameIDs) expire(now time.Time) {
	for f.len() > 0 && now.Sub(f.order[f.head].at) >= f.window {
		f.pop()
	}
}

// pop forgets the oldest id.
func (f *frameIDs) pop() {
	delete(f.seen, f.order[f.head].id)
	f.order[f.head] = frameID{}
	f.head++
}

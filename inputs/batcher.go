package inputs

import "pulse/event"

// lineBatcher cuts lines out of a read buffer into a Batch whose events
// alias that buffer, within the event-count and byte limits of a batch.
type lineBatcher struct {
	split     splitter
	batch     event.Batch
	bytes     int // sum of the event lengths in batch
	cut       int // events in batch that were cut to maxLine
	maxEvents int
	maxBytes  int
}

func newLineBatcher(name, source string, maxLine, maxEvents, maxBytes int) *lineBatcher {
	return &lineBatcher{
		split:     splitter{maxLine: maxLine},
		batch:     event.Batch{Input: name, Source: source, Events: make([][]byte, 0, maxEvents)},
		maxEvents: maxEvents,
		maxBytes:  maxBytes,
	}
}

// fill consumes complete lines from p into the batch. It returns the number
// of bytes of p consumed, and full = true when it stopped because the batch
// is full: the caller then hands the batch on, calls reset, and calls fill
// again with p[n:].
func (lb *lineBatcher) fill(p []byte) (n int, full bool) {
	for {
		skipping := lb.split.skipping
		ev, k, cut := lb.split.next(p[n:])
		if ev == nil {
			return n + k, false
		}
		if len(lb.batch.Events) > 0 && lb.bytes+len(ev) > lb.maxBytes {
			// Leave this event for the next batch; next is a pure
			// function of its input and this one bit of state.
			lb.split.skipping = skipping
			return n, true
		}
		n += k
		lb.add(ev, cut)
		if len(lb.batch.Events) >= lb.maxEvents {
			return n, true
		}
	}
}

// add appends one event to the batch, regardless of limits.
func (lb *lineBatcher) add(ev []byte, cut bool) {
	lb.batch.Events = append(lb.batch.Events, ev)
	lb.bytes += len(ev)
	if cut {
		lb.cut++
	}
}

// reset empties the batch, keeping its memory.
func (lb *lineBatcher) reset() {
	lb.batch.Events = lb.batch.Events[:0]
	lb.batch.Commit = nil
	lb.bytes = 0
	lb.cut = 0
}

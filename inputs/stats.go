package inputs

import "sync/atomic"

// FileStats are the counters of a File input.
type FileStats struct {
	Files          int   // files being followed
	Events         int64 // events emitted
	Bytes          int64 // bytes of the events emitted, terminators excluded
	TruncatedLines int64 // lines longer than MaxLineBytes, cut to it
	Truncations    int64 // files found shorter than their offset (copytruncate)
	Rotations      int64 // files that moved away from their path
	CommittedLag   int64 // bytes read but not yet committed downstream
}

// StdinStats are the counters of a Stdin input.
type StdinStats struct {
	Events         int64 // events emitted
	Bytes          int64 // bytes of the events emitted, terminators excluded
	TruncatedLines int64 // lines longer than MaxLineBytes, cut to it
}

// lineCounters are updated once per emitted batch and read by Stats from
// any goroutine.
type lineCounters struct {
	events    atomic.Int64
	bytes     atomic.Int64
	truncated atomic.Int64
}

// count adds the batch lb is about to hand on.
func (c *lineCounters) count(lb *lineBatcher) {
	c.events.Add(int64(len(lb.batch.Events)))
	c.bytes.Add(int64(lb.bytes))
	if lb.cut > 0 {
		c.truncated.Add(int64(lb.cut))
	}
}

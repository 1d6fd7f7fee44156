package sink

import (
	"fmt"
	"sync/atomic"
)

// Stats counts what a Sink did since it was created.
type Stats struct {
	Requests int64 // requests received, whatever their fate
	Batches  int64 // batches written (answered 200 with events in them)
	Events   int64 // events written
	Bytes    int64 // bytes written, newlines included
	Refused  int64 // requests refused on purpose (down, fail rate) or while stopping
	Rejected int64 // bad requests: malformed, too large, unsupported (4xx)
}

// String formats s as the final line of `pulse sink`.
func (s Stats) String() string {
	return fmt.Sprintf("events=%d batches=%d bytes=%d requests=%d refused=%d",
		s.Events, s.Batches, s.Bytes, s.Requests, s.Refused)
}

// counters are a Sink's live Stats.
type counters struct {
	requests, batches, events, bytes, refused, rejected atomic.Int64
}

func (c *counters) load() Stats {
	return Stats{
		Requests: c.requests.Load(),
		Batches:  c.batches.Load(),
		Events:   c.events.Load(),
		Bytes:    c.bytes.Load(),
		Refused:  c.refused.Load(),
		Rejected: c.rejected.Load(),
	}
}

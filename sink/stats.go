package sink

import (
	"fmt"
	"sync/atomic"

	"pulse/idcount"
)

// Stats counts what a Sink did since it was created.
type Stats struct {
	Requests int64 // requests received, whatever their fate
	Batches  int64 // batches written (answered 200 with events in them)
	Events   int64 // events written
	Bytes    int64 // bytes written, newlines included
	Refused  int64 // requests refused on purpose (down, fail rate) or while stopping
	Rejected int64 // bad requests: malformed, too large, unsupported (4xx); TCP lines over the limit
	Conns    int64 // TCP connections accepted (Options.TCPListen)
	Partial  int64 // TCP connections that ended inside a line, which was dropped

	// IDs counts the ids of the events written, with Options.IDs; nil
	// otherwise.
	IDs *idcount.Report

	tcp bool // listening on TCP: String shows the TCP fields
}

// String formats s as the final line of `pulse sink` and the answer to a
// GET. The TCP and id fields are there only when those are on.
func (s Stats) String() string {
	out := fmt.Sprintf("events=%d batches=%d bytes=%d requests=%d refused=%d",
		s.Events, s.Batches, s.Bytes, s.Requests, s.Refused)
	if s.tcp {
		out += fmt.Sprintf(" conns=%d partial=%d rejected=%d", s.Conns, s.Partial, s.Rejected)
	}
	if r := s.IDs; r != nil {
		out += fmt.Sprintf(" unique=%d duplicates=%d missing=%d unknown=%d", r.Unique, r.Duplicates, r.Missing, r.Unknown)
	}
	return out
}

// counters are a Sink's live Stats.
type counters struct {
	requests, batches, events, bytes, refused, rejected, conns, partial atomic.Int64
}

func (c *counters) load() Stats {
	return Stats{
		Requests: c.requests.Load(),
		Batches:  c.batches.Load(),
		Events:   c.events.Load(),
		Bytes:    c.bytes.Load(),
		Refused:  c.refused.Load(),
		Rejected: c.rejected.Load(),
		Conns:    c.conns.Load(),
		Partial:  c.partial.Load(),
	}
}

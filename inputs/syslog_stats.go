package inputs

import "sync/atomic"

// SyslogStats are the counters of a Syslog input.
type SyslogStats struct {
	Connections int64 // TCP connections open now
	Accepted    int64 // TCP connections accepted since the start
	Messages    int64 // messages emitted
	Bytes       int64 // bytes of the messages emitted
	Oversized   int64 // messages over MaxMessageBytes: cut to it (newline framing, UDP) or skipped (octet counting)
	Dropped     int64 // messages received but not emitted: UDP while every batch waits on emit, or emit failed
	Errors      SyslogErrors
}

// SyslogErrors counts what went wrong, by reason.
type SyslogErrors struct {
	Refused     int64 // TCP connections over MaxConnections, closed at once
	BadFrame    int64 // octet counting: a MSG-LEN that is not a number; the connection is closed, its framing lost
	Truncated   int64 // TCP connections that ended inside an octet-counted frame
	IdleTimeout int64 // TCP connections closed after IdleTimeout without data
	Read        int64 // read errors other than the end of a connection (a reset)
}

// Total returns the number of errors.
func (e SyslogErrors) Total() int64 {
	var n int64
	e.Each(func(_ string, v int64) { n += v })
	return n
}

// Each calls fn with each reason's name (as in metrics labels) and count.
func (e SyslogErrors) Each(fn func(reason string, n int64)) {
	fn("refused", e.Refused)
	fn("bad_frame", e.BadFrame)
	fn("truncated", e.Truncated)
	fn("idle_timeout", e.IdleTimeout)
	fn("read", e.Read)
}

// syslogCounters are updated by the input's goroutines (messages once per
// batch) and read by Stats from any goroutine.
type syslogCounters struct {
	connections, accepted        atomic.Int64
	messages, bytes              atomic.Int64
	oversized, dropped           atomic.Int64
	refused, badFrame, truncated atomic.Int64
	idleTimeout, read            atomic.Int64
}

// Stats returns the input's counters. It is safe to call concurrently.
func (s *Syslog) Stats() SyslogStats {
	c := &s.stats
	return SyslogStats{
		Connections: c.connections.Load(),
		Accepted:    c.accepted.Load(),
		Messages:    c.messages.Load(),
		Bytes:       c.bytes.Load(),
		Oversized:   c.oversized.Load(),
		Dropped:     c.dropped.Load(),
		Errors: SyslogErrors{
			Refused:     c.refused.Load(),
			BadFrame:    c.badFrame.Load(),
			Truncated:   c.truncated.Load(),
			IdleTimeout: c.idleTimeout.Load(),
			Read:        c.read.Load(),
		},
	}
}

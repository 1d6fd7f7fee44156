package inputs

import "sync/atomic"

// HTTPStats are the counters of an HTTP input.
type HTTPStats struct {
	Requests int64 // requests received, rejected ones included
	Events   int64 // events stored: of requests answered 200, and logplex frames stored before a malformed one
	Bytes    int64 // bytes of those events, as emitted (decompressed, unframed)

	// Duplicates counts logplex requests answered 200 without emitting
	// anything because their Logplex-Frame-Id was accepted before.
	Duplicates int64
	Rejected   HTTPRejected
}

// HTTPRejected counts requests not answered 200, by reason.
type HTTPRejected struct {
	BadBody       int64 // 400: a body that does not decode (bad framing, JSON, compression), too many events, or rejected by emit (event.ErrRejected)
	TooLarge      int64 // 413: a body over MaxBodyBytes as sent, or 431: headers too large
	Unauthorized  int64 // 401: missing or wrong bearer token
	WrongEncoding int64 // 415: a Content-Encoding other than zstd, s2, gzip or none
	Method        int64 // 405: not a POST
	NotFound      int64 // 404: pulse format, a path other than /v1/batch
	Full          int64 // 503: buffers stayed full for PushBackAfter
	Shutdown      int64 // 503: the input is shutting down
	Unavailable   int64 // 503: emit failed otherwise (the pipeline is closed)
}

// Total returns the number of rejected requests.
func (r HTTPRejected) Total() int64 {
	var n int64
	r.Each(func(_ string, v int64) { n += v })
	return n
}

// Each calls fn with each reason's name (as in metrics labels and logs)
// and count.
func (r HTTPRejected) Each(fn func(reason string, n int64)) {
	fn(rejectBadBody.String(), r.BadBody)
	fn(rejectTooLarge.String(), r.TooLarge)
	fn(rejectUnauthorized.String(), r.Unauthorized)
	fn(rejectWrongEncoding.String(), r.WrongEncoding)
	fn(rejectMethod.String(), r.Method)
	fn(rejectNotFound.String(), r.NotFound)
	fn(rejectFull.String(), r.Full)
	fn(rejectShutdown.String(), r.Shutdown)
	fn(rejectUnavailable.String(), r.Unavailable)
}

// rejectReason is why a request was not accepted.
type rejectReason int

const (
	rejectBadBody rejectReason = iota
	rejectTooLarge
	rejectUnauthorized
	rejectWrongEncoding
	rejectMethod
	rejectNotFound
	rejectFull
	rejectShutdown
	rejectUnavailable
	numRejectReasons
)

func (r rejectReason) String() string {
	switch r {
	case rejectBadBody:
		return "bad_body"
	case rejectTooLarge:
		return "too_large"
	case rejectUnauthorized:
		return "unauthorized"
	case rejectWrongEncoding:
		return "wrong_encoding"
	case rejectMethod:
		return "method"
	case rejectNotFound:
		return "not_found"
	case rejectFull:
		return "full"
	case rejectShutdown:
		return "shutdown"
	case rejectUnavailable:
		return "unavailable"
	}
	return "unknown"
}

// httpCounters are updated by the handlers and read by Stats from any
// goroutine.
type httpCounters struct {
	requests   atomic.Int64
	events     atomic.Int64
	bytes      atomic.Int64
	duplicates atomic.Int64
	rejected   [numRejectReasons]atomic.Int64
}

// Stats returns the input's counters. It is safe to call concurrently.
func (h *HTTP) Stats() HTTPStats {
	c := &h.stats
	r := func(reason rejectReason) int64 { return c.rejected[reason].Load() }
	return HTTPStats{
		Requests:   c.requests.Load(),
		Events:     c.events.Load(),
		Bytes:      c.bytes.Load(),
		Duplicates: c.duplicates.Load(),
		Rejected: HTTPRejected{
			BadBody:       r(rejectBadBody),
			TooLarge:      r(rejectTooLarge),
			Unauthorized:  r(rejectUnauthorized),
			WrongEncoding: r(rejectWrongEncoding),
			Method:        r(rejectMethod),
			NotFound:      r(rejectNotFound),
			Full:          r(rejectFull),
			Shutdown:      r(rejectShutdown),
			Unavailable:   r(rejectUnavailable),
		},
	}
}

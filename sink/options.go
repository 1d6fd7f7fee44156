package sink

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"
)

// Options configures a Sink. Zero values take the defaults documented on
// each field.
type Options struct {
	Listen       string // address to listen on; default "127.0.0.1:0"
	Dir          string // directory of the event files; required
	MaxFileBytes int64  // rotate a file when it would grow past this; default 64 MiB
	MaxBodyBytes int64  // largest request body, on the wire and decoded; default 256 MiB

	// TCPListen, if set, is an address where the sink also takes
	// newline-framed lines over plain TCP (syslog-ng's network(), rsyslog's
	// omfwd); the faults apply to HTTP only.
	TCPListen string
	// IDs, if positive, counts the ids 0..IDs-1 (the N of "id=N" ending
	// pulse gen's lines) of every event written, starting from the files
	// already in Dir; Stats reports them.
	IDs int

	// Faults, for failure tests. Refused requests write nothing.
	FailRate   float64       // fraction of POSTs answered 503 + Retry-After: 1, in [0, 1]
	Latency    time.Duration // added before answering every request
	DownFor    time.Duration // answer DownStatus to everything for this long after start
	DownStatus int           // default 503 (with Retry-After: 1, as is 429)
	Seed       uint64        // makes FailRate's choices repeatable

	Quiet         bool          // no live count (the final line is still printed)
	Progress      io.Writer     // live count and final line; default os.Stderr
	ProgressEvery time.Duration // live count period; default 1s

	// ShutdownTimeout bounds how long Run waits for requests in flight once
	// its context is done; default 30s.
	ShutdownTimeout time.Duration
	Logger          *slog.Logger // default slog.Default()
}

// Defaults.
const (
	DefaultListen          = "127.0.0.1:0"
	DefaultMaxFileBytes    = 64 << 20
	DefaultMaxBodyBytes    = 256 << 20
	DefaultProgressEvery   = time.Second
	DefaultShutdownTimeout = 30 * time.Second
)

// withDefaults checks o and fills in its zero values.
func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, fmt.Errorf("sink: no directory")
	}
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	if o.IDs < 0 {
		return o, fmt.Errorf("sink: negative id count %d", o.IDs)
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = DefaultMaxFileBytes
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	// fasthttp counts body sizes in int.
	o.MaxBodyBytes = min(o.MaxBodyBytes, int64(maxInt))
	if !(o.FailRate >= 0 && o.FailRate <= 1) { // also rejects NaN
		return o, fmt.Errorf("sink: fail rate %v outside [0, 1]", o.FailRate)
	}
	if o.Latency < 0 || o.DownFor < 0 {
		return o, fmt.Errorf("sink: negative latency (%v) or down time (%v)", o.Latency, o.DownFor)
	}
	if o.DownStatus == 0 {
		o.DownStatus = http.StatusServiceUnavailable
	}
	if o.DownStatus < 200 || o.DownStatus > 599 {
		return o, fmt.Errorf("sink: down status %d is not an HTTP status", o.DownStatus)
	}
	if o.Progress == nil {
		o.Progress = os.Stderr
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = DefaultProgressEvery
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

const maxInt = int(^uint(0) >> 1)

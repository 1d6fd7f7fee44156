// Package event holds the record that crosses the agent's floors: the Batch
// an input reads, the Emit it hands the batch to, and ErrRejected, by which a
// receiver refuses one for good.
//
// It exists so that imports run one way. Inputs produce batches; the
// pipeline and the merger receive them (and the pipeline makes its own, of
// metric fragments). With the record in a leaf below all three, none of them
// imports another: an input does not know who receives its batches, and a
// receiver does not import the inputs that feed it.
package event

import (
	"context"
	"errors"
	"time"
)

// Batch is a run of events read by one input from one source.
//
// Events alias the input's read buffer: the receiver of Emit must copy what it
// keeps before Emit returns; the input may reuse the memory afterwards.
type Batch struct {
	Input  string    // name of the input, as configured
	Source string    // file path, "stdin", remote address
	Time   time.Time // time of receipt
	Events [][]byte  // raw event bytes, without the line terminator

	// Keys, if set, holds one routing key per event (fragments: the hash
	// of the metric key), used instead of a configured hash field.
	Keys []uint64

	// Sync asks for the batch to be stored at once rather than when the
	// outputs' batches fill or age: its sender (an HTTP client) is waiting.
	Sync bool

	// Replayable says the input reads these events again after a crash
	// until Commit runs (a file tail): nobody waits for Commit, so the
	// pipeline may defer it until what it derived from the events (metric
	// fragments) is stored too.
	Replayable bool

	// Commit, if not nil, is called exactly once when every event of the
	// batch is in every subscribed output's buffer (or dropped there by a
	// drop policy). It may be called from another goroutine, after Emit has
	// returned, and commits of one input may arrive out of order.
	Commit func()
}

// Emit hands a batch on. It blocks while downstream buffers are full under
// the block policy (backpressure), until ctx is done, and returns an error
// only when the batch could not be accepted (ctx done, shutdown); a file
// input then stops reading, an HTTP input answers 503.
type Emit func(ctx context.Context, b *Batch) error

// ErrRejected marks a batch its receiver refuses for good: retrying the
// same batch cannot succeed (a record does not decode, say). An Emit wraps
// it; the HTTP input answers 400 (counted as a bad body) instead of 503.
var ErrRejected = errors.New("batch rejected")

// Package pipeline turns input batches into encoded output batches: it fans
// each event out to the outputs subscribed to its stream, groups events per
// output by count, bytes and age, and encodes them for the wire.
package pipeline

import "context"

// Sink receives encoded batches for one output: its buffer.
//
// Put returns once the payload is stored (or dropped by the buffer's
// policy, which counts it); under the block policy it waits for space until
// ctx is done.
type Sink interface {
	Put(ctx context.Context, payload []byte, events int) error
}

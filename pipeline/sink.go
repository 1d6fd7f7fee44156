// Package pipeline turns input batches into encoded output batches: it fans
// each event out to the outputs subscribed to its stream, groups events per
// output by count, bytes and age, and encodes them for the wire.
package pipeline

import "context"

// Sink receives encoded batches for one output: its buffer.
//
// PutKey returns once the payload is stored (or dropped by the buffer's
// policy, which counts it); under the block policy it waits for space until
// ctx is done. key travels with the batch to the output: a hash-balanced
// output sends it to the node that owns the key.
type Sink interface {
	PutKey(ctx context.Context, key uint64, payload []byte, events int) error
}

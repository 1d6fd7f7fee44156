// Package outputs delivers batches from a buffer to their destination: files
// or HTTP endpoints. Outputs know nothing of parsing; a batch payload arrives
// already encoded for the wire.
package outputs

import "context"

// Batch is one unit of delivery: a payload encoded for the destination
// (lines, NDJSON, ...), the number of events in it, and the id by which it is
// acknowledged.
type Batch struct {
	ID       uint64
	Payload  []byte
	Events   int
	Key      uint64 // routing key: a hash-balanced cluster sends the batch to its owner
	Replayed bool   // delivered before a restart, perhaps already received
}

// Source is where an output reads its batches: a buffer. A batch handed out
// by Next is forgotten only after Ack(id). Several batches may be
// outstanding at once and be acknowledged in any order.
type Source interface {
	Next(ctx context.Context) (Batch, error)
	Ack(id uint64) error
}

package buffer

import (
	"context"
	"fmt"
)

// heldHead is the head of diskqueue handed out by Next without being
// consumed, for want of room to journal it (a full disk). While it is out,
// no other batch leaves diskqueue; its Ack consumes it.
type heldHead struct {
	seq   uint64
	frame []byte
	acked chan struct{} // closed once consumed
}

// acquireHead takes the consumer token for Next, first waiting out a head
// handed out unconsumed: until it is acknowledged, diskqueue would hand it
// out again.
func (q *Queue) acquireHead(ctx context.Context, op string) error {
	for {
		if err := q.acquireConsumer(ctx, op); err != nil {
			return err
		}
		q.mu.Lock()
		hh := q.head
		q.mu.Unlock()
		if hh == nil {
			return nil
		}
		q.releaseConsumer()
		select {
		case <-hh.acked:
		case <-ctx.Done():
			return fmt.Errorf("buffer %s: %s: %w", q.opts.Name, op, ctx.Err())
		case <-q.closing:
			return q.errClosed(op)
		}
	}
}

// handHead hands out the peeked head without consuming it. Callers hold
// the consumer token.
func (q *Queue) handHead(h header, frame []byte, cause error) Message {
	b := tally{batches: 1, events: h.eventsOf(), bytes: int64(lenPrefix + len(frame))}
	q.mu.Lock()
	q.head = &heldHead{seq: h.seq, frame: frame, acked: make(chan struct{})}
	q.queued.sub(b)
	q.inflight.add1(b.events, b.bytes)
	q.handed[h.seq] = b
	q.mu.Unlock()
	q.diskFull("disk full: no room to journal a batch in flight; sending one at a time from the head of the queue", "seq", h.seq, "err", cause)
	return Message{ID: h.seq, Payload: frame[headerSize:], Events: int(h.events), Key: h.key}
}

// ackHead consumes the held head if id is it.
func (q *Queue) ackHead(id uint64) error {
	q.mu.Lock()
	hh := q.head
	q.mu.Unlock()
	if hh == nil || hh.seq != id {
		return nil
	}
	// Next waits on hh.acked without the token, and Close takes it only
	// after closing: the token comes free.
	select {
	case q.consumer <- struct{}{}:
	case <-q.closing:
		return q.errClosed("ack")
	}
	defer q.releaseConsumer()
	// Recorded before consumed, as in Next: a crash between the two
	// leaves a frame that admit skips as consumed.
	if err := q.jr.setConsumed(id); err != nil {
		return fmt.Errorf("buffer %s: ack %d: record consumed: %w", q.opts.Name, id, err)
	}
	q.consumed = id
	q.consume(hh.frame)
	q.mu.Lock()
	q.head = nil
	q.mu.Unlock()
	close(hh.acked)
	return nil
}

package buffer

import (
	"context"
	"fmt"
)

// keepWriteBuf is the largest frame buffer kept between Puts.
const keepWriteBuf = 4 << 20

// Put stores one payload holding events events. It returns once the payload
// is written to the queue's segment (it survives a process crash; under
// FsyncAlways it is fsynced too, to survive a power loss), or dropped by the
// DropNewest/DropOldest policy (counted in Stats, nil returned). Under Block
// it waits for space; when ctx ends first it returns an error wrapping
// ErrFull and ctx.Err(). A payload above MaxPayloadBytes is an error
// (ErrTooLarge), not a drop.
func (q *Queue) Put(ctx context.Context, payload []byte, events int) error {
	return q.PutKey(ctx, 0, payload, events)
}

// PutKey is Put with a routing key, handed back in Message.Key: a
// hash-balanced output sends the batch to the node owning the key.
func (q *Queue) PutKey(ctx context.Context, key uint64, payload []byte, events int) error {
	if events < 0 || events > maxEvents {
		return fmt.Errorf("buffer %s: put: %d events out of range [0, %d]", q.opts.Name, events, maxEvents)
	}
	if int64(len(payload)) > q.opts.MaxPayloadBytes {
		return fmt.Errorf("buffer %s: put: %d bytes: %w (max %d)", q.opts.Name, len(payload), ErrTooLarge, q.opts.MaxPayloadBytes)
	}
	size := FrameBytes(len(payload))
	stored, err := q.reserve(ctx, size, int64(events))
	if err != nil || !stored {
		return err
	}
	// A full disk holds the writer back, as a full buffer does: the
	// reservation stands, and outputs delivering (or anyone) make room.
	if err := q.untilRoom(ctx, "put", func() error { return q.write(payload, uint32(events), key) }); err != nil {
		q.mu.Lock()
		q.queued.sub1(int64(events), size)
		q.freeSpace()
		q.mu.Unlock()
		return err
	}
	if err := q.sync.put(); err != nil {
		// Queued and counted, but perhaps not on stable storage: the
		// caller may put it again (a duplicate, not a loss).
		return fmt.Errorf("buffer %s: put: %w", q.opts.Name, err)
	}
	q.removeBenignBad()
	return nil
}

// reserve counts a frame of size bytes as queued, applying the policy while
// it does not fit. stored is false when the policy dropped it.
func (q *Queue) reserve(ctx context.Context, size, events int64) (stored bool, err error) {
	for {
		q.mu.Lock()
		if q.closed() {
			q.mu.Unlock()
			return false, q.errClosed("put")
		}
		held := q.queued.bytes + q.inflight.bytes + q.badBytes.Load() // .bad files count against the cap
		if held+size <= q.opts.MaxBytes {
			q.queued.add1(events, size)
			q.mu.Unlock()
			return true, nil
		}
		switch {
		// Evicting helps only if the batch fits beside what is in flight.
		case q.opts.WhenFull == DropOldest && q.queued.batches > 0 && q.inflight.bytes+q.badBytes.Load()+size <= q.opts.MaxBytes:
			q.mu.Unlock()
			if err := q.evictOldest(ctx); err != nil {
				return false, err
			}
		case q.opts.WhenFull == Block:
			space := q.space
			q.waiting++
			q.mu.Unlock()
			select {
			case <-space:
			case <-ctx.Done():
				err = fmt.Errorf("buffer %s: put: %w: %w", q.opts.Name, ErrFull, ctx.Err())
			case <-q.closing:
				err = q.errClosed("put")
			}
			q.mu.Lock()
			q.waiting--
			q.mu.Unlock()
			if err != nil {
				return false, err
			}
		default:
			// DropNewest, or DropOldest with too much in flight.
			q.counters.DroppedNewestBatches++
			q.counters.DroppedNewestEvents += events
			q.mu.Unlock()
			return false, nil
		}
	}
}

// write appends one frame to diskqueue, its seq assigned in queue order.
func (q *Queue) write(payload []byte, events uint32, key uint64) error {
	q.wmu.Lock()
	defer q.wmu.Unlock()
	if q.wclosed {
		return q.errClosed("put")
	}
	n := headerSize + len(payload)
	if cap(q.wbuf) < n {
		q.wbuf = make([]byte, n)
	}
	frame := q.wbuf[:n]
	copy(frame[headerSize:], payload)
	seq := q.nextSeq.Load()
	putHeader(frame, seq, events, key)
	// A failed write may leave part of the frame behind: never reuse seq.
	q.nextSeq.Store(seq + 1)
	// diskqueue copies the frame before Put returns.
	err := q.dq.Put(frame)
	if cap(q.wbuf) > keepWriteBuf {
		q.wbuf = nil
	}
	if err != nil {
		return fmt.Errorf("buffer %s: put: diskqueue: %w", q.opts.Name, err)
	}
	q.sync.wrote()
	return nil
}

// evictOldest drops the oldest queued batch, for DropOldest: a batch left in
// the journal at Open, else the head of diskqueue. It returns without
// dropping anything when there is nothing left to drop or space was freed
// meanwhile; the caller checks again.
func (q *Queue) evictOldest(ctx context.Context) error {
	// The head handed out on a full disk is in flight, not to be dropped:
	// wait for its Ack like any batch in flight.
	if err := q.acquireHead(ctx, "put"); err != nil {
		return err
	}
	defer q.releaseConsumer()

	q.mu.Lock()
	if q.queued.batches == 0 {
		q.mu.Unlock()
		return nil
	}
	if len(q.replay) > 0 {
		b := q.replay[0]
		q.replay = q.replay[1:]
		q.mu.Unlock()
		if err := q.jr.remove(b.seq); err != nil {
			q.mu.Lock()
			q.replay = append([]journaled{b}, q.replay...)
			q.mu.Unlock()
			return fmt.Errorf("buffer %s: put: drop oldest: %w", q.opts.Name, err)
		}
		q.mu.Lock()
		q.queued.sub1(b.events, b.bytes)
		q.counters.DroppedOldestBatches++
		q.counters.DroppedOldestEvents += b.events
		q.freeSpace()
		q.mu.Unlock()
		return nil
	}
	// Space freed (an Ack, or a Put that reserved and failed) also ends
	// the wait: the queued batches counted may all be such reservations.
	space := q.space
	q.waiting++
	q.mu.Unlock()
	frame, err := q.peek(ctx, space, "put")
	q.mu.Lock()
	q.waiting--
	q.mu.Unlock()
	if err != nil || frame == nil {
		return err
	}
	h, ok := q.admit(frame)
	if !ok {
		return nil // corrupt or duplicate, consumed and counted
	}
	// Recorded as consumed, so that a crash does not bring it back.
	if err := q.jr.setConsumed(h.seq); err != nil {
		return fmt.Errorf("buffer %s: put: drop oldest: record consumed: %w", q.opts.Name, err)
	}
	q.consumed = h.seq
	q.crashPoint("evicting")
	q.consume(frame)
	q.mu.Lock()
	q.queued.sub1(h.eventsOf(), int64(lenPrefix+len(frame)))
	q.counters.DroppedOldestBatches++
	q.counters.DroppedOldestEvents += h.eventsOf()
	q.freeSpace()
	q.mu.Unlock()
	return nil
}

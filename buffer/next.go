package buffer

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"time"
)

// Next returns the next batch, waiting until one is available or ctx ends.
// The batch stays on disk, journaled as in flight, until Ack(ID). Batches
// found in flight at Open are handed out first, with Replayed set.
func (q *Queue) Next(ctx context.Context) (Message, error) {
	if q.closed() {
		return Message{}, q.errClosed("next")
	}
	if m, ok, err := q.nextReplayed(); ok || err != nil {
		return m, err
	}
	if err := q.acquireHead(ctx, "next"); err != nil {
		return Message{}, err
	}
	defer q.releaseConsumer()
	for {
		frame, err := q.peek(ctx, nil, "next")
		if err != nil {
			return Message{}, err
		}
		// diskqueue has renamed any .bad file met on the way to this frame.
		q.removeBenignBad()
		h, ok := q.admit(frame)
		if !ok {
			continue
		}
		// Journal, then record as consumed, then consume: a crash at any
		// point leaves the batch either in diskqueue or in the journal.
		if err := q.jr.write(h.seq, frame); err != nil {
			if isDiskFull(err) {
				// No room for the journal copy: hand the head out
				// unconsumed, one at a time. Delivering it is how room is
				// made; a crash meanwhile leaves it in diskqueue.
				return q.handHead(h, frame, err), nil
			}
			return Message{}, fmt.Errorf("buffer %s: next: journal batch %d: %w", q.opts.Name, h.seq, err)
		}
		q.crashPoint("journaled")
		if err := q.jr.setConsumed(h.seq); err != nil {
			_ = q.jr.remove(h.seq)
			return Message{}, fmt.Errorf("buffer %s: next: record consumed %d: %w", q.opts.Name, h.seq, err)
		}
		q.consumed = h.seq
		q.crashPoint("recorded")
		q.consume(frame)
		q.crashPoint("consumed")
		b := tally{batches: 1, events: h.eventsOf(), bytes: int64(lenPrefix + len(frame))}
		q.mu.Lock()
		q.queued.sub(b)
		q.inflight.add1(b.events, b.bytes)
		q.handed[h.seq] = b
		q.mu.Unlock()
		return Message{ID: h.seq, Payload: frame[headerSize:], Events: int(h.events), Key: h.key}, nil
	}
}

// Ack forgets a batch handed out by Next, freeing its bytes.
func (q *Queue) Ack(id uint64) error {
	if q.closed() {
		return q.errClosed("ack")
	}
	q.mu.Lock()
	b, ok := q.handed[id]
	delete(q.handed, id)
	q.mu.Unlock()
	if !ok {
		return fmt.Errorf("buffer %s: ack %d: not in flight", q.opts.Name, id)
	}
	if err := q.ackHead(id); err != nil {
		q.mu.Lock()
		q.handed[id] = b
		q.mu.Unlock()
		return err
	}
	if err := q.jr.remove(id); err != nil {
		q.mu.Lock()
		q.handed[id] = b
		q.mu.Unlock()
		return fmt.Errorf("buffer %s: ack %d: %w", q.opts.Name, id, err)
	}
	q.mu.Lock()
	q.inflight.sub(b)
	q.freeSpace()
	q.mu.Unlock()
	return nil
}

// nextReplayed hands out the next batch left in the journal at Open.
func (q *Queue) nextReplayed() (Message, bool, error) {
	for {
		q.mu.Lock()
		if len(q.replay) == 0 {
			q.mu.Unlock()
			return Message{}, false, nil
		}
		b := q.replay[0]
		q.replay = q.replay[1:]
		q.mu.Unlock()

		frame, err := q.jr.read(b.seq)
		if err != nil && !isNotExist(err) {
			q.mu.Lock()
			q.replay = append([]journaled{b}, q.replay...)
			q.mu.Unlock()
			return Message{}, false, fmt.Errorf("buffer %s: next: replay batch %d: %w", q.opts.Name, b.seq, err)
		}
		h, ok := checkFrame(frame)
		if !ok || h.seq != b.seq {
			_ = q.jr.remove(b.seq)
			q.mu.Lock()
			q.queued.sub1(b.events, b.bytes)
			q.counters.CorruptBatches++
			q.counters.LostEvents += b.events
			q.freeSpace()
			q.mu.Unlock()
			q.log.Error("corrupt journaled batch removed", "seq", b.seq, "bytes", len(frame), "events", b.events)
			continue
		}
		q.mu.Lock()
		q.queued.sub1(b.events, b.bytes)
		q.inflight.add1(b.events, b.bytes)
		q.handed[b.seq] = tally{batches: 1, events: b.events, bytes: b.bytes}
		q.counters.ReplayedBatches++
		q.counters.ReplayedEvents += b.events
		q.mu.Unlock()
		return Message{ID: b.seq, Payload: frame[headerSize:], Events: int(h.events), Key: h.key, Replayed: true}, true, nil
	}
}

// acquireConsumer takes the consumer token.
func (q *Queue) acquireConsumer(ctx context.Context, op string) error {
	select {
	case q.consumer <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("buffer %s: %s: %w", q.opts.Name, op, ctx.Err())
	case <-q.closing:
		return q.errClosed(op)
	}
}

func (q *Queue) releaseConsumer() {
	<-q.consumer
}

// peek waits for the head of diskqueue without consuming it. It returns a
// nil frame and no error when wake fires first. Callers hold the consumer
// token.
func (q *Queue) peek(ctx context.Context, wake <-chan struct{}, op string) ([]byte, error) {
	select {
	case frame := <-q.dq.PeekChan():
		return frame, nil
	case <-wake:
		return nil, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("buffer %s: %s: %w", q.opts.Name, op, ctx.Err())
	case <-q.closing:
		return nil, q.errClosed(op)
	}
}

// consume takes the peeked head off diskqueue. Callers hold the consumer
// token, so it is the frame peeked (perhaps read again into a new slice).
func (q *Queue) consume(peeked []byte) {
	got := <-q.dq.ReadChan()
	if len(got) != len(peeked) || !bytes.Equal(got[:min(len(got), headerSize)], peeked[:min(len(peeked), headerSize)]) {
		q.log.Error("diskqueue consumed a different message than peeked", "peeked_bytes", len(peeked), "got_bytes", len(got))
	}
}

// admit checks the peeked head: a frame failing its CRC, or one consumed
// before a crash (diskqueue delivers it again), is consumed and counted here
// and admit returns false. Callers hold the consumer token.
func (q *Queue) admit(frame []byte) (header, bool) {
	h, ok := checkFrame(frame)
	switch {
	case !ok:
		q.consume(frame)
		events := int64(0)
		if len(frame) >= headerSize {
			events = parseHeader(frame).eventsOf()
		}
		bad, qerr := q.quarantine(frame)
		q.mu.Lock()
		q.queued.sub1(events, int64(lenPrefix+len(frame)))
		q.counters.CorruptBatches++
		q.counters.LostEvents += events
		q.freeSpace()
		q.mu.Unlock()
		if ok, suppressed := q.corruptLog.Allow(time.Now()); ok {
			args := []any{"bytes", len(frame), "events", events, "bad_file", bad, "suppressed", suppressed}
			if qerr != nil {
				args = append(args, "quarantine_err", qerr)
			}
			q.log.Error("corrupt batch skipped: CRC mismatch, kept in the .bad file", args...)
		}
		return h, false
	case h.seq <= q.consumed:
		q.consume(frame)
		q.mu.Lock()
		q.queued.sub1(h.eventsOf(), int64(lenPrefix+len(frame)))
		q.counters.SkippedDuplicates++
		q.freeSpace()
		q.mu.Unlock()
		if ok, suppressed := q.dupLog.Allow(time.Now()); ok {
			q.log.Info("batch consumed before a restart skipped", "seq", h.seq, "consumed", q.consumed, "suppressed", suppressed)
		}
		return h, false
	}
	return h, true
}

// quarantine appends a frame that failed its CRC, as segment bytes, to the
// .bad file of the segment diskqueue read it from: corruption stays on
// record (Stats.BadSegments, /health) until an operator reviews and removes
// it.
func (q *Queue) quarantine(frame []byte) (string, error) {
	seg := q.readFile.Load()
	if seg == nil {
		return "", fmt.Errorf("segment unknown")
	}
	path := *seg + ".bad"
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return path, err
	}
	var prefix [lenPrefix]byte
	binary.BigEndian.PutUint32(prefix[:], uint32(len(frame)))
	_, err = f.Write(append(prefix[:], frame...))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	q.disk.invalidate()
	return path, err
}

// crashPoint lets tests take a snapshot of the files at the points where a
// crash would be most harmful.
func (q *Queue) crashPoint(name string) {
	if q.onCrashPoint != nil {
		q.onCrashPoint(name)
	}
}

package merger

import (
	"context"
	"errors"
	"fmt"

	"pulse/buffer"
	"pulse/event"
	"pulse/metrics"
	"pulse/protocol"
)

// maxPooledPayload is the largest payload scratch kept for the next Emit.
const maxPooledPayload = 8 << 20

// Emit is the inputs' Emit. It checks that every event of b decodes as a
// fragment, stores the batch in the stage's buffer and calls b.Commit, so
// that a sender's 200 means "durably accepted". A batch with a record that
// is not a fragment is refused whole and nothing of it is stored: the
// error wraps event.ErrRejected (and metrics.ErrBadFragment), and the HTTP
// input answers 400. When the buffer stays full Emit waits until ctx ends
// (backpressure) and returns an error wrapping buffer.ErrFull.
//
// Emit decodes every fragment once here and once more in Run: refusing a
// bad batch before it is stored is what lets the sender learn of it.
func (m *Merger) Emit(ctx context.Context, b *event.Batch) error {
	if len(b.Events) == 0 {
		if b.Commit != nil {
			b.Commit()
		}
		return nil
	}
	for i, rec := range b.Events {
		if _, err := metrics.DecodeFragment(rec); err != nil {
			m.c.rejected.Add(1)
			return fmt.Errorf("merger: record %d of %d: %w: %w", i+1, len(b.Events), event.ErrRejected, err)
		}
	}
	w := m.writers.Get().(*protocol.Writer)
	w.Reset(w.Bytes())
	for _, rec := range b.Events {
		w.Append(rec)
	}
	err := m.q.Put(ctx, w.Bytes(), len(b.Events))
	if w.Len() <= maxPooledPayload {
		m.writers.Put(w)
	}
	if err != nil {
		if errors.Is(err, buffer.ErrTooLarge) {
			m.c.rejected.Add(1)
			return fmt.Errorf("merger: %w: %w", event.ErrRejected, err)
		}
		return fmt.Errorf("merger: store batch: %w", err)
	}
	m.c.batches.Add(1)
	m.c.fragments.Add(uint64(len(b.Events)))
	if b.Commit != nil {
		b.Commit()
	}
	return nil
}

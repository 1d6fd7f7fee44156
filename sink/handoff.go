package sink

import (
	"context"
	"fmt"
	"sync"

	"pulse/outputs"
)

// job is one request's batch on its way to the writer, with the scratch
// space its body was decoded into. Jobs are pooled.
type job struct {
	raw     []byte // decompressed body
	payload []byte // events, each followed by '\n', when not aliasing the body
	batch   outputs.Batch
	done    chan struct{} // receives once the batch is written
}

// handoff is the outputs.Source through which request handlers pass their
// batches to the one writer goroutine (an outputs.File) and learn, by its
// Ack, that write(2) has returned. in is unbuffered: a batch is either
// with the writer or still with its handler, never stranded in between.
type handoff struct {
	in         chan *job
	writerDone <-chan struct{} // closed when the writer has stopped

	mu  sync.Mutex
	out map[uint64]*job // with the writer, not yet acknowledged
}

var _ outputs.Source = (*handoff)(nil)

func newHandoff(writerDone <-chan struct{}) *handoff {
	return &handoff{in: make(chan *job), writerDone: writerDone, out: make(map[uint64]*job)}
}

// Next hands the writer the next batch of any handler.
func (h *handoff) Next(ctx context.Context) (outputs.Batch, error) {
	select {
	case j := <-h.in:
		h.mu.Lock()
		h.out[j.batch.ID] = j
		h.mu.Unlock()
		return j.batch, nil
	case <-ctx.Done():
		return outputs.Batch{}, ctx.Err()
	}
}

// Ack tells the batch's handler that it is written.
func (h *handoff) Ack(id uint64) error {
	h.mu.Lock()
	j, ok := h.out[id]
	delete(h.out, id)
	h.mu.Unlock()
	if !ok {
		return fmt.Errorf("ack of batch %d, which is not outstanding", id)
	}
	j.done <- struct{}{} // buffered, and sent once per hand-over
	return nil
}

// write passes j to the writer and waits until it is written (true) or the
// writer has stopped without writing it (false).
func (h *handoff) write(j *job) bool {
	select {
	case h.in <- j:
	case <-h.writerDone:
		return false
	}
	select {
	case <-j.done:
		return true
	case <-h.writerDone:
		// The writer may have acknowledged j just before stopping.
		select {
		case <-j.done:
			return true
		default:
			return false
		}
	}
}

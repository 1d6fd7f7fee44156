package outputs

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeSource is an in-memory Source: a queue of batches, with every
// acknowledgement recorded. Next blocks until a batch is queued or ctx ends.
type fakeSource struct {
	mu      sync.Mutex
	queue   []Batch
	out     map[uint64]bool // handed out, not yet acknowledged
	acks    map[uint64]int  // Ack calls per id, including bad ones
	ackList []uint64
	wake    chan struct{}
}

func newFakeSource(batches ...Batch) *fakeSource {
	return &fakeSource{
		queue: slices.Clone(batches),
		out:   make(map[uint64]bool),
		acks:  make(map[uint64]int),
		wake:  make(chan struct{}, 1),
	}
}

func (s *fakeSource) Next(ctx context.Context) (Batch, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			b := s.queue[0]
			s.queue = s.queue[1:]
			s.out[b.ID] = true
			s.mu.Unlock()
			return b, nil
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return Batch{}, ctx.Err()
		case <-s.wake:
		}
	}
}

func (s *fakeSource) Ack(id uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acks[id]++
	if !s.out[id] {
		return fmt.Errorf("ack of batch %d, which is not outstanding", id)
	}
	delete(s.out, id)
	s.ackList = append(s.ackList, id)
	return nil
}

// acked is the number of successful acknowledgements.
func (s *fakeSource) acked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ackList)
}

// outstanding is the number of batches handed out and not acknowledged.
func (s *fakeSource) outstanding() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.out)
}

// ackCalls returns a copy of the Ack calls per id.
func (s *fakeSource) ackCalls() map[uint64]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[uint64]int, len(s.acks))
	for k, v := range s.acks {
		m[k] = v
	}
	return m
}

// start runs run in a goroutine. The returned stop cancels it and returns
// its error, failing the test if it does not return within a few seconds.
// stop is also registered as a cleanup, so the goroutine never outlives the
// test; calling it again returns the first result.
func start(t testing.TB, run func(ctx context.Context) error) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	var (
		once   sync.Once
		result error
	)
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-done:
			case <-time.After(5 * time.Second):
				t.Errorf("Run did not return within 5s of cancellation")
				result = <-done // still wait: the goroutine must not leak
			}
		})
		return result
	}
	t.Cleanup(func() { stop() })
	return stop
}

// makeBatches returns n batches with ids from 1, each of lines lines.
func makeBatches(n, lines int) []Batch {
	bs := make([]Batch, n)
	for i := range bs {
		id := uint64(i + 1)
		var p []byte
		for j := range lines {
			p = fmt.Appendf(p, "batch=%d line=%d msg=\"hello\"\n", id, j)
		}
		bs[i] = Batch{ID: id, Payload: p, Events: lines}
	}
	return bs
}

package buffer

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pulse/testenv"
)

// TestCapOnDisk checks the promise made to operators: the files of a queue
// never take more than MaxBytes plus one segment (plus a few bytes of
// metadata). Writers fill the queue under Block while a slow reader, moving
// one step (a Next or an Ack) per sample of the directory and only while the
// writers wait for space, keeps a few batches in flight.
func TestCapOnDisk(t *testing.T) {
	const (
		writers   = 2
		perWriter = 100
		size      = 64 << 10
		slack     = 4 << 10 // diskqueue metadata, consumed record
	)
	dir := t.TempDir()
	opts := testOptions(t, dir)
	opts.MaxBytes = 4 << 20
	q := openQueue(t, opts)
	segment := q.opts.SegmentBytes // the default: 1 MiB

	var wg sync.WaitGroup
	var done atomic.Int32
	for w := range writers {
		wg.Go(func() {
			defer done.Add(1)
			for i := range perWriter {
				if err := q.Put(context.Background(), payload(fmt.Sprintf("w%d-%d", w, i), size), 1); err != nil {
					t.Errorf("Put: %v", err)
					return
				}
			}
		})
	}

	var maxDisk, maxBytes int64
	var held []uint64
	received := 0
	deadline := time.Now().Add(60 * time.Second)
	for step := 0; received < writers*perWriter || len(held) > 0; step++ {
		if step > 10*writers*perWriter || time.Now().After(deadline) {
			t.Fatalf("stuck after %d steps: received %d", step, received)
		}
		// Slow: a step only once the writers wait for space.
		testenv.WaitFor(t, 10*time.Second, "writers to block", func() bool {
			q.mu.Lock()
			defer q.mu.Unlock()
			return q.waiting > 0 || done.Load() == writers
		})
		maxDisk = max(maxDisk, dirBytes(dir))
		maxBytes = max(maxBytes, q.Stats().Bytes)
		if len(held) < 4 && received < writers*perWriter {
			held = append(held, mustNext(t, q).ID)
			received++
			continue
		}
		mustAck(t, q, held[0])
		held = held[1:]
	}
	wg.Wait()

	limit := opts.MaxBytes + segment + slack
	t.Logf("max on disk %d, max counted %d, cap %d, limit %d", maxDisk, maxBytes, opts.MaxBytes, limit)
	if maxDisk > limit {
		t.Fatalf("%d bytes on disk, over MaxBytes + one segment (%d)", maxDisk, limit)
	}
	if maxBytes > opts.MaxBytes {
		t.Fatalf("Stats.Bytes reached %d, over MaxBytes %d", maxBytes, opts.MaxBytes)
	}
	// The test only means something if the queue was full.
	if maxBytes < opts.MaxBytes-2*(size+frameOverhead) {
		t.Fatalf("queue never filled: max %d counted", maxBytes)
	}
	if after := dirBytes(dir); after > segment+slack {
		t.Fatalf("%d bytes left on disk after draining", after)
	}
}

package buffer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"pulse/testenv"
)

// With MaxBytes 1 MiB and 100 KiB payloads, ten batches fit and the
// eleventh does not.
const (
	policyCap     = 1 << 20
	policyPayload = 100 << 10
	policyFit     = policyCap / (policyPayload + frameOverhead)
)

func policyQueue(t *testing.T, p Policy) *Queue {
	opts := testOptions(t, t.TempDir())
	opts.MaxBytes = policyCap
	opts.WhenFull = p
	return openQueue(t, opts)
}

func TestPolicyBlock(t *testing.T) {
	q := policyQueue(t, Block)
	var ids []uint64
	for i := range policyFit {
		mustPut(t, q, payload(fmt.Sprintf("b%d", i), policyPayload), 1)
		ids = append(ids, mustNext(t, q).ID) // all of it in flight
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := q.Put(ctx, payload("late", policyPayload), 1)
	if !errors.Is(err, ErrFull) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put on a full queue: %v, want ErrFull and DeadlineExceeded", err)
	}

	done := make(chan error, 1)
	go func() { done <- q.Put(context.Background(), payload("resumed", policyPayload), 7) }()
	testenv.WaitFor(t, 5*time.Second, "Put to block", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return q.waiting == 1
	})
	select {
	case err := <-done:
		t.Fatalf("Put returned %v before space was freed", err)
	default:
	}
	mustAck(t, q, ids[3]) // out of order
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Put after Ack: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Put did not resume after Ack")
	}
	m := mustNext(t, q)
	if idOf(m.Payload) != "resumed" || m.Events != 7 {
		t.Fatalf("got %q with %d events", idOf(m.Payload), m.Events)
	}
	if s := q.Stats(); s.DroppedNewestBatches != 0 || s.DroppedOldestBatches != 0 || s.InFlight != policyFit {
		t.Fatalf("stats: %+v", s)
	}
}

func TestPolicyDrops(t *testing.T) {
	const produced = 3 * policyFit
	tests := []struct {
		policy    Policy
		inFlight  int // batches taken in flight before producing
		delivered []int
		newest    int // batches dropped as newest
		oldest    int
	}{
		{DropNewest, 0, seq(0, policyFit), produced - policyFit, 0},
		{DropOldest, 0, seq(produced-policyFit, produced), 0, produced - policyFit},
		// Everything in flight: nothing old to drop, so the new batch goes.
		{DropOldest, policyFit, nil, produced, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/inflight=%d", tt.policy, tt.inFlight), func(t *testing.T) {
			q := policyQueue(t, tt.policy)
			for i := range tt.inFlight {
				mustPut(t, q, payload(fmt.Sprintf("pre%d", i), policyPayload), 1)
				mustNext(t, q)
			}
			var events int64
			for i := range produced {
				mustPut(t, q, payload(fmt.Sprintf("b%d", i), policyPayload), i+1)
				events += int64(i + 1)
			}
			var got []int
			var gotEvents int64
			for _, id := range drain(t, q) {
				var i int
				if _, err := fmt.Sscanf(id, "b%d", &i); err != nil {
					t.Fatalf("unexpected id %q", id)
				}
				got = append(got, i)
				gotEvents += int64(i + 1)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.delivered) {
				t.Fatalf("delivered %v, want %v", got, tt.delivered)
			}
			s := q.Stats()
			if s.DroppedNewestBatches != int64(tt.newest) || s.DroppedOldestBatches != int64(tt.oldest) {
				t.Fatalf("dropped newest %d oldest %d, want %d %d", s.DroppedNewestBatches, s.DroppedOldestBatches, tt.newest, tt.oldest)
			}
			if n := int64(len(got)) + s.DroppedNewestBatches + s.DroppedOldestBatches; n != produced {
				t.Fatalf("delivered+dropped batches = %d, want %d", n, produced)
			}
			if n := gotEvents + s.DroppedNewestEvents + s.DroppedOldestEvents; n != events {
				t.Fatalf("delivered+dropped events = %d, want %d", n, events)
			}
		})
	}
}

// TestPolicyDropsConcurrent checks the accounting with producers and a
// reader racing: every batch is either delivered or counted as dropped.
func TestPolicyDropsConcurrent(t *testing.T) {
	for _, p := range []Policy{DropNewest, DropOldest} {
		t.Run(string(p), func(t *testing.T) {
			q := policyQueue(t, p)
			const writers, perWriter = 4, 150
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := range perWriter {
						if err := q.Put(context.Background(), payload(fmt.Sprintf("w%d-%d", w, i), policyPayload/4), w+1); err != nil {
							t.Errorf("Put: %v", err)
							return
						}
					}
				})
			}
			seen := make(map[string]bool)
			var events int64
			stop := make(chan struct{})
			readerDone := make(chan struct{})
			go func() {
				defer close(readerDone)
				var held []uint64
				for {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
					m, err := q.Next(ctx)
					cancel()
					if err != nil {
						select {
						case <-stop:
							return
						default:
							continue
						}
					}
					if seen[idOf(m.Payload)] {
						t.Errorf("duplicate %s", idOf(m.Payload))
					}
					seen[idOf(m.Payload)] = true
					events += int64(m.Events)
					// Hold a few in flight, acked out of order.
					held = append(held, m.ID)
					if len(held) == 3 {
						for _, id := range []uint64{held[1], held[2], held[0]} {
							if err := q.Ack(id); err != nil {
								t.Errorf("Ack: %v", err)
							}
						}
						held = held[:0]
					}
				}
			}()
			wg.Wait()
			testenv.WaitFor(t, 20*time.Second, "reader to catch up", func() bool { return q.Stats().Batches == 0 })
			close(stop)
			<-readerDone

			s := q.Stats()
			produced := int64(writers * perWriter)
			wantEvents := int64(perWriter * (1 + 2 + 3 + 4))
			if n := int64(len(seen)) + s.DroppedNewestBatches + s.DroppedOldestBatches; n != produced {
				t.Fatalf("delivered %d + dropped %d/%d = %d, want %d", len(seen), s.DroppedNewestBatches, s.DroppedOldestBatches, n, produced)
			}
			if n := events + s.DroppedNewestEvents + s.DroppedOldestEvents; n != wantEvents {
				t.Fatalf("events delivered+dropped = %d, want %d", n, wantEvents)
			}
			t.Logf("delivered %d, dropped newest %d, oldest %d", len(seen), s.DroppedNewestBatches, s.DroppedOldestBatches)
		})
	}
}

func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

// TestDropOldestKeepsQueueWhenEvictionCannotHelp: a batch that would not fit
// beside what is in flight even with the queue emptied is dropped at once,
// without evicting anything.
func TestDropOldestKeepsQueueWhenEvictionCannotHelp(t *testing.T) {
	q := policyQueue(t, DropOldest)
	mustPut(t, q, payload("inflight", 512<<10), 1)
	mustNext(t, q)
	mustPut(t, q, payload("queued", 200<<10), 2)
	mustPut(t, q, payload("big", 512<<10), 3)
	s := q.Stats()
	if s.DroppedNewestBatches != 1 || s.DroppedNewestEvents != 3 || s.DroppedOldestBatches != 0 || s.Batches != 1 {
		t.Fatalf("stats: %+v", s)
	}
	if got := drain(t, q); fmt.Sprint(got) != "[queued]" {
		t.Fatalf("delivered %v", got)
	}
}

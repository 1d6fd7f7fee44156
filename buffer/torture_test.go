package buffer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pulse/testenv"
)

// TestTorture runs 8 writers and one reader (several batches in flight, acked
// out of order) against a small cap with small segments, closing and
// reopening the queue under them several times. Every batch is delivered at
// least once, duplicates are exactly the replays, and Stats agrees with what
// the test counted at every reopen.
func TestTorture(t *testing.T) {
	const (
		writers   = 8
		perWriter = 2000
		produced  = writers * perWriter
		phases    = 4
	)
	dir := t.TempDir()
	opts := testOptions(t, dir)
	opts.MaxBytes = 1 << 20
	opts.SegmentBytes = 16 << 10 // many rotations, and so diskqueue bug #38
	opts.SyncEvery = 100

	eventsOf := func(i int) int { return i%7 + 1 }
	next := make([]int, writers) // per writer: next index to put
	var puts, putEvents, acks, ackEvents atomic.Int64
	delivered := make(map[string]int, produced)
	var deliveries, replayedSeen int64
	var total Stats // counters summed over the runs

	for phase := range phases {
		q, err := Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		if s := q.Stats(); s.Batches != puts.Load()-acks.Load() || s.Events != putEvents.Load()-ackEvents.Load() || s.InFlight != 0 {
			t.Fatalf("phase %d open: %d batches %d events, want %d %d", phase, s.Batches, s.Events,
				puts.Load()-acks.Load(), putEvents.Load()-ackEvents.Load())
		}

		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for next[w] < perWriter {
					i := next[w]
					err := q.Put(context.Background(), payload(fmt.Sprintf("w%d-%d", w, i), 40+i%200), eventsOf(i))
					if errors.Is(err, ErrClosed) {
						return // put it again in the next phase
					}
					if err != nil {
						t.Errorf("Put: %v", err)
						return
					}
					next[w]++
					puts.Add(1)
					putEvents.Add(int64(eventsOf(i)))
				}
			})
		}
		readerDone := make(chan struct{})
		go func() {
			defer close(readerDone)
			var held []Message
			for {
				m, err := q.Next(context.Background())
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Next: %v", err)
					return
				}
				delivered[idOf(m.Payload)]++
				deliveries++
				if m.Replayed {
					replayedSeen++
				}
				held = append(held, m)
				if len(held) < 5 {
					continue
				}
				for _, k := range []int{2, 0, 4, 1, 3} {
					if err := q.Ack(held[k].ID); err != nil {
						if !errors.Is(err, ErrClosed) {
							t.Errorf("Ack: %v", err)
						}
						continue
					}
					acks.Add(1)
					ackEvents.Add(int64(held[k].Events))
				}
				held = held[:0]
			}
		}()

		if phase < phases-1 {
			// Close midway, with writers and the reader busy.
			target := int64(produced * (phase + 1) / phases)
			testenv.WaitFor(t, 60*time.Second, fmt.Sprintf("phase %d to reach %d puts", phase, target), func() bool {
				return puts.Load() >= target
			})
		} else {
			wg.Wait()
			testenv.WaitFor(t, 60*time.Second, "the reader to drain", func() bool {
				s := q.Stats()
				return s.Batches == 0 && puts.Load()-acks.Load() <= 4
			})
		}
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		<-readerDone
		s := q.Stats()
		if got, want := s.Batches+int64(s.InFlight), puts.Load()-acks.Load(); got != want {
			t.Fatalf("phase %d closed: %d queued + %d in flight, want %d", phase, s.Batches, s.InFlight, want)
		}
		total.ReplayedBatches += s.ReplayedBatches
		total.SkippedDuplicates += s.SkippedDuplicates
		total.CorruptBatches += s.CorruptBatches
		total.DroppedNewestBatches += s.DroppedNewestBatches + s.DroppedOldestBatches
		t.Logf("phase %d: %d puts, %d acks, %d replayed, disk %d bytes, benign .bad %d", phase, puts.Load(), acks.Load(), s.ReplayedBatches, s.DiskBytes, q.benignN)
	}

	// What the last reader held unacked is delivered again, replayed.
	q := openQueue(t, opts)
	for _, m := range drainMessages(t, q) {
		delivered[idOf(m.Payload)]++
		deliveries++
		if m.Replayed {
			replayedSeen++
		}
	}
	s := q.Stats()
	total.ReplayedBatches += s.ReplayedBatches
	if s.Batches != 0 || s.InFlight != 0 || s.Bytes != 0 {
		t.Fatalf("final stats: %+v", s)
	}

	if puts.Load() != produced {
		t.Fatalf("%d puts, want %d", puts.Load(), produced)
	}
	for w := range writers {
		for i := range perWriter {
			if delivered[fmt.Sprintf("w%d-%d", w, i)] == 0 {
				t.Fatalf("w%d-%d never delivered", w, i)
			}
		}
	}
	if len(delivered) != produced {
		t.Fatalf("%d distinct ids delivered, want %d", len(delivered), produced)
	}
	if deliveries != produced+total.ReplayedBatches || replayedSeen != total.ReplayedBatches {
		t.Fatalf("%d deliveries (%d replayed seen), want %d + %d replayed", deliveries, replayedSeen, produced, total.ReplayedBatches)
	}
	if total.SkippedDuplicates != 0 || total.CorruptBatches != 0 || total.DroppedNewestBatches != 0 {
		t.Fatalf("clean closes should skip, corrupt or drop nothing: %+v", total)
	}
	if bad := filesWithSuffix(t, dir, ".bad"); len(bad) != 0 {
		t.Fatalf(".bad files left: %v", bad)
	}
}

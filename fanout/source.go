package fanout

import (
	"context"
	"fmt"
	"sync"

	"pulse/buffer"
	"pulse/outputs"
)

// source is where one output reads: its own buffer first (what it holds is
// older than the window), then the window.
type source struct {
	f     *Fanout
	i     int
	own   *buffer.Queue
	ownCh chan buffer.Message // fed by readOwn

	mu   sync.Mutex
	held int // events of the batch readOwn took from own and Next has not: in flight there, queued here
	hold bool
}

// Source returns where output i (in Options.Names' order) reads.
func (f *Fanout) Source(i int) outputs.Source { return f.srcs[i] }

// readOwn hands the batches of the output's own buffer to Next. One taken
// from the buffer and not yet by Next when ctx ends stays in flight there,
// handed out again after a restart.
func (s *source) readOwn(ctx context.Context) error {
	for {
		m, err := s.own.Next(ctx)
		if err != nil {
			return err
		}
		s.setHeld(true, m.Events)
		select {
		case s.ownCh <- m:
			s.setHeld(false, 0)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *source) setHeld(hold bool, events int) {
	s.mu.Lock()
	s.hold, s.held = hold, events
	s.mu.Unlock()
}

func (s *source) heldBatch() (events int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held, s.hold
}

// Next returns the output's next batch, waiting until one is there or ctx
// is done.
func (s *source) Next(ctx context.Context) (outputs.Batch, error) {
	f := s.f
	for {
		select {
		case m := <-s.ownCh:
			return batch(m, ownBit), nil
		default:
		}
		f.mu.Lock()
		e, behind := f.take(s.i)
		changed := f.changed
		f.mu.Unlock()
		if e != nil {
			if behind {
				s.caughtUp()
			}
			return batch(e.m, 0), nil
		}
		select {
		case m := <-s.ownCh:
			return batch(m, ownBit), nil
		case <-changed:
		case <-ctx.Done():
			return outputs.Batch{}, fmt.Errorf("fanout: output %s: next: %w", f.opts.Names[s.i], ctx.Err())
		}
	}
}

func batch(m buffer.Message, bit uint64) outputs.Batch {
	return outputs.Batch{ID: m.ID | bit, Payload: m.Payload, Events: m.Events, Key: m.Key, Replayed: m.Replayed}
}

// take hands output i the oldest batch of the window it has not taken,
// nil if there is none, and whether i is marked behind. Callers hold mu.
func (f *Fanout) take(i int) (*entry, bool) {
	for _, e := range f.window {
		if e.state[i] != statePending {
			continue
		}
		e.state[i] = stateTaken
		e.untaken--
		if e.untaken == 0 {
			f.waiting--
			f.notify()
		}
		return e, f.behind[i]
	}
	return nil, false
}

// caughtUp ends the output's spilling once it takes from the window with
// nothing left in its own buffer.
func (s *source) caughtUp() {
	if st := s.own.Stats(); st.Batches > 0 {
		return
	}
	f := s.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.behind[s.i] {
		f.behind[s.i] = false
		f.log.Info("output caught up: it takes its batches from the shared buffer again", "output", f.opts.Names[s.i])
	}
}

// Ack forgets a batch once the output delivered it.
func (s *source) Ack(id uint64) error {
	if id&ownBit != 0 {
		return s.own.Ack(id &^ ownBit)
	}
	f := s.f
	f.mu.Lock()
	e := f.byID[id]
	if e == nil || e.state[s.i] != stateTaken {
		f.mu.Unlock()
		return fmt.Errorf("fanout: output %s: ack %d: not in flight", f.opts.Names[s.i], id)
	}
	ack := f.done(e, s.i)
	f.mu.Unlock()
	if ack {
		return f.ackShared(e)
	}
	return nil
}

// Stats is output i's part of the buffers: its own buffer's, plus the
// shared buffer's batches not yet read (which every output is to get) and
// those in the window it is not done with; Bytes likewise (the shared
// buffer's, less the window batches it is done with). Counters of drops,
// corruption and replays add the shared buffer's to its own.
func (f *Fanout) Stats(i int) buffer.Stats {
	s := f.opts.Own[i].Stats()
	if events, ok := f.srcs[i].heldBatch(); ok {
		// Taken by readOwn, not yet by the output: still to send.
		s.Batches++
		s.Events += int64(events)
		s.InFlight--
		s.InFlightEvents -= int64(events)
	}
	sh := f.shared.Stats()
	s.Batches += sh.Batches
	s.Events += sh.Events
	s.Bytes += sh.Bytes
	f.mu.Lock()
	for _, e := range f.window {
		switch e.state[i] {
		case statePending, stateSpilling:
			s.Batches++
			s.Events += int64(e.m.Events)
		case stateTaken:
			s.InFlight++
			s.InFlightEvents += int64(e.m.Events)
		case stateDone:
			s.Bytes -= buffer.FrameBytes(len(e.m.Payload)) // held for the others only
		}
	}
	f.mu.Unlock()
	s.DiskBytes += sh.DiskBytes
	s.DroppedOldestBatches += sh.DroppedOldestBatches
	s.DroppedOldestEvents += sh.DroppedOldestEvents
	s.DroppedNewestBatches += sh.DroppedNewestBatches
	s.DroppedNewestEvents += sh.DroppedNewestEvents
	s.CorruptBatches += sh.CorruptBatches
	s.LostEvents += sh.LostEvents
	s.BadSegments += sh.BadSegments
	s.BadBytes += sh.BadBytes
	s.TornWrites += sh.TornWrites
	s.ReplayedBatches += sh.ReplayedBatches
	s.ReplayedEvents += sh.ReplayedEvents
	s.SkippedDuplicates += sh.SkippedDuplicates
	s.DiskFullWaits += sh.DiskFullWaits
	return s
}

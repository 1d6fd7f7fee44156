package kafka

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// topicPartition names one partition.
type topicPartition struct {
	topic string
	part  int32
}

// partition is the commit state of one partition assigned to this member.
type partition struct {
	topicPartition
	source string  // "topic/partition", the batches' Source
	spans  []*span // emitted and not yet stored, with the stored ones behind the first, in offset order
	// mark is the offset to commit: every record below it is stored (or
	// skipped); -1 while nothing is. epoch is the leader epoch of the
	// record just below it.
	mark      int64
	epoch     int32
	committed int64 // the last mark committed to the group, -1 if none
	stuck     bool  // a batch could not be emitted: the mark stays before it
	released  bool  // revoked or lost: its state is no longer ours
}

// span is the records of one emitted batch: up to (not including) end.
type span struct {
	p       *partition
	end     int64
	epoch   int32
	stored  bool
	dropped bool // never emitted: it will never be stored
}

// tracker keeps the partitions' commit state. Commits arrive from the
// pipeline's goroutines, in any order; the poll loop opens spans, the
// committer and the rebalance callbacks read the marks.
type tracker struct {
	mu      sync.Mutex
	parts   map[topicPartition]*partition
	changed chan struct{} // closed (and replaced) whenever a span is stored or dropped
	wake    chan struct{} // cap 1: a mark moved, the committer has work
}

func newTracker() *tracker {
	return &tracker{parts: map[topicPartition]*partition{}, changed: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// open records a batch about to be emitted: the records of topic/part up
// to end (the last one's offset + 1) with that record's leader epoch. It
// returns the span and the partition's Source name.
func (t *tracker) open(topic string, part int32, end int64, epoch int32) (*span, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tp := topicPartition{topic, part}
	p := t.parts[tp]
	if p == nil {
		p = &partition{topicPartition: tp, source: topic + "/" + strconv.Itoa(int(part)), mark: -1, committed: -1}
		t.parts[tp] = p
	}
	s := &span{p: p, end: end, epoch: epoch}
	p.spans = append(p.spans, s)
	return s, p.source
}

// store marks s stored (its Commit ran) and moves its partition's mark
// over every stored span at the front. A second call does nothing.
func (t *tracker) store(s *span) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.stored || s.dropped {
		return
	}
	s.stored = true
	t.advance(s.p)
}

// drop marks s as never to be stored (its emit failed): the mark of its
// partition stops before it for good.
func (t *tracker) drop(s *span) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.stored || s.dropped {
		return
	}
	s.dropped = true
	s.p.stuck = true
	t.advance(s.p)
}

func (t *tracker) advance(p *partition) {
	moved := false
	for len(p.spans) > 0 && !p.stuck && p.spans[0].stored {
		p.mark, p.epoch = p.spans[0].end, p.spans[0].epoch
		p.spans[0] = nil
		p.spans = p.spans[1:]
		moved = true
	}
	close(t.changed)
	t.changed = make(chan struct{})
	if moved && !p.released {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// outstanding counts the spans of parts (every partition when parts is
// nil) still waiting to be stored, and returns the channel closed at the
// next change.
func (t *tracker) outstanding(parts []topicPartition) (int, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	count := func(p *partition) {
		for _, s := range p.spans {
			if !s.stored && !s.dropped {
				n++
			}
		}
	}
	if parts == nil {
		for _, p := range t.parts {
			count(p)
		}
	} else {
		for _, tp := range parts {
			if p := t.parts[tp]; p != nil {
				count(p)
			}
		}
	}
	return n, t.changed
}

// waitStored waits until every span of parts (nil: all) is stored or
// dropped, for at most timeout or until ctx is done; it returns the number
// still waiting.
func (t *tracker) waitStored(ctx context.Context, parts []topicPartition, timeout time.Duration) int {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		n, changed := t.outstanding(parts)
		if n == 0 {
			return 0
		}
		select {
		case <-changed:
		case <-timer.C:
			return n
		case <-ctx.Done():
			return n
		}
	}
}

// marks returns the offsets of parts (nil: every partition) whose mark is
// past what was committed, as CommitOffsetsSync takes them.
func (t *tracker) marks(parts []topicPartition) map[string]map[int32]kgo.EpochOffset {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]map[int32]kgo.EpochOffset{}
	add := func(p *partition) {
		if p.mark <= p.committed {
			return
		}
		if out[p.topic] == nil {
			out[p.topic] = map[int32]kgo.EpochOffset{}
		}
		out[p.topic][p.part] = kgo.EpochOffset{Epoch: p.epoch, Offset: p.mark}
	}
	if parts == nil {
		for _, p := range t.parts {
			add(p)
		}
	} else {
		for _, tp := range parts {
			if p := t.parts[tp]; p != nil {
				add(p)
			}
		}
	}
	return out
}

// committed records offsets as committed.
func (t *tracker) committed(offsets map[string]map[int32]kgo.EpochOffset) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for topic, ps := range offsets {
		for part, eo := range ps {
			if p := t.parts[topicPartition{topic, part}]; p != nil && eo.Offset > p.committed {
				p.committed = eo.Offset
			}
		}
	}
}

// release forgets parts: Commits of their spans that arrive later change
// nothing, and a later assignment of one starts afresh.
func (t *tracker) release(parts []topicPartition) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tp := range parts {
		if p := t.parts[tp]; p != nil {
			p.released = true
			delete(t.parts, tp)
		}
	}
}

// flatten turns a callback's topic → partitions map into a list.
func flatten(m map[string][]int32) []topicPartition {
	var out []topicPartition
	for topic, ps := range m {
		for _, p := range ps {
			out = append(out, topicPartition{topic, p})
		}
	}
	return out
}

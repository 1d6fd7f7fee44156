package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"pulse/idcount"
)

// topicReader reads topics from their start as a plain consumer (no group,
// nothing committed), a poll at a time, handing each record to fn: the
// demo's and the bench's independent look at what is in the broker.
type topicReader struct {
	cl      *kgo.Client
	fn      func(*kgo.Record)
	records int64
}

func newTopicReader(b *broker, fn func(*kgo.Record), topics ...string) (*topicReader, error) {
	cl, err := b.client(
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(100*time.Millisecond),
	)
	if err != nil {
		return nil, err
	}
	return &topicReader{cl: cl, fn: fn}, nil
}

// poll takes what the broker has for up to wait and hands it to fn.
func (r *topicReader) poll(ctx context.Context, wait time.Duration) {
	pctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	fetches := r.cl.PollFetches(pctx)
	fetches.EachRecord(func(rec *kgo.Record) {
		r.records++
		r.fn(rec)
	})
}

func (r *topicReader) close() { r.cl.Close() }

// readTopicIDs reads topic to its end offsets at the call and counts the
// ids of its records (one event each): the bench's check that every event
// of the file is in the topic.
func readTopicIDs(ctx context.Context, b *broker, topic string, events int, timeout time.Duration) (idcount.Report, error) {
	ids := idcount.New(events)
	want, err := endOffsets(ctx, b, topic)
	if err != nil {
		return idcount.Report{}, err
	}
	r, err := newTopicReader(b, func(rec *kgo.Record) { ids.AddLines(rec.Value) }, topic)
	if err != nil {
		return idcount.Report{}, err
	}
	defer r.close()
	deadline := time.Now().Add(timeout)
	for r.records < want {
		if time.Now().After(deadline) {
			return ids.Report(), fmt.Errorf("demo: kafka: read %d of %d records of %s in %v", r.records, want, topic, timeout)
		}
		if ctx.Err() != nil {
			return ids.Report(), ctx.Err()
		}
		r.poll(ctx, 500*time.Millisecond)
	}
	return ids.Report(), nil
}

// endOffsets is the sum of topic's high watermarks: the records in it.
func endOffsets(ctx context.Context, b *broker, topic string) (int64, error) {
	cl, err := b.client()
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("demo: kafka: end offsets of %s: %w", topic, err)
	}
	var sum int64
	ends.Each(func(o kadm.ListedOffset) { sum += o.Offset })
	return sum, nil
}

// snapLine is the part of a merger's snapshot JSON the checks read.
type snapLine struct {
	Name        string            `json:"name"`
	Kind        string            `json:"kind"`
	Dims        map[string]string `json:"dims"`
	WindowStart time.Time         `json:"window_start"`
	Count       uint64            `json:"count"`
	Final       bool              `json:"final"`
	Seq         uint64            `json:"seq"`
}

// key names the snapshot's metric key and window.
func (s snapLine) key() string {
	var b strings.Builder
	b.WriteString(s.Name)
	b.WriteByte('|')
	b.WriteString(s.Kind)
	for _, d := range slices.Sorted(maps.Keys(s.Dims)) {
		fmt.Fprintf(&b, "|%s=%s", d, s.Dims[d])
	}
	fmt.Fprintf(&b, "|%d", s.WindowStart.UnixNano())
	return b.String()
}

// snapSet keeps, of every key and window, the snapshot with the largest
// Seq (a final one on a tie): the latest view, as a consumer keeps it.
type snapSet struct {
	latest  map[string]snapLine
	records int
}

func newSnapSet() *snapSet { return &snapSet{latest: map[string]snapLine{}} }

// add parses one snapshot's JSON and keeps it if it is the latest.
func (s *snapSet) add(b []byte) error {
	var l snapLine
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("snapshot %q: %w", b, err)
	}
	s.records++
	k := l.key()
	if old, ok := s.latest[k]; ok && (old.Seq > l.Seq || old.Seq == l.Seq && old.Final) {
		return nil
	}
	s.latest[k] = l
	return nil
}

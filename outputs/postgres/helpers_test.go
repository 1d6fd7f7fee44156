package postgres

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"pulse/metrics"
	"pulse/outputs"
	"pulse/protocol"
	"pulse/testenv"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// memSource is a Source of batches given by the test, recording acks.
type memSource struct {
	ch    chan outputs.Batch
	mu    sync.Mutex
	next  uint64
	acked map[uint64]bool
}

func newMemSource() *memSource {
	return &memSource{ch: make(chan outputs.Batch, 1024), acked: map[uint64]bool{}}
}

// put queues a batch of snapshots in the lines encoding, returning its id.
func (m *memSource) put(snaps ...metrics.Snapshot) uint64 {
	var payload []byte
	for i := range snaps {
		payload = append(snaps[i].AppendJSON(payload), '\n')
	}
	return m.putPayload(payload, len(snaps))
}

// putPulse queues snapshots as a zstd-compressed pulse batch.
func (m *memSource) putPulse(snaps ...metrics.Snapshot) uint64 {
	var w protocol.Writer
	w.Reset(nil)
	for i := range snaps {
		w.Append(snaps[i].AppendJSON(nil))
	}
	return m.putPayload(protocol.Compress(nil, w.Bytes()), len(snaps))
}

func (m *memSource) putPayload(payload []byte, events int) uint64 {
	m.mu.Lock()
	m.next++
	id := m.next
	m.mu.Unlock()
	m.ch <- outputs.Batch{ID: id, Payload: payload, Events: events}
	return id
}

func (m *memSource) Next(ctx context.Context) (outputs.Batch, error) {
	select {
	case b := <-m.ch:
		return b, nil
	case <-ctx.Done():
		return outputs.Batch{}, ctx.Err()
	}
}

func (m *memSource) Ack(id uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.acked[id] {
		return fmt.Errorf("batch %d acked twice", id)
	}
	m.acked[id] = true
	return nil
}

func (m *memSource) isAcked(id uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.acked[id]
}

func (m *memSource) ackedCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.acked)
}

// running is an Output's Run on a goroutine, stopped at the test's end.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func run(t testing.TB, o *Output, src outputs.Source) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- o.Run(ctx, src) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t testing.TB) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("Run did not return 30s after its context ended")
	}
}

// newOutput returns an output over pgs with quick retries, o's other
// fields kept.
func newOutput(t testing.TB, o Options, pgs ...*testenv.Postgres) *Output {
	t.Helper()
	for _, pg := range pgs {
		o.Shards = append(o.Shards, pg.DSN())
	}
	if o.DeadLetterDir == "" {
		o.DeadLetterDir = t.TempDir()
	}
	if o.RetryMax == 0 {
		o.RetryInitial, o.RetryMax = 20*time.Millisecond, 300*time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	out, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// now is the tests' window time: recent, so that its day is never past
// retention.
var now = time.Now().UTC().Truncate(10 * time.Second)

// snap returns a measure snapshot of name with dims ("k", "v", ...) in the
// window starting at start, holding values, with seq.
func snap(name string, start time.Time, seq uint64, values []float64, dims ...string) metrics.Snapshot {
	m := metrics.NewMerger(metrics.MergeOptions{Logger: quietLogger()})
	agg := metrics.NewAggregator(metrics.AggOptions{Agent: "t", Window: 10 * time.Second, LateWindows: 1 << 20,
		Now: func() time.Time { return start }, Logger: quietLogger()})
	var ds []metrics.Dim
	for i := 0; i+1 < len(dims); i += 2 {
		ds = append(ds, metrics.Dim{Name: dims[i], Value: dims[i+1]})
	}
	metrics.SortDims(ds)
	for _, v := range values {
		agg.Observe(metrics.Key{Name: name, Kind: metrics.Measure, Unit: "ms", Dims: ds}, v, start, nil)
	}
	for _, f := range agg.FlushAll() {
		m.Add(f)
	}
	out := m.Snapshots(start, true)
	if len(out) != 1 {
		panic(fmt.Sprintf("%d snapshots", len(out)))
	}
	out[0].Seq = seq
	return out[0]
}
